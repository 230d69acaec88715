"""bot/importer.py and scripts/import_page.py: source pages become drafts in our profile format."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.catalog import CatalogError, load_catalog, parse_profile
from bot.importer import PageError, parse_page, render_profile

REPO = Path(__file__).resolve().parents[1]
SEED = Path(__file__).resolve().parents[2] / "shared/seeds/backend-developer.txt"
SEED_TASKS = [
    "Developing server-side logic and databases for web applications.",
    "Integrating user-facing elements with server-side logic.",
    "Ensuring cross-platform optimisation and responsiveness.",
    "Collaborating with front-end developers to integrate user-facing elements.",
    "Debugging and troubleshooting issues in the back-end code.",
]
NO_SECTIONS_PAGE = "Plumber\n\nA plumber fits and repairs pipes, taps and geysers.\n"

needs_seed = pytest.mark.skipif(not SEED.is_file(), reason=f"{SEED} not found")


def run_import(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/import_page.py", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def written(out: Path) -> list[Path]:
    return sorted(out.iterdir()) if out.exists() else []


def section_lines(text: str, heading: str) -> list[str]:
    """The non-blank lines under `## heading` in a rendered profile."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}") + 1
    found = []
    for line in lines[start:]:
        if line.startswith("## "):
            break
        if line.strip():
            found.append(line)
    return found


@pytest.fixture
def seed_import(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not SEED.is_file():
        pytest.skip(f"{SEED} not found")
    out = tmp_path / "out"
    return run_import(SEED, "--out", out), out / "backend-developer.md"


# --- the seed page ----------------------------------------------------------------------------


@needs_seed
def test_seed_page_section_counts() -> None:
    page = parse_page(SEED.read_text(encoding="utf-8"))
    assert page.title == "Backend Developer"
    assert page.career_id == "backend-developer"
    assert page.counts() == {
        "Tasks": 5,
        "Personal Requirements": 6,
        "Employment": 5,
        "Getting Started": 6,
        "Study Programmes": 0,
    }
    assert page.sections["Tasks"] == SEED_TASKS
    assert page.empty_sections == ["Study Programmes"]
    assert page.overview[0].startswith("A Back-end Developer creates and maintains")
    assert len(page.overview) == 2


def test_seed_page_through_the_script(
    seed_import: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, target = seed_import
    assert result.returncode == 0, result.stderr
    assert written(target.parent) == [target]
    assert (
        "5 tasks, 6 personal requirements, 5 employment, 6 getting started, 0 study programmes"
        in result.stderr
    )
    assert "'Study Programmes' was empty" in result.stderr
    text = target.read_text(encoding="utf-8")
    assert section_lines(text, "Tasks") == [f"- {task}" for task in SEED_TASKS]
    study = section_lines(text, "Study Programmes")
    assert len(study) == 1
    assert study[0].startswith("- TODO")


def test_seed_footer_is_left_out(
    seed_import: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, target = seed_import
    assert result.returncode == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    for footer in ("PACE", "©", "Disclaimer", "Netgen", "All rights reserved"):
        assert footer.casefold() not in text.casefold(), footer


def test_seed_bullets_keep_their_order(
    seed_import: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, target = seed_import
    assert result.returncode == 0, result.stderr
    source = [
        line.strip().removeprefix("•").strip()
        for line in SEED.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("•")
    ]
    body = target.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    bullets = [line[2:] for line in body.splitlines() if line.startswith("- ")]
    assert len(source) == 22
    assert bullets == [*source, "TODO: this section was empty."]


# --- pages that must not be written -----------------------------------------------------------


@pytest.mark.parametrize("out_exists", [False, True])
def test_page_without_sections_writes_nothing(tmp_path: Path, out_exists: bool) -> None:
    page = tmp_path / "plumber.txt"
    page.write_text(NO_SECTIONS_PAGE, encoding="utf-8")
    out = tmp_path / "out"
    if out_exists:
        out.mkdir()
    result = run_import(page, "--out", out)
    assert result.returncode == 1
    assert f"error: {page}: no sections found" in result.stderr
    assert "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert written(out) == []


@needs_seed
@pytest.mark.parametrize("bad_first", [False, True])
def test_bad_page_beside_a_good_one_writes_nothing(tmp_path: Path, bad_first: bool) -> None:
    bad = tmp_path / "plumber.txt"
    bad.write_text(NO_SECTIONS_PAGE, encoding="utf-8")
    out = tmp_path / "out"
    pages = [bad, SEED] if bad_first else [SEED, bad]
    result = run_import(*pages, "--out", out)
    assert result.returncode == 1
    assert f"error: {bad}: no sections found" in result.stderr
    assert written(out) == []


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"])
def test_empty_page(tmp_path: Path, content: str) -> None:
    page = tmp_path / "empty.txt"
    page.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = run_import(page, "--out", out)
    assert result.returncode == 1
    assert f"error: {page}: the page is empty" in result.stderr
    assert written(out) == []
    with pytest.raises(PageError, match="empty"):
        parse_page(content)


def test_missing_page_file(tmp_path: Path) -> None:
    page = tmp_path / "nowhere.txt"
    out = tmp_path / "out"
    result = run_import(page, "--out", out)
    assert result.returncode == 1
    assert f"error: {page}: can't read the page" in result.stderr
    assert written(out) == []


@needs_seed
def test_existing_profile_is_kept_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "backend-developer.md"
    target.write_text("staff's finished profile\n", encoding="utf-8")
    result = run_import(SEED, "--out", out)
    assert result.returncode == 1
    assert f"error: {target} exists (use --force to overwrite)" in result.stderr
    assert target.read_text(encoding="utf-8") == "staff's finished profile\n"
    assert written(out) == [target]

    forced = run_import(SEED, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.read_text(encoding="utf-8").startswith("---\nid: backend-developer\n")


@pytest.mark.parametrize("force", [False, True])
def test_two_pages_with_the_same_id_write_nothing(tmp_path: Path, force: bool) -> None:
    first = tmp_path / "plumber.txt"
    first.write_text(WRAPPED_PAGE, encoding="utf-8")
    second = tmp_path / "plumber-2.txt"  # another title that slugifies to 'plumber'
    second.write_text(WRAPPED_PAGE.replace("Plumber\n", "PLUMBER!\n", 1), encoding="utf-8")
    out = tmp_path / "out"
    result = run_import(first, second, "--out", out, *(["--force"] if force else []))
    assert result.returncode == 1
    assert f"error: {first} and {second} both become {out / 'plumber.md'}" in result.stderr
    assert "nothing was written" in result.stderr
    assert written(out) == []


def test_out_is_an_existing_file(tmp_path: Path) -> None:
    page = tmp_path / "plumber.txt"
    page.write_text(WRAPPED_PAGE, encoding="utf-8")
    out = tmp_path / "out.md"
    out.write_text("not a folder\n", encoding="utf-8")
    result = run_import(page, "--out", out)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: --out {out} is a file, not a folder"), result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_text(encoding="utf-8") == "not a folder\n"


def test_out_that_cant_be_written(tmp_path: Path) -> None:
    page = tmp_path / "plumber.txt"
    page.write_text(WRAPPED_PAGE, encoding="utf-8")
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a folder should be\n", encoding="utf-8")
    result = run_import(page, "--out", blocker / "out")
    assert result.returncode == 1
    assert result.stderr.startswith("error: can't write the drafts ("), result.stderr
    assert "0 of 1 were written" in result.stderr
    assert "Traceback" not in result.stderr


# --- bullet shapes ----------------------------------------------------------------------------


WRAPPED_PAGE = """\
Plumber

Plumbers fit and repair the pipes, taps and geysers in homes and buildings.

Tasks:
- Install water pipes, geysers
  and drainage in new houses.
- Find and fix leaks.

Personal Requirements
  • Good with your hands and
    happy to work in tight
    spaces.
  • Careful with measurements.

Employment
* Plumbing contractors.
* Municipal water departments.

Getting Started
1. Finish matric with Mathematics.
2) Find an apprenticeship
   with a qualified plumber.
"""


def test_wrapped_and_dash_bullets() -> None:
    page = parse_page(WRAPPED_PAGE)
    assert page.sections == {
        "Tasks": [
            "Install water pipes, geysers and drainage in new houses.",
            "Find and fix leaks.",
        ],
        "Personal Requirements": [
            "Good with your hands and happy to work in tight spaces.",
            "Careful with measurements.",
        ],
        "Employment": ["Plumbing contractors.", "Municipal water departments."],
        "Getting Started": [
            "Finish matric with Mathematics.",
            "Find an apprenticeship with a qualified plumber.",
        ],
    }
    assert page.overview == [
        "Plumbers fit and repair the pipes, taps and geysers in homes and buildings."
    ]
    text = render_profile(page, "Trades")
    assert "field: Trades\n" in text
    assert section_lines(text, "Tasks") == [
        "- Install water pipes, geysers and drainage in new houses.",
        "- Find and fix leaks.",
    ]
    assert section_lines(text, "Study Programmes") == ["- TODO: this section was empty."]


@pytest.mark.parametrize(
    "bullet",
    [
        "See the disclaimer on the work permit before you start.",
        "Keep up with copyright law (©) for plans and drawings.",
        "Learn which designs say all rights reserved.",
        "Use the career centre product catalogue to compare colleges.",
    ],
)
def test_bullet_that_looks_like_the_footer_is_kept(bullet: str) -> None:
    page = parse_page(
        WRAPPED_PAGE.replace("* Plumbing contractors.\n", f"* Plumbing contractors.\n• {bullet}\n")
    )
    assert page.sections["Employment"] == [
        "Plumbing contractors.",
        bullet,
        "Municipal water departments.",
    ]
    assert page.sections["Getting Started"][0] == "Finish matric with Mathematics."


@pytest.mark.parametrize(
    "footer",
    [
        "A PACE Career Centre Product",
        "© 2024 Career Services",
        "All rights reserved | Disclaimer",
    ],
)
def test_footer_line_ends_the_page(footer: str) -> None:
    page = parse_page(WRAPPED_PAGE + f"\n{footer}\n\nTasks:\n- Not part of the career.\n")
    assert page.sections["Getting Started"][-1] == (
        "Find an apprenticeship with a qualified plumber."
    )
    assert "Not part of the career." not in page.sections["Tasks"]


def test_wrapped_overview_lines_make_one_paragraph() -> None:
    text = WRAPPED_PAGE.replace(
        "Plumbers fit and repair the pipes, taps and geysers in homes and buildings.\n",
        "Plumbers fit and repair the pipes,\n  taps and geysers in homes\nand buildings.\n"
        "\n\nMost of them work for contractors\nor for themselves.\n",
    )
    assert parse_page(text).overview == [
        "Plumbers fit and repair the pipes, taps and geysers in homes and buildings.",
        "Most of them work for contractors or for themselves.",
    ]


@pytest.mark.parametrize(
    "title",
    [
        "Nurse: Registered",
        "Chef, Pastry",
        'The "Best" Job',
        "Plumber's Mate",
        "Yes",
        "# Hash: [Brackets], {Braces} & 'quotes'",
    ],
)
def test_titles_with_yaml_punctuation_survive(tmp_path: Path, title: str) -> None:
    page = parse_page(WRAPPED_PAGE.replace("Plumber\n", f"{title}\n", 1))
    text = render_profile(page, "Trades: Building, Plumbing")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta == {
        "id": page.career_id,
        "title": title,
        "field": "Trades: Building, Plumbing",
        "aliases": [title.lower()],
        "riasec": [],
        "related": [],
    }
    assert "# TODO: add the words learners use" in text  # the hints for staff are kept

    # Filled in, the draft loads with the title as written.
    path = tmp_path / f"{page.career_id}.md"
    path.write_text(fill_in(text), encoding="utf-8")
    career = parse_profile(path)
    assert (career.title, career.field) == (title, "Information Technology")


def test_page_with_a_bom_keeps_a_clean_title(tmp_path: Path) -> None:
    page = tmp_path / "plumber.txt"
    page.write_bytes(b"\xef\xbb\xbf" + WRAPPED_PAGE.encode("utf-8"))
    out = tmp_path / "out"
    result = run_import(page, "--out", out)
    assert result.returncode == 0, result.stderr
    assert (
        (out / "plumber.md")
        .read_text(encoding="utf-8")
        .startswith("---\nid: plumber\ntitle: Plumber\n")
    )


# --- the draft is our format ------------------------------------------------------------------


def fill_in(text: str) -> str:
    """Do what staff do with a draft: replace every TODO with real content."""
    front = {
        "field": "field: Information Technology",
        "aliases": "aliases: [backend developer, back-end developer, server-side developer]",
        "riasec": "riasec: [I, C, R]",
        "related": "related: [frontend-developer, devops-engineer]",
    }
    lines = []
    for line in text.splitlines():
        key = line.split(":", 1)[0]
        if key in front:
            line = front[key]
        elif line.startswith("- TODO"):
            line = "- BSc in Computer Science at a university such as Wits, UCT or UP: 3 years."
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_filled_in_draft_is_a_valid_profile(
    seed_import: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    result, target = seed_import
    assert result.returncode == 0, result.stderr
    target.write_text(fill_in(target.read_text(encoding="utf-8")), encoding="utf-8")
    assert "TODO" not in target.read_text(encoding="utf-8")

    career = parse_profile(target)
    assert career.id == "backend-developer"
    assert career.title == "Backend Developer"
    assert career.field == "Information Technology"
    assert career.riasec == ("I", "C", "R")
    assert career.section("tasks").bullets == tuple(SEED_TASKS)
    assert [
        len(career.section(kind).bullets) for kind in career.sections if kind != "overview"
    ] == [
        5,
        6,
        5,
        6,
        1,
    ]
    assert "server-side" in career.overview

    # It also takes the place of the real profile in a full catalogue.
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge" / "careers", knowledge / "careers")
    shutil.copy(target, knowledge / "careers" / "backend-developer.md")
    catalog = load_catalog(knowledge)
    assert len(catalog) == len(list((REPO / "knowledge" / "careers").glob("*.md")))
    assert catalog.get("backend-developer").section("tasks").bullets == tuple(SEED_TASKS)


def test_unfilled_draft_is_refused(
    seed_import: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, target = seed_import
    assert result.returncode == 0, result.stderr
    with pytest.raises(CatalogError) as caught:
        parse_profile(target)
    message = str(caught.value)
    assert message.startswith(f"{target}:")
    assert "riasec" in message or "TODO" in message

    # With riasec and related done, the field (no --field was given) is still TODO.
    text = target.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^riasec: .*$", "riasec: [I, C, R]", text)
    text = re.sub(r"(?m)^related: .*$", "related: [frontend-developer]", text)
    target.write_text(text, encoding="utf-8")
    with pytest.raises(
        CatalogError, match="field still has a TODO; it must be filled in"
    ) as caught:
        parse_profile(target)
    field_line = next(
        i for i, line in enumerate(text.splitlines(), 1) if line.startswith("field:")
    )
    assert str(caught.value).startswith(f"{target}:{field_line}: ")

    # With the front matter done but the study section still TODO, its TODO bullet is named.
    text = re.sub(r"(?m)^field: .*$", "field: Information Technology", text)
    target.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="'Study Programmes' still has a TODO") as caught:
        parse_profile(target)
    todo_line = text.splitlines().index("- TODO: this section was empty.") + 1
    assert str(caught.value).startswith(f"{target}:{todo_line}: ")


def test_draft_without_an_overview_is_refused(tmp_path: Path) -> None:
    page = parse_page(re.sub(r"(?s)\n\nPlumbers fit.*?\n\n", "\n\n", WRAPPED_PAGE, count=1))
    assert page.overview == []
    path = tmp_path / "plumber.md"
    text = fill_in(render_profile(page, "Trades"))
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="the overview still has a TODO") as caught:
        parse_profile(path)
    overview_line = text.splitlines().index("TODO: write the overview.") + 1
    assert str(caught.value).startswith(f"{path}:{overview_line}: ")
