"""Safeguarding content (knowledge/support.yaml) and how learners write (knowledge/language.yaml).

Help lines, reply texts and recognition examples are content staff edit and re-verify; the code
only checks that every reference resolves and that nothing is left unverified for too long.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.content import load_yaml_model

Level = Literal["crisis", "stress"]
LEVELS: tuple[Level, ...] = ("crisis", "stress")
REVERIFY_AFTER = timedelta(days=183)  # help lines change: check them twice a year
PHONE = re.compile(r"^[0-9][0-9 ]{1,15}[0-9]$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Helpline(_Strict):
    name: str = Field(min_length=3)
    number: str = Field(pattern=PHONE.pattern)
    sms: str | None = Field(default=None, pattern=PHONE.pattern)
    purpose: str = Field(alias="for", min_length=5)
    hours: str = Field(min_length=2)
    cost: str = Field(min_length=2)
    source: str = Field(min_length=5)
    last_verified: date

    def line(self) -> str:
        sms = f", SMS {self.sms}" if self.sms else ""
        return f"{self.name}: {self.number}{sms} ({self.hours}, {self.cost}) – {self.purpose}"


class LevelTexts(_Strict):
    opening: str = Field(min_length=10)
    talk_to: str = Field(min_length=10)
    closing: str = Field(min_length=10)
    aside: str | None = Field(default=None, min_length=10)
    aside_helpline: str | None = None


class Topic(_Strict):
    level: Level
    line: str = Field(min_length=10)
    not_your_fault: bool
    helplines: list[str] = Field(min_length=1)
    examples: list[str] = Field(min_length=5)

    @field_validator("examples")
    @classmethod
    def _no_blank_or_repeated(cls, examples: list[str]) -> list[str]:
        cleaned = [example.strip() for example in examples]
        if any(not example for example in cleaned):
            raise ValueError("an example is empty")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("an example is listed twice")
        return cleaned


class SupportContent(_Strict):
    last_verified: date
    helplines: dict[str, Helpline] = Field(min_length=1)
    levels: dict[Level, LevelTexts]
    topics: dict[str, Topic] = Field(min_length=1)
    false_alarms: list[str] = Field(min_length=5)

    @model_validator(mode="after")
    def _references_resolve(self) -> SupportContent:
        missing_levels = [level for level in LEVELS if level not in self.levels]
        if missing_levels:
            raise ValueError(f"levels: '{missing_levels[0]}' is missing")
        for name, topic in self.topics.items():
            for helpline in topic.helplines:
                if helpline not in self.helplines:
                    raise ValueError(f"topics.{name}: unknown helpline '{helpline}'")
        for level, texts in self.levels.items():
            if texts.aside is None and texts.aside_helpline is not None:
                raise ValueError(f"levels.{level}: aside_helpline without an aside")
            if texts.aside_helpline is not None and texts.aside_helpline not in self.helplines:
                raise ValueError(f"levels.{level}: unknown helpline '{texts.aside_helpline}'")
        if not any(topic.level == "crisis" for topic in self.topics.values()):
            raise ValueError("topics: at least one topic must be a crisis")
        seen: dict[str, str] = {}
        for name, topic in self.topics.items():
            for example in topic.examples:
                if example in seen and seen[example] != name:
                    raise ValueError(f"topics.{name}: '{example}' is also in {seen[example]}")
                seen[example] = name
        clash = sorted(set(seen) & set(self.false_alarms))
        if clash:
            raise ValueError(f"false_alarms: '{clash[0]}' is also a distress example")
        return self

    def aside(self, topic: str) -> str | None:
        """The short care note put above an answer, for a learner who also asked something."""
        texts = self.levels[self.topics[topic].level]
        if texts.aside is None:
            return None
        key = texts.aside_helpline or self.topics[topic].helplines[0]
        helpline = self.helplines[key]
        when = f"{helpline.hours}, {helpline.cost}"
        return f"{texts.aside} {helpline.name}, {helpline.number} ({when})."

    def stale(self, today: date) -> list[str]:
        """Help lines (and the file) not re-verified within REVERIFY_AFTER."""
        problems = []
        if today - self.last_verified > REVERIFY_AFTER:
            problems.append(f"last_verified {self.last_verified} is over six months old")
        for key, helpline in self.helplines.items():
            if today - helpline.last_verified > REVERIFY_AFTER:
                problems.append(f"helplines.{key}: last verified {helpline.last_verified}")
        return problems


def load_support(path: Path) -> SupportContent:
    return load_yaml_model(path, SupportContent)


class Language(_Strict):
    shorthand: dict[str, str] = Field(min_length=1)
    flow_answers: dict[Literal["yes", "unsure", "no", "back", "stop"], list[str]] = Field(
        default_factory=dict
    )
    other_languages: dict[str, list[str]] = Field(default_factory=dict)
    misspellings: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def career_words(self) -> dict[str, list[str]]:
        """Every extra word for a career: other languages first, then misspellings."""
        merged: dict[str, list[str]] = {}
        for table in (self.other_languages, self.misspellings):
            for career, words in table.items():
                merged.setdefault(career, []).extend(words)
        return merged

    @field_validator("other_languages", "misspellings")
    @classmethod
    def _lower_names(cls, careers: dict[str, list[str]]) -> dict[str, list[str]]:
        return {
            c: [str(w).strip().lower() for w in words if str(w).strip()]
            for c, words in careers.items()
        }

    @field_validator("shorthand")
    @classmethod
    def _single_lower_words(cls, shorthand: dict[str, str]) -> dict[str, str]:
        for key, value in shorthand.items():
            if not re.fullmatch(r"[a-z0-9]+", str(key)):
                raise ValueError(f"'{key}' must be one lower-case word")
            if not str(value).strip():
                raise ValueError(f"'{key}' has no meaning")
        return {str(key): str(value).strip().lower() for key, value in shorthand.items()}

    def flow_answer(self, text: str) -> str | None:
        """ "ya", "nope", "not sure", "stop": the button a typed message means, if any."""
        said = " ".join(re.findall(r"[a-z0-9]+", self.expand(text.lower())))
        for meaning, phrases in self.flow_answers.items():
            if said in {" ".join(re.findall(r"[a-z0-9]+", self.expand(p))) for p in phrases}:
                return meaning
        return None

    def expand(self, text: str) -> str:
        """`i wanna kms 2nite` -> `i want to kill myself tonight` (text already normalised);
        "ca's" -> "ca": an apostrophe-s after a short word is a plural of an abbreviation."""
        text = re.sub(r"\b([a-z]{1,4})'s\b", r"\1", text)
        return re.sub(
            r"(?<!')\b[a-z0-9]+\b(?![+#])",  # "c++" and "c#" stay languages; "'n" stays
            lambda match: self.shorthand.get(match.group(0), match.group(0)),
            text,
        )


def load_language(path: Path) -> Language:
    return load_yaml_model(path, Language)
