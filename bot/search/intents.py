"""Example learner messages per intent (knowledge/intents.yaml), validated like the profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.catalog import SECTION_KINDS
from bot.content import load_yaml_model

SMALL_TALK_INTENTS = ("greeting", "thanks", "goodbye")
OTHER_INTENTS = ("follow_up", *SMALL_TALK_INTENTS, "off_topic")
INTENTS = (*SECTION_KINDS, *OTHER_INTENTS)


def _cleaned(examples: list[str]) -> list[str]:
    """Blank examples dropped, repeated ones kept once (in file order)."""
    return list(dict.fromkeys(example.strip() for example in examples if example.strip()))


Examples = Annotated[list[str], Field(min_length=1), AfterValidator(_cleaned)]


class IntentExamples(BaseModel):
    """Every intent in INTENTS with its example messages, and nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # What is asked about a career: one intent per section kind.
    overview: Examples
    tasks: Examples
    requirements: Examples
    employment: Examples
    getting_started: Examples
    study: Examples
    # Everything else.
    follow_up: Examples
    greeting: Examples
    thanks: Examples
    goodbye: Examples
    off_topic: Examples


def load_intents(path: Path) -> dict[str, tuple[str, ...]]:
    examples = load_yaml_model(path, IntentExamples).model_dump()
    return {name: tuple(examples[name]) for name in INTENTS}
