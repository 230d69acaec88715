"""Turn a career page in the source services' text format into a profile draft for staff.

The source pages have a title line, a one-line summary, a description, then sections headed
"Tasks:", "Personal Requirements", "Employment", "Getting Started" and "Programmes by Study
Institutions", with "•" bullets, and a copyright footer that is not content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
FOOTER_PATTERN = re.compile(r"career centre product|all rights reserved|©|disclaimer", re.I)
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
    for raw in lines[lines.index(content[0]) + 1 :]:
        line = raw.strip()
        if not line:
            continue
        heading = SOURCE_HEADINGS.get(line.rstrip(":").strip().lower())
        if heading:
            current = heading
            sections.setdefault(current, [])
            continue
        if FOOTER_PATTERN.search(line):
            if current is None:
                continue
            break
        if current is None:
            overview.append(line)
        elif BULLET_PATTERN.match(raw):
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
    alias = page.title.lower()
    out = [
        "---",
        f"id: {page.career_id}",
        f"title: {page.title}",
        f"field: {field_name or TODO_MARKER + ' (one of the catalogue fields)'}",
        f"aliases: [{alias}]  # {TODO_MARKER}: add the words learners use",
        f"riasec: []  # {TODO_MARKER}: 2-3 Holland codes, strongest first",
        f"related: []  # {TODO_MARKER}: ids of related careers",
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
