"""What a button does: one frozen dataclass per action, `encode()` to callback data under
Telegram's 64 bytes, and one `decode()` that validates untrusted data (a forged or stale button
decodes to None). The dialogue dispatches on the type with `match`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.catalog import ID_PATTERN, SECTION_KINDS

SECTION_CODES = dict(zip(SECTION_KINDS, "otregs", strict=True))
CODE_SECTIONS = {code: kind for kind, code in SECTION_CODES.items()}
MAX_NUMBER = 2**31 - 1  # a number beyond this can't be a row id or a page
RUN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

Flow = Literal["quiz", "rdy"]
FlowVerb = Literal["start", "new", "last", "resume", "go", "a", "b", "x"]


@dataclass(frozen=True)
class ShowSection:
    career: str
    section: str

    def encode(self) -> str:
        return f"sec:{self.career}:{SECTION_CODES[self.section]}"


@dataclass(frozen=True)
class BrowseFields:
    page: int = 0

    def encode(self) -> str:
        return f"fls:{self.page}"


@dataclass(frozen=True)
class BrowseField:
    field: int
    page: int = 0

    def encode(self) -> str:
        return f"fld:{self.field}:{self.page}"


@dataclass(frozen=True)
class Rate:
    """👍/👎 on an answer."""

    question: int
    helpful: bool

    def encode(self) -> str:
        return f"fb:{self.question}:{int(self.helpful)}"


@dataclass(frozen=True)
class ShowGuide:
    guide: str

    def encode(self) -> str:
        return f"gd:{self.guide}"


@dataclass(frozen=True)
class AskPrompt:
    def encode(self) -> str:
        return "menu:ask"


@dataclass(frozen=True)
class MoreCareers:
    page: int

    def encode(self) -> str:
        return f"more:{self.page}"


@dataclass(frozen=True)
class Forget:
    choice: Literal["ask", "yes", "no"]

    def encode(self) -> str:
        return f"fgt:{self.choice}"


@dataclass(frozen=True)
class FlowStep:
    """A step in the quiz (`quiz`) or the readiness check (`rdy`).

    `start`, `new`, `last`, `resume`: open the flow; `go`: start a check for `career`;
    `a`: answer `choice` at `position` of run `run`; `b`: back from `position`; `x`: cancel.
    The run id travels in every answer, so an old or repeated press is recognised.
    """

    flow: Flow
    verb: FlowVerb
    run: str = ""
    position: int = -1
    choice: str = ""
    career: str = ""

    def encode(self) -> str:
        parts: list[str] = [self.flow, self.verb]
        if self.verb == "go":
            parts.append(self.career)
        elif self.verb in ("a", "b", "x") and self.run:
            parts.append(self.run)
            if self.verb in ("a", "b"):
                parts.append(str(self.position))
            if self.verb == "a":
                parts.append(self.choice)
        return ":".join(parts)


Action = (
    ShowSection
    | ShowGuide
    | BrowseFields
    | BrowseField
    | Rate
    | AskPrompt
    | MoreCareers
    | Forget
    | FlowStep
)


def decode(data: str) -> Action | None:
    """The action a button's data stands for, or None for anything malformed or forged."""
    verb, *args = data.split(":")
    try:
        match verb, args:
            case "sec", [career, code] if ID_PATTERN.match(career) and code in CODE_SECTIONS:
                return ShowSection(career, CODE_SECTIONS[code])
            case "gd", [guide] if ID_PATTERN.match(guide):
                return ShowGuide(guide)
            case "fls", [page]:
                return BrowseFields(_number(page))
            case "fld", [field, page]:
                return BrowseField(_number(field), _number(page))
            case "fb", [question, helpful] if helpful in ("0", "1"):
                return Rate(_number(question, minimum=1), helpful == "1")
            case "menu", ["ask"]:
                return AskPrompt()
            case "more", [page]:
                return MoreCareers(_number(page))
            case "fgt", [("ask" | "yes" | "no") as choice]:
                return Forget(choice)
            case ("quiz" | "rdy") as flow, [("start" | "new" | "last" | "resume") as step]:
                return FlowStep(flow, step)
            case "rdy", ["go", career] if ID_PATTERN.match(career):
                return FlowStep("rdy", "go", career=career)
            case ("quiz" | "rdy") as flow, ["x", *rest] if len(rest) <= 1:
                return FlowStep(flow, "x", run=_run(rest[0]) if rest else "")
            case ("quiz" | "rdy") as flow, ["b", run, position]:
                return FlowStep(flow, "b", run=_run(run), position=_number(position))
            case ("quiz" | "rdy") as flow, ["a", run, position, choice] if choice.isalnum():
                return FlowStep(flow, "a", _run(run), _number(position), choice=choice)
    except ValueError:
        return None
    return None


def _number(text: str, *, minimum: int = 0) -> int:
    if not text.isdigit() or not minimum <= int(text) <= MAX_NUMBER:
        raise ValueError(text)
    return int(text)


def _run(text: str) -> str:
    if not RUN.match(text):
        raise ValueError(text)
    return text
