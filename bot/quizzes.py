"""The interest quiz content (knowledge/quizzes/interests.yaml), loaded and validated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.catalog import RIASEC_LETTERS, CatalogError

STATEMENTS_PER_TYPE = 5


@dataclass(frozen=True)
class AnswerOption:
    key: str
    label: str
    score: int


@dataclass(frozen=True)
class InterestType:
    letter: str
    name: str
    nickname: str
    sentence: str


@dataclass(frozen=True)
class Statement:
    id: str
    type: str
    text: str


@dataclass(frozen=True)
class InterestQuizContent:
    title: str
    intro: str
    answers: tuple[AnswerOption, ...]
    types: dict[str, InterestType]
    statements: tuple[Statement, ...]

    def answer(self, key: str) -> AnswerOption | None:
        return next((option for option in self.answers if option.key == key), None)

    @property
    def max_score(self) -> int:
        return max(option.score for option in self.answers)


def load_interest_quiz(path: Path) -> InterestQuizContent:
    def fail(problem: str, line: int | None = None) -> CatalogError:
        return CatalogError(path, line, problem)

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail("quiz file not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise fail(
            f"malformed YAML: {getattr(error, 'problem', '')}", mark.line + 1 if mark else None
        ) from None
    if not isinstance(data, dict):
        raise fail("expected title, intro, answers, types and statements")
    for key in ("title", "intro", "answers", "types", "statements"):
        if key not in data:
            raise fail(f"missing '{key}'")
    try:
        answers = tuple(
            AnswerOption(str(a["key"]), str(a["label"]), int(a["score"])) for a in data["answers"]
        )
        types = {
            letter: InterestType(letter, str(t["name"]), str(t["nickname"]), str(t["sentence"]))
            for letter, t in data["types"].items()
        }
        statements = tuple(
            Statement(str(s["id"]), str(s["type"]), str(s["text"]).strip())
            for s in data["statements"]
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise fail(f"malformed entry ({type(error).__name__}: {error})") from None
    if len(answers) < 2 or len({a.key for a in answers}) != len(answers):
        raise fail("'answers' needs at least two options with different keys")
    if set(types) != set(RIASEC_LETTERS):
        raise fail("'types' must have exactly R, I, A, S, E and C")
    ids = [s.id for s in statements]
    if len(set(ids)) != len(ids):
        raise fail("statement ids must be unique")
    for statement in statements:
        if statement.type not in types:
            raise fail(f"statement {statement.id}: unknown type '{statement.type}'")
        if not statement.text:
            raise fail(f"statement {statement.id}: empty text")
    for letter in RIASEC_LETTERS:
        count = sum(1 for s in statements if s.type == letter)
        if count != STATEMENTS_PER_TYPE:
            raise fail(f"type {letter} has {count} statements ({STATEMENTS_PER_TYPE} expected)")
    return InterestQuizContent(
        title=str(data["title"]),
        intro=str(data["intro"]).strip(),
        answers=answers,
        types=types,
        statements=statements,
    )
