"""Career profiles: load knowledge/careers/*.md into typed objects and validate them.

A broken file stops loading with one message naming the file and line, because staff edit these
files by hand and need to know exactly what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.content import CatalogError as CatalogError  # re-exported: staff-facing errors
from bot.vocabulary import Review, Vocabulary, load_vocabulary, vocabulary_path

SECTION_KINDS = ("overview", "tasks", "requirements", "employment", "getting_started", "study")
LIST_SECTION_HEADINGS = {
    "Tasks": "tasks",
    "Personal Requirements": "requirements",
    "Employment": "employment",
    "Getting Started": "getting_started",
    "Study Programmes": "study",
}
SECTION_TITLES = {"overview": "Overview"} | {
    kind: heading for heading, kind in LIST_SECTION_HEADINGS.items()
}
SECTION_SHORT_LABELS = {
    "overview": "Overview",
    "tasks": "Tasks",
    "requirements": "Requirements",
    "employment": "Employment",
    "getting_started": "Getting started",
    "study": "Study",
}
RIASEC_LETTERS = "RIASEC"
TODO_MARKER = "TODO"
TODO_PATTERN = re.compile(rf"\b{TODO_MARKER}\b")
_TODO_PROBLEM = "still has a TODO; it must be filled in"  # drafts from scripts/import_page.py
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED_KEYS = ("id", "title", "field", "aliases", "riasec", "related")


@dataclass(frozen=True)
class Section:
    kind: str
    title: str
    bullets: tuple[str, ...] = ()
    paragraphs: tuple[str, ...] = ()

    @property
    def items(self) -> tuple[str, ...]:
        """What the section says, one entry per bullet or paragraph."""
        return self.bullets or self.paragraphs

    @property
    def text(self) -> str:
        return "\n".join(self.items)


@dataclass(frozen=True)
class Route:
    """One way into a career: `level` (degree, diploma, higher_certificate, occupational,
    on_the_job), its minimum length in years, and where it is studied or trained."""

    level: str
    years: float
    at: tuple[str, ...]

    def describe(self) -> str:
        """`years` counts study plus any compulsory internship or community service."""
        years = f"{self.years:g} year" + ("" if self.years == 1 else "s")
        places = " or ".join(PLACE_LABELS.get(place, place) for place in self.at)
        return f"{LEVEL_LABELS.get(self.level, self.level)} at {places}: about {years} to qualify"

    def short(self) -> str:
        """For a list's one-line reason: "apprenticeship or learnership (TVET college,
        employer), about 3 years"."""
        places = ", ".join(SHORT_PLACES.get(place, place) for place in self.at)
        return f"{SHORT_LEVELS.get(self.level, self.level)} ({places}), about {self.years:g} years"


@dataclass(frozen=True)
class Facets:
    """Facts across careers that discovery filters on and comparisons put side by side."""

    required: tuple[str, ...]
    recommended: tuple[str, ...]
    maths_literacy: bool
    routes: tuple[Route, ...]
    work: tuple[str, ...]

    @property
    def needs_university(self) -> bool:
        return all(route.at == ("university",) for route in self.routes)

    @property
    def shortest(self) -> Route:
        return min(self.routes, key=lambda route: route.years)


LEVEL_LABELS = {
    "degree": "Degree",
    "diploma": "Diploma",
    "higher_certificate": "Higher Certificate",
    "ncv": "National Certificate (Vocational) (NC(V))",
    "occupational": "Occupational certificate, apprenticeship or learnership",
    "on_the_job": "Training on the job",
}
SHORT_LEVELS = {
    "degree": "degree",
    "diploma": "diploma",
    "higher_certificate": "higher certificate",
    "ncv": "NC(V)",
    "occupational": "apprenticeship or learnership",
    "on_the_job": "training on the job",
}
SHORT_PLACES = {
    "university": "university",
    "tvet_college": "TVET college",
    "private_college": "private college",
    "public_college": "public college",
    "employer": "employer",
    "online": "online",
}
PLACE_LABELS = {
    "university": "a university",
    "tvet_college": "a TVET (Technical and Vocational Education and Training) college",
    "private_college": "a private college",
    "public_college": "a public college",
    "employer": "an employer",
    "online": "online",
}


@dataclass(frozen=True)
class Career:
    id: str
    title: str
    field: str
    aliases: tuple[str, ...]
    riasec: tuple[str, ...]
    related: tuple[str, ...]
    sections: dict[str, Section]
    path: Path
    facets: Facets | None = None
    last_verified: date | None = None
    sources: tuple[str, ...] = ()

    def section(self, kind: str) -> Section:
        return self.sections[kind]

    @property
    def overview(self) -> str:
        return self.sections["overview"].text

    @property
    def word_count(self) -> int:
        return sum(len(section.text.split()) for section in self.sections.values())


@dataclass(frozen=True)
class Catalog:
    careers: dict[str, Career]
    directory: Path
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Career]:
        return iter(self.careers.values())

    def __len__(self) -> int:
        return len(self.careers)

    def __contains__(self, career_id: object) -> bool:
        return career_id in self.careers

    def get(self, career_id: str) -> Career:
        return self.careers[career_id]

    def in_field(self, field_name: str) -> list[Career]:
        return [self.careers[career_id] for career_id in self.fields.get(field_name, ())]


def load_catalog(directory: Path) -> Catalog:
    """Load every `*.md` profile under `directory/careers` (or `directory` itself)."""
    careers_dir = directory / "careers" if (directory / "careers").is_dir() else directory
    if not careers_dir.is_dir():
        raise CatalogError(careers_dir, None, "folder of career profiles not found")
    paths = sorted(careers_dir.glob("*.md"))
    if not paths:
        raise CatalogError(careers_dir, None, "no career profiles (*.md) found")
    vocabulary_file = vocabulary_path(directory)
    vocabulary = load_vocabulary(vocabulary_file) if vocabulary_file.exists() else None
    careers: dict[str, Career] = {}
    for path in paths:
        career = parse_profile(path, vocabulary)
        careers[career.id] = career  # unique: parse_profile requires id == the file's name
    for career in careers.values():
        for related_id in career.related:
            if related_id not in careers:
                line = _line_of(career.path, "related:")
                raise CatalogError(career.path, line, f"related: unknown career id '{related_id}'")
    fields: dict[str, list[str]] = {}
    for career in sorted(careers.values(), key=lambda c: c.title):
        fields.setdefault(career.field, []).append(career.id)
    return Catalog(
        careers=careers,
        directory=careers_dir,
        fields={name: tuple(ids) for name, ids in sorted(fields.items())},
    )


def parse_profile(path: Path, vocabulary: Vocabulary | None = None) -> Career:
    try:
        text = _read(path)
    except UnicodeDecodeError as error:
        raise CatalogError(path, None, f"not UTF-8 text ({error.reason})") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CatalogError(path, 1, "front matter must start with a '---' line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise CatalogError(path, 1, "front matter is not closed with a '---' line") from None
    meta = _parse_front_matter(path, "\n".join(lines[1:end]))
    career_id = _text_field(path, meta, "id", lines)
    if not ID_PATTERN.match(career_id):
        raise CatalogError(path, _find(lines, "id:"), f"id '{career_id}' must be kebab-case")
    if career_id != path.stem:
        raise CatalogError(
            path, _find(lines, "id:"), f"id '{career_id}' does not match the file name"
        )
    riasec = _list_field(path, meta, "riasec", lines)
    for letter in riasec:
        if letter not in RIASEC_LETTERS or len(letter) != 1:
            raise CatalogError(
                path, _find(lines, "riasec:"), f"riasec: '{letter}' is not one of R I A S E C"
            )
    if len(set(riasec)) != len(riasec):
        raise CatalogError(path, _find(lines, "riasec:"), "riasec: a letter is repeated")
    related = _list_field(path, meta, "related", lines)
    if career_id in related:
        raise CatalogError(path, _find(lines, "related:"), "related: a career can't list itself")
    title = _text_field(path, meta, "title", lines)
    field_name = _text_field(path, meta, "field", lines)
    aliases = _list_field(path, meta, "aliases", lines)
    for key, values in (("title", [title]), ("field", [field_name]), ("aliases", aliases)):
        if any(TODO_PATTERN.search(value) for value in values):
            raise CatalogError(path, _find(lines, f"{key}:"), f"{key} {_TODO_PROBLEM}")
    sections = _parse_body(path, lines, body_start=end + 1)
    facets = _parse_facets(path, meta, lines, vocabulary) if "routes" in meta else None
    verified = meta.get("last_verified")
    if verified is not None and not isinstance(verified, date):
        raise CatalogError(path, _find(lines, "last_verified:"), "last_verified: expected a date")
    sources = meta.get("sources") or []
    if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
        raise CatalogError(path, _find(lines, "sources:"), "sources: expected a [list] of text")
    return Career(
        id=career_id,
        title=title,
        field=field_name,
        aliases=tuple(alias.lower() for alias in aliases),
        riasec=tuple(riasec),
        related=tuple(related),
        sections=sections,
        path=path,
        facets=facets,
        last_verified=verified,
        sources=tuple(sources),
    )


def _parse_facets(
    path: Path, meta: dict[str, Any], lines: list[str], vocabulary: Vocabulary | None
) -> Facets:
    """subjects / routes / work, with every value checked against knowledge/vocabulary.yaml."""

    def fail(key: str, problem: str) -> CatalogError:
        return CatalogError(path, _find(lines, f"{key}:"), f"{key}: {problem}")

    def known(key: str, values: list[Any], allowed: dict[str, Any] | None) -> tuple[str, ...]:
        if not all(isinstance(value, str) for value in values):
            raise fail(key, "every entry must be text")
        if allowed is not None:
            for value in values:
                if value not in allowed:
                    raise fail(key, f"'{value}' is not in vocabulary.yaml ({', '.join(allowed)})")
        return tuple(values)

    subjects = meta.get("subjects")
    if not isinstance(subjects, dict) or not isinstance(subjects.get("required"), list):
        raise fail("subjects", "expected required: [...], recommended: [...], maths_literacy")
    allowed_subjects = vocabulary.subjects if vocabulary else None
    required = known("required", subjects["required"], allowed_subjects)
    recommended = known("recommended", subjects.get("recommended") or [], allowed_subjects)
    if set(required) & set(recommended):
        raise fail("recommended", "a subject can't be both required and recommended")
    maths_literacy = subjects.get("maths_literacy")
    if not isinstance(maths_literacy, bool):
        raise fail("maths_literacy", "expected true or false")
    raw_routes = meta.get("routes")
    if not isinstance(raw_routes, list) or not raw_routes:
        raise fail("routes", "expected a list of {level, years, at}")
    routes = []
    for raw in raw_routes:
        if not isinstance(raw, dict) or set(raw) != {"level", "years", "at"}:
            raise fail("routes", "each route needs exactly level, years and at")
        level = known("routes", [raw["level"]], vocabulary.route_levels if vocabulary else None)
        years = raw["years"]
        if isinstance(years, bool) or not isinstance(years, int | float) or not 0 < years <= 12:
            raise fail("routes", f"years must be a number from 0.5 to 12, not {years!r}")
        at = raw["at"] if isinstance(raw["at"], list) and raw["at"] else None
        if at is None:
            raise fail("routes", "at: expected a non-empty [list] of places")
        places = known("routes", at, vocabulary.places if vocabulary else None)
        routes.append(Route(level[0], float(years), places))
    work = meta.get("work")
    if not isinstance(work, list) or not work:
        raise fail("work", "expected a non-empty [list]")
    tags = known("work", work, vocabulary.work if vocabulary else None)
    return Facets(required, recommended, maths_literacy, tuple(routes), tags)


def _read(path: Path) -> str:
    """Text of a profile; utf-8-sig drops the BOM that Windows Notepad puts first."""
    return path.read_text(encoding="utf-8-sig")


def _parse_front_matter(path: Path, source: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise CatalogError(path, line, f"malformed front matter: {problem}") from None
    if not isinstance(meta, dict):
        raise CatalogError(path, 2, "malformed front matter: expected 'key: value' lines")
    for key in REQUIRED_KEYS:
        if key not in meta:
            raise CatalogError(path, 2, f"front matter is missing '{key}'")
    return meta


def _text_field(path: Path, meta: dict[str, Any], key: str, lines: list[str]) -> str:
    value = meta[key]
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(path, _find(lines, f"{key}:"), f"{key}: expected non-empty text")
    return value.strip()


def _list_field(path: Path, meta: dict[str, Any], key: str, lines: list[str]) -> list[str]:
    value = meta[key]
    if not isinstance(value, list) or not value:
        raise CatalogError(path, _find(lines, f"{key}:"), f"{key}: expected a non-empty [list]")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise CatalogError(path, _find(lines, f"{key}:"), f"{key}: every entry must be text")
    return [item.strip() for item in value]


def _parse_body(path: Path, lines: list[str], body_start: int) -> dict[str, Section]:
    expected = list(LIST_SECTION_HEADINGS)
    overview: list[str] = []
    paragraph: list[str] = []
    bullets: dict[str, list[str]] = {}
    heading_lines: dict[str, int] = {}
    current: str | None = None
    for index in range(body_start, len(lines)):
        number = index + 1
        line = lines[index].rstrip()
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            if not stripped.startswith("## ") or heading not in LIST_SECTION_HEADINGS:
                raise CatalogError(
                    path,
                    number,
                    f"unknown heading '{stripped}'; expected one of: "
                    + ", ".join(f"## {name}" for name in expected),
                )
            position = len(heading_lines)
            if heading in heading_lines:
                raise CatalogError(path, number, f"heading '## {heading}' appears twice")
            if expected[position] != heading:
                raise CatalogError(
                    path, number, f"expected '## {expected[position]}' here, found '## {heading}'"
                )
            current = heading
            heading_lines[heading] = number
            bullets[heading] = []
        elif current is None:
            if TODO_PATTERN.search(stripped):
                raise CatalogError(path, number, f"the overview {_TODO_PROBLEM}")
            if stripped:
                paragraph.append(stripped)
            elif paragraph:
                overview.append(" ".join(paragraph))
                paragraph = []
        elif stripped.startswith(("- ", "* ")):
            if TODO_PATTERN.search(stripped):
                raise CatalogError(path, number, f"section '{current}' {_TODO_PROBLEM}")
            bullets[current].append(stripped[2:].strip())
        elif stripped:
            raise CatalogError(path, number, f"expected a bullet ('- ...') under '## {current}'")
    if paragraph:
        overview.append(" ".join(paragraph))
    missing = [name for name in expected if name not in heading_lines]
    if missing:
        raise CatalogError(path, len(lines), f"missing heading '## {missing[0]}'")
    if not overview:
        raise CatalogError(path, body_start + 1, "the overview (text before '## Tasks') is empty")
    sections = {"overview": Section("overview", "Overview", paragraphs=tuple(overview))}
    for heading, kind in LIST_SECTION_HEADINGS.items():
        items = [item for item in bullets[heading] if item]
        if not items:
            raise CatalogError(path, heading_lines[heading], f"section '{heading}' is empty")
        sections[kind] = Section(kind, heading, bullets=tuple(items))
    return sections


def _find(lines: list[str], prefix: str) -> int | None:
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith(prefix):
            return number
    return None


def _line_of(path: Path, prefix: str) -> int | None:
    return _find(_read(path).splitlines(), prefix)


def content_problems(career: Career) -> list[str]:
    """Editorial rules (lengths, bullet counts) reported by `check`; structure is checked above."""
    problems = []
    overview_words = len(career.overview.split())
    if overview_words < 40:
        problems.append(f"overview has {overview_words} words (at least 40)")
    for kind in SECTION_KINDS[1:]:
        count = len(career.sections[kind].bullets)
        if count < 4:
            problems.append(f"{SECTION_TITLES[kind]} has {count} bullets (at least 4)")
    if not 250 <= career.word_count <= 600:
        problems.append(f"{career.word_count} words (250-600 expected)")
    return problems


def review_problems(catalog: Catalog, review: Review, today: date) -> dict[Path, list[str]]:
    """What the counsellor's review cycle asks about: unverified or old facts, stale terms,
    one-way related links, overviews too hard to read."""
    from bot.readability import grade_level

    problems: dict[Path, list[str]] = {}
    linked_from = {
        career.id: {c.id for c in catalog if career.id in c.related} for career in catalog
    }
    for career in catalog:
        found = problems.setdefault(career.path, [])
        if career.facets is None:
            found.append("no facets (subjects, routes, work): lists and comparisons skip it")
        if career.last_verified is None or not career.sources:
            found.append("not reviewed yet: add last_verified and sources after checking facts")
        elif (today - career.last_verified).days > review.reverify_after_days:
            found.append(f"last_verified {career.last_verified} is over a year old: re-check")
        text = "\n".join(section.text for section in career.sections.values())
        for stale in review.stale_terms:
            if stale.found_in(text):
                found.append(f"stale term '{stale.term}': {stale.why}")
        one_way = [other for other in career.related if other not in linked_from[career.id]]
        if one_way:
            found.append("related one way only: " + ", ".join(one_way) + " do not link back")
        grade = grade_level(career.overview)
        if grade > review.max_overview_grade:
            found.append(
                f"overview reads at Grade {grade:g} (at most {review.max_overview_grade:g})"
            )
    return {path: found for path, found in problems.items() if found}
