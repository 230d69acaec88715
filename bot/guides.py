"""Guides: knowledge/guides/<id>.md on topics across careers (NSFAS, APS, bursaries, subjects...).

Same shape as a career profile: YAML front matter, an opening paragraph, then `## ` sections of
one-line bullets. Errors name the file and line, as for profiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.catalog import ID_PATTERN, TODO_PATTERN, Catalog, CatalogError
from bot.content import parse_yaml, validate

MIN_SECTIONS, MAX_SECTIONS = 2, 6


class GuideMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=ID_PATTERN.pattern)
    title: str = Field(min_length=3)
    aliases: list[str] = Field(min_length=1)
    examples: list[str] = Field(min_length=5)
    related_careers: list[str] = Field(default_factory=list)
    # Funding questions stay with the guide even when they name a career ("a bursary for
    # teachers"); other guides give way to the career's own answer.
    with_careers: bool = False
    last_verified: date
    sources: list[str] = Field(min_length=1)

    @field_validator("aliases")
    @classmethod
    def _lower(cls, aliases: list[str]) -> list[str]:
        return [alias.strip().lower() for alias in aliases if alias.strip()]


@dataclass(frozen=True)
class GuideSection:
    title: str
    bullets: tuple[str, ...]


@dataclass(frozen=True)
class Guide:
    id: str
    title: str
    aliases: tuple[str, ...]
    examples: tuple[str, ...]
    related_careers: tuple[str, ...]
    with_careers: bool
    last_verified: date
    sources: tuple[str, ...]
    intro: str
    sections: tuple[GuideSection, ...]
    path: Path


@dataclass(frozen=True)
class Guides:
    guides: dict[str, Guide]

    def __iter__(self) -> Iterator[Guide]:
        return iter(self.guides.values())

    def __len__(self) -> int:
        return len(self.guides)

    def __contains__(self, guide_id: object) -> bool:
        return guide_id in self.guides

    def get(self, guide_id: str) -> Guide:
        return self.guides[guide_id]


def load_guides(knowledge_dir: Path, catalog: Catalog | None = None) -> Guides:
    """Every guide under knowledge/guides (none is fine: the folder is optional)."""
    folder = knowledge_dir / "guides"
    guides: dict[str, Guide] = {}
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        guide = parse_guide(path)
        if catalog is not None:
            for career in guide.related_careers:
                if career not in catalog:
                    raise CatalogError(path, None, f"related_careers: unknown career '{career}'")
        guides[guide.id] = guide
    return Guides(guides)


def parse_guide(path: Path) -> Guide:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise CatalogError(path, None, f"not UTF-8 text ({error.reason})") from None
    if not lines or lines[0].strip() != "---":
        raise CatalogError(path, 1, "front matter must start with a '---' line")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise CatalogError(path, 1, "front matter is not closed with a '---' line")
    data, tree = parse_yaml(path, "\n".join(lines[1:end]), first_line=2)
    meta = validate(path, data, tree, GuideMeta, first_line=2)
    if meta.id != path.stem:
        raise CatalogError(path, 2, f"id '{meta.id}' does not match the file name")
    intro, sections = _parse_body(path, lines, end + 1)
    return Guide(
        id=meta.id,
        title=meta.title,
        aliases=tuple(meta.aliases),
        examples=tuple(meta.examples),
        related_careers=tuple(meta.related_careers),
        with_careers=meta.with_careers,
        last_verified=meta.last_verified,
        sources=tuple(meta.sources),
        intro=intro,
        sections=sections,
        path=path,
    )


def _parse_body(path: Path, lines: list[str], start: int) -> tuple[str, tuple[GuideSection, ...]]:
    intro: list[str] = []
    sections: list[tuple[str, int, list[str]]] = []
    for index in range(start, len(lines)):
        number, stripped = index + 1, lines[index].strip()
        if TODO_PATTERN.search(stripped):
            raise CatalogError(path, number, "still has a TODO; it must be filled in")
        if stripped.startswith("#"):
            if not stripped.startswith("## ") or not stripped[3:].strip():
                raise CatalogError(path, number, "headings must be '## Title'")
            sections.append((stripped[3:].strip(), number, []))
        elif not sections:
            if stripped:
                intro.append(stripped)
        elif stripped.startswith(("- ", "* ")):
            sections[-1][2].append(stripped[2:].strip())
        elif stripped:
            raise CatalogError(
                path, number, f"expected a bullet ('- ...') under '## {sections[-1][0]}'"
            )
    if not intro:
        raise CatalogError(
            path, start + 1, "the opening paragraph (before the first '##') is empty"
        )
    if not MIN_SECTIONS <= len(sections) <= MAX_SECTIONS:
        raise CatalogError(
            path, None, f"{len(sections)} sections; a guide has {MIN_SECTIONS}–{MAX_SECTIONS}"
        )
    for title, number, bullets in sections:
        if not bullets:
            raise CatalogError(path, number, f"section '{title}' is empty")
    return " ".join(intro), tuple(GuideSection(t, tuple(b)) for t, _, b in sections)
