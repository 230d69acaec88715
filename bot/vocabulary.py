"""knowledge/vocabulary.yaml: the facet values profiles may use, and the words learners use for
them. Loaded once; the catalogue validates profiles against it and discovery reads questions
with it."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.content import load_yaml_model

Words = list[str]


class Vocabulary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subjects: dict[str, Words] = Field(min_length=1)
    maths_literacy: Words = Field(min_length=1)
    route_levels: dict[str, Words] = Field(min_length=1)
    places: dict[str, Words] = Field(min_length=1)
    work: dict[str, Words] = Field(min_length=1)
    fields: dict[str, Words] = Field(min_length=1)
    list_cues: Words = Field(min_length=1)
    compare_cues: Words = Field(min_length=1)
    negations: Words = Field(min_length=1)
    money_cues: Words = Field(min_length=1)

    @field_validator("maths_literacy", "list_cues", "compare_cues", "negations", "money_cues")
    @classmethod
    def _lower_words(cls, words: Words) -> Words:
        return _clean(words)

    @field_validator("subjects", "route_levels", "places", "work", "fields")
    @classmethod
    def _lower_word_lists(cls, table: dict[str, Words]) -> dict[str, Words]:
        return {key: _clean(words) for key, words in table.items()}


def _clean(words: Words) -> Words:
    cleaned = [str(word).strip().lower() for word in words]
    if any(not word for word in cleaned):
        raise ValueError("a word is empty")
    return list(dict.fromkeys(cleaned))


def vocabulary_path(directory: Path) -> Path:
    """knowledge/vocabulary.yaml, from the knowledge folder or its careers/ folder."""
    here = directory / "vocabulary.yaml"
    return here if here.exists() or directory.name != "careers" else directory.parent / here.name


def load_vocabulary(path: Path) -> Vocabulary:
    return load_yaml_model(path, Vocabulary)


class Uncovered(BaseModel):
    """knowledge/uncovered.yaml: careers without a profile yet, with the nearest we have."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    careers: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("careers")
    @classmethod
    def _lower_names(cls, careers: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned = {str(name).strip().lower(): list(near) for name, near in careers.items()}
        for name, near in cleaned.items():
            if not name or not near:
                raise ValueError(f"'{name}' needs a list of the nearest career ids")
        return cleaned


def load_uncovered(path: Path) -> Uncovered:
    return load_yaml_model(path, Uncovered) if path.exists() else Uncovered()


class StaleTerm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=2)
    why: str = Field(min_length=5)
    unless: list[str] = Field(default_factory=list)

    def found_in(self, text: str) -> bool:
        return any(
            self.term.lower() in line.lower()
            and not any(word.lower() in line.lower() for word in self.unless)
            for line in text.splitlines()
        )


class Review(BaseModel):
    """knowledge/review.yaml: what `check` flags for the counsellor's review cycle."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stale_terms: list[StaleTerm] = Field(default_factory=list)
    reverify_after_days: int = Field(default=365, ge=30)
    max_overview_grade: float = Field(default=10, ge=4)


def load_review(path: Path) -> Review:
    return load_yaml_model(path, Review) if path.exists() else Review()


class Glossary(BaseModel):
    """knowledge/glossary.yaml: abbreviations and what they stand for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abbreviations: dict[str, str] = Field(default_factory=dict)

    def unexplained(self, text: str) -> list[str]:
        """Abbreviations used in `text` whose meaning the text does not give in brackets."""
        found = []
        for short, meaning in self.abbreviations.items():
            if short not in text:  # the cheap test first: most replies use none of them
                continue
            used = re.search(rf"(?<![A-Za-z]){re.escape(short)}(?![A-Za-z])", text)
            spelled = f"({short})" in text or meaning.split(",")[0] in text
            if used and not spelled:
                found.append(short)
        return found


def load_glossary(path: Path) -> Glossary:
    return load_yaml_model(path, Glossary) if path.exists() else Glossary()
