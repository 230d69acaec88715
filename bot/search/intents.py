"""Example learner messages per intent (knowledge/intents.yaml), validated like the profiles."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.catalog import SECTION_KINDS, CatalogError

SMALL_TALK_INTENTS = ("greeting", "thanks", "goodbye")
OTHER_INTENTS = ("follow_up", *SMALL_TALK_INTENTS, "off_topic")
INTENTS = (*SECTION_KINDS, *OTHER_INTENTS)


def load_intents(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(path, None, "intent examples file not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise CatalogError(
            path,
            mark.line + 1 if mark else None,
            f"malformed YAML: {getattr(error, 'problem', '')}",
        ) from None
    if not isinstance(data, dict):
        raise CatalogError(path, 1, "expected 'intent: [examples]' entries")
    intents: dict[str, tuple[str, ...]] = {}
    for name in INTENTS:
        examples = data.get(name)
        if not isinstance(examples, list) or not examples:
            raise CatalogError(path, None, f"'{name}' needs a list of example messages")
        cleaned = [str(example).strip() for example in examples if str(example).strip()]
        intents[name] = tuple(dict.fromkeys(cleaned))
    unknown = set(data) - set(INTENTS)
    if unknown:
        raise CatalogError(path, None, f"unknown intent(s): {', '.join(sorted(unknown))}")
    return intents
