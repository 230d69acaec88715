"""The interest quiz content (knowledge/quizzes/interests.yaml), loaded and validated."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.catalog import RIASEC_LETTERS
from bot.content import load_yaml_model

STATEMENTS_PER_TYPE = 5


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AnswerOption(_Content):
    key: str = Field(min_length=1)
    label: str = Field(min_length=1)
    score: int


class InterestType(_Content):
    name: str = Field(min_length=1)
    nickname: str = Field(min_length=1)
    sentence: str = Field(min_length=1)


class Statement(_Content):
    id: str = Field(min_length=1)
    type: str
    text: str = Field(min_length=1)

    @field_validator("type")
    @classmethod
    def _known_type(cls, letter: str) -> str:
        if letter not in RIASEC_LETTERS:
            raise ValueError(f"unknown type '{letter}'")
        return letter


class InterestQuizContent(_Content):
    title: str = Field(min_length=1)
    intro: str = Field(min_length=1)
    answers: tuple[AnswerOption, ...]
    types: dict[str, InterestType]
    statements: tuple[Statement, ...]

    @field_validator("answers")
    @classmethod
    def _distinct_options(cls, answers: tuple[AnswerOption, ...]) -> tuple[AnswerOption, ...]:
        if len(answers) < 2 or len({a.key for a in answers}) != len(answers):
            raise ValueError("needs at least two options with different keys")
        return answers

    @field_validator("types")
    @classmethod
    def _every_type(cls, types: dict[str, InterestType]) -> dict[str, InterestType]:
        if set(types) != set(RIASEC_LETTERS):
            raise ValueError("must have exactly R, I, A, S, E and C")
        return types

    @field_validator("statements")
    @classmethod
    def _balanced(cls, statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
        """Unique ids and the same number of statements per type, so no type is favoured."""
        ids = [s.id for s in statements]
        if len(set(ids)) != len(ids):
            raise ValueError("statement ids must be unique")
        counts = Counter(s.type for s in statements)
        for letter in RIASEC_LETTERS:
            if counts[letter] != STATEMENTS_PER_TYPE:
                raise ValueError(
                    f"type {letter} has {counts[letter]} statements "
                    f"({STATEMENTS_PER_TYPE} expected)"
                )
        return statements

    def answer(self, key: str) -> AnswerOption | None:
        return next((option for option in self.answers if option.key == key), None)

    @property
    def max_score(self) -> int:
        return max(option.score for option in self.answers)


def load_interest_quiz(path: Path) -> InterestQuizContent:
    return load_yaml_model(path, InterestQuizContent)
