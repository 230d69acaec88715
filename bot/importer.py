"""Turn a career page in the source services' text format into a profile draft for staff.

The source pages have a title line, a one-line summary, a description, then sections headed
"Tasks:", "Personal Requirements", "Employment", "Getting Started" and "Programmes by Study
Institutions", with "•" bullets, and a copyright footer that is not content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.catalog import LIST_SECTION_HEADINGS, TODO_MARKER

SOURCE_HEADINGS = {
    "tasks": "Tasks",
    "duties": "Tasks",
    "personal requirements": "Personal Requirements",
    "requirements": "Personal Requirements",
    "employment": "Employment",
    "employers": "Employment",
    "getting started": "Getting Started",
    "programmes by study institutions": "Study Programmes",
    "study programmes": "Study Programmes",
}
# Strict on purpose: a bullet may well mention a disclaimer or a "career centre product".
FOOTER_PATTERN = re.compile(r"©|all rights reserved|^a pace career centre product", re.I)
BULLET_PATTERN = re.compile(r"^\s*(?:[•·▪●\-*]|\d+[.)])\s+")


class PageError(Exception):
    """The page can't be turned into a profile; the message says why."""


@dataclass
class ImportedPage:
    title: str
    career_id: str
    overview: list[str]
    sections: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty_sections(self) -> list[str]:
        return [heading for heading in LIST_SECTION_HEADINGS if not self.sections.get(heading)]

    def counts(self) -> dict[str, int]:
        return {heading: len(self.sections.get(heading, [])) for heading in LIST_SECTION_HEADINGS}


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def parse_page(text: str) -> ImportedPage:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    content = [line for line in lines if line.strip()]
    if not content:
        raise PageError("the page is empty")
    title = content[0].strip()
    overview: list[str] = []
    sections: dict[str, list[str]] = {}
    current: str | None = None
    new_paragraph = True  # blank lines separate overview paragraphs; other lines wrap
    for raw in lines[lines.index(content[0]) + 1 :]:
        line = raw.strip()
        if not line:
            new_paragraph = True
            continue
        heading = SOURCE_HEADINGS.get(line.rstrip(":").strip().lower())
        is_bullet = BULLET_PATTERN.match(raw) is not None
        if heading:
            current = heading
            sections.setdefault(current, [])
        elif not is_bullet and FOOTER_PATTERN.search(line):
            if current is not None:
                break
        elif current is None:
            if new_paragraph:
                overview.append(line)
            else:
                overview[-1] = _tidy(f"{overview[-1]} {line}")
            new_paragraph = False
        elif is_bullet:
            sections[current].append(_tidy(BULLET_PATTERN.sub("", raw)))
        elif sections[current]:
            sections[current][-1] = _tidy(f"{sections[current][-1]} {line}")
        else:
            sections[current].append(_tidy(line))
    if not sections:
        raise PageError(
            "no sections found (expected headings such as 'Tasks:', 'Personal Requirements', "
            "'Employment', 'Getting Started')"
        )
    if not slugify(title):
        raise PageError("the first line should be the career's title")
    return ImportedPage(
        title=title, career_id=slugify(title), overview=overview, sections=sections
    )


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render_profile(page: ImportedPage, field_name: str | None = None) -> str:
    """A profile in our format; what the page lacks is marked TODO for staff."""
    field_value = field_name or f"{TODO_MARKER} (one of the catalogue fields)"
    out = [
        "---",
        _yaml_line("id", page.career_id),
        _yaml_line("title", page.title),
        _yaml_line("field", field_value),
        _yaml_line("aliases", [page.title.lower()], f"{TODO_MARKER}: add the words learners use"),
        _yaml_line("riasec", [], f"{TODO_MARKER}: 2-3 Holland codes, strongest first"),
        _yaml_line("related", [], f"{TODO_MARKER}: ids of related careers"),
        "---",
    ]
    for paragraph in page.overview or [f"{TODO_MARKER}: write the overview."]:
        out += [paragraph, ""]
    for heading in LIST_SECTION_HEADINGS:
        out.append(f"## {heading}")
        bullets = page.sections.get(heading) or [f"{TODO_MARKER}: this section was empty."]
        out += [f"- {bullet}" for bullet in bullets]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _yaml_line(key: str, value: str | list[str], comment: str | None = None) -> str:
    """One `key: value` line quoted by YAML itself, so titles with ': ', ',' or quotes survive."""
    options: dict[str, Any] = {"allow_unicode": True, "width": 1_000_000}
    if isinstance(value, list):
        line = f"{key}: {yaml.safe_dump(value, default_flow_style=True, **options).strip()}"
    else:
        line = yaml.safe_dump({key: value}, default_flow_style=False, **options).rstrip("\n")
    return f"{line}  # {comment}" if comment else line
