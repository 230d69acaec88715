"""Callback data for buttons: short, parseable, and under Telegram's 64-byte limit."""

from __future__ import annotations

from bot.catalog import SECTION_KINDS

SECTION_CODES = dict(zip(SECTION_KINDS, "otregs", strict=True))
CODE_SECTIONS = {code: kind for kind, code in SECTION_CODES.items()}


def show_section(career: str, section: str) -> str:
    return f"sec:{career}:{SECTION_CODES[section]}"


def browse_fields(page: int = 0) -> str:
    return f"fls:{page}"


def browse_field(field_number: int, page: int = 0) -> str:
    return f"fld:{field_number}:{page}"


def feedback(question_id: int, helpful: bool) -> str:
    return f"fb:{question_id}:{int(helpful)}"


def parse(data: str) -> tuple[str, list[str]]:
    verb, _, rest = data.partition(":")
    return verb, rest.split(":") if rest else []


def more_careers(page: int) -> str:
    return f"more:{page}"
