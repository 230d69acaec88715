"""bot/catalog.py against the real knowledge/careers content and against small broken files."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.catalog import (
    LIST_SECTION_HEADINGS,
    Catalog,
    CatalogError,
    content_problems,
    load_catalog,
)
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"
CAREERS_TSV = Path(__file__).resolve().parents[2] / "shared/eval/careers.tsv"
SEED_FACTS = (
    "Python",
    "Java",
    "Ruby",
    "Django",
    "Spring Boot",
    "Rails",
    "MySQL",
    "PostgreSQL",
    "MongoDB",
    "Git",
    "open-source",
    "internship",
    "startups",
    "e-commerce",
    "freelance",
)
LEARNER_WORDS = {
    "sparky": "electrician",
    "physio": "physiotherapist",
    "qs": "quantity-surveyor",
    "dba": "database-administrator",
    "vet": "veterinarian",
    "cop": "police-officer",
    "lawyer": "attorney",
    "gp": "medical-doctor",
    "ca": "chartered-accountant",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(KNOWLEDGE)


# --- the real content -------------------------------------------------------------------------


def test_every_profile_loads(catalog: Catalog) -> None:
    assert len(catalog) >= 80
    assert len(list(KNOWLEDGE.glob("careers/*.md"))) == len(catalog)
    for career in catalog:
        assert career.path.stem == career.id
        assert set(career.sections) == {"overview", *LIST_SECTION_HEADINGS.values()}


def test_ids_titles_and_fields_match_the_shared_list(catalog: Catalog) -> None:
    if not CAREERS_TSV.is_file():
        pytest.skip(f"{CAREERS_TSV} not found (the shared eval folder sits beside the repo)")
    with CAREERS_TSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    expected = {row["id"]: (row["title"], row["field"]) for row in rows}
    assert len(expected) == len(rows) == 50
    assert set(expected) <= set(catalog.careers)  # the shared list, and careers beyond it
    actual = {career.id: (career.title, career.field) for career in catalog}
    assert {career_id: actual[career_id] for career_id in expected} == expected


def test_every_profile_passes_the_editorial_rules(catalog: Catalog) -> None:
    problems = {career.id: content_problems(career) for career in catalog}
    assert {career_id: found for career_id, found in problems.items() if found} == {}


def test_every_profile_has_codes_aliases_and_known_related_careers(catalog: Catalog) -> None:
    for career in catalog:
        assert 2 <= len(career.riasec) <= 3, career.id
        assert all(letter in "RIASEC" for letter in career.riasec), career.id
        assert career.aliases, career.id
        assert all(alias.strip() for alias in career.aliases), career.id
        assert career.related, career.id
        assert career.id not in career.related, career.id
        unknown = [related for related in career.related if related not in catalog]
        assert unknown == [], career.id


def test_no_bullet_is_repeated_across_careers(catalog: Catalog) -> None:
    owners: defaultdict[str, set[str]] = defaultdict(set)
    for career in catalog:
        for kind, section in career.sections.items():
            if kind == "overview":
                continue
            for bullet in section.bullets:
                owners[" ".join(bullet.casefold().split())].add(career.id)
    repeated = {bullet: sorted(ids) for bullet, ids in owners.items() if len(ids) > 1}
    assert repeated == {}
    assert len(owners) > 50 * 20  # the check really looked at every career's bullets


@pytest.mark.parametrize(("word", "career_id"), sorted(LEARNER_WORDS.items()))
def test_learner_words_are_aliases_of_the_right_career(
    catalog: Catalog, word: str, career_id: str
) -> None:
    assert word in catalog.get(career_id).aliases
    others = [career.id for career in catalog if word in career.aliases and career.id != career_id]
    assert others == []


def test_backend_developer_keeps_the_seed_page_facts(catalog: Catalog) -> None:
    body = catalog.get("backend-developer").path.read_text(encoding="utf-8").split("---", 2)[2]
    missing = [fact for fact in SEED_FACTS if fact.casefold() not in body.casefold()]
    assert missing == []


# --- broken files -----------------------------------------------------------------------------


def profile_text(career_id: str, related: str) -> str:
    """A minimal profile that `parse_profile` accepts (the editorial rules are not the point)."""
    return (
        "---\n"
        f"id: {career_id}\n"
        f"title: Career {career_id.upper()}\n"
        "field: Testing\n"
        f"aliases: [alias {career_id}]\n"
        "riasec: [I, C]\n"
        f"related: [{related}]\n"
        "---\n"
        f"Career {career_id} is a small profile used by the tests.\n"
        "\n"
        "## Tasks\n"
        f"- Task of {career_id}.\n"
        "\n"
        "## Personal Requirements\n"
        f"- Requirement of {career_id}.\n"
        "\n"
        "## Employment\n"
        f"- Employer of {career_id}.\n"
        "\n"
        "## Getting Started\n"
        f"- First step for {career_id}.\n"
        "\n"
        "## Study Programmes\n"
        f"- Course for {career_id}.\n"
    )


def write_pair(knowledge: Path) -> Path:
    """Write valid profiles a.md and b.md (each related to the other); return a.md's path."""
    careers = knowledge / "careers"
    careers.mkdir(parents=True)
    (careers / "b.md").write_text(profile_text("b", "a"), encoding="utf-8")
    path = careers / "a.md"
    path.write_text(profile_text("a", "b"), encoding="utf-8")
    return path


def line_number(text: str, line: str) -> int:
    """1-based number of the first line of `text` that equals `line`."""
    return text.splitlines().index(line) + 1


def mutate(path: Path, change: Callable[[str], str]) -> str:
    text = change(path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    return text


def load_error(knowledge: Path) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        load_catalog(knowledge)
    return caught.value


def assert_names_line(error: CatalogError, path: Path, line: int, problem: str) -> None:
    assert str(error).startswith(f"{path}:{line}: "), str(error)
    assert problem in str(error)
    assert (error.path, error.line) == (path, line)


def test_the_minimal_pair_is_valid(tmp_path: Path) -> None:
    write_pair(tmp_path)
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.careers) == ["a", "b"]
    assert catalog.get("a").related == ("b",)
    assert catalog.get("a").section("tasks").bullets == ("Task of a.",)
    assert catalog.fields == {"Testing": ("a", "b")}


def test_missing_last_heading(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("\n## Study Programmes\n- Course for a.\n", ""))
    error = load_error(tmp_path)
    # Nothing is out of place, so the message points at the end of the file.
    assert_names_line(error, path, len(text.splitlines()), "missing heading '## Study Programmes'")


def test_missing_middle_heading(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("## Employment\n- Employer of a.\n\n", ""))
    error = load_error(tmp_path)
    # The next heading arrives where '## Employment' belongs, so that line is named.
    line = line_number(text, "## Getting Started")
    assert_names_line(
        error, path, line, "expected '## Employment' here, found '## Getting Started'"
    )


def test_headings_out_of_order(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    tasks = "## Tasks\n- Task of a.\n\n"
    requirements = "## Personal Requirements\n- Requirement of a.\n\n"
    text = mutate(path, lambda t: t.replace(tasks + requirements, requirements + tasks))
    error = load_error(tmp_path)
    line = line_number(text, "## Personal Requirements")
    assert_names_line(
        error, path, line, "expected '## Tasks' here, found '## Personal Requirements'"
    )


@pytest.mark.parametrize("heading", ["## Salary", "## Overview", "### Tasks", "# Employment"])
def test_unknown_heading(tmp_path: Path, heading: str) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("## Tasks\n", f"{heading}\n- Extra.\n\n## Tasks\n"))
    error = load_error(tmp_path)
    assert_names_line(error, path, line_number(text, heading), f"unknown heading '{heading}'")
    assert "## Tasks" in error.problem  # it lists the headings that are allowed


def test_unknown_related_id(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("related: [b]", "related: [b, nobody]"))
    error = load_error(tmp_path)
    line = line_number(text, "related: [b, nobody]")
    assert_names_line(error, path, line, "related: unknown career id 'nobody'")


def test_duplicate_id_is_caught_by_the_file_name_rule(tmp_path: Path) -> None:
    # The id must equal the file stem and stems are unique within one folder, so this rule is the
    # only duplicate check there is: a second file claiming id 'a' fails on its file name.
    path = write_pair(tmp_path)
    other = path.with_name("b.md")
    text = mutate(
        other, lambda t: t.replace("id: b", "id: a").replace("related: [a]", "related: [b]")
    )
    error = load_error(tmp_path)
    assert_names_line(
        error, other, line_number(text, "id: a"), "id 'a' does not match the file name"
    )


@pytest.mark.parametrize(
    ("riasec", "problem"),
    [
        ("[I, X]", "riasec: 'X' is not one of R I A S E C"),
        ("[i, C]", "riasec: 'i' is not one of R I A S E C"),
        ("[IC]", "riasec: 'IC' is not one of R I A S E C"),
        ("[I, C, I]", "riasec: a letter is repeated"),
    ],
)
def test_bad_riasec(tmp_path: Path, riasec: str, problem: str) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("riasec: [I, C]", f"riasec: {riasec}"))
    error = load_error(tmp_path)
    assert_names_line(error, path, line_number(text, f"riasec: {riasec}"), problem)


def test_empty_section(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("- Employer of a.\n", ""))
    error = load_error(tmp_path)
    assert_names_line(error, path, line_number(text, "## Employment"), "'Employment' is empty")


@pytest.mark.parametrize(
    "bullet", ["- TODO: list the programmes.", "- Diploma at a TVET college (TODO: which ones)."]
)
def test_section_still_holding_a_todo(tmp_path: Path, bullet: str) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t + f"{bullet}\n")
    error = load_error(tmp_path)
    # The bullet itself is named, wherever the TODO sits in it.
    assert_names_line(
        error, path, line_number(text, bullet), "section 'Study Programmes' still has a TODO"
    )
    assert "must be filled in" in error.problem


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("field: Testing", "field: TODO (one of the catalogue fields)", "field still has a TODO"),
        ("title: Career A", "title: TODO", "title still has a TODO"),
        ("aliases: [alias a]", "aliases: [alias a, TODO]", "aliases still has a TODO"),
        (
            "Career a is a small profile used by the tests.",
            "TODO: write the overview.",
            "the overview still has a TODO",
        ),
        (
            "Career a is a small profile used by the tests.",
            "Career a is a small profile.\nIt is used by the TODO tests.",
            "the overview still has a TODO",
        ),
    ],
)
def test_todo_left_in_the_front_matter_or_overview(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace(old, new))
    error = load_error(tmp_path)
    line = next(i for i, line in enumerate(text.splitlines(), 1) if "TODO" in line)
    assert_names_line(error, path, line, problem)
    assert "must be filled in" in error.problem


def test_words_containing_todo_are_not_markers(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    mutate(path, lambda t: t.replace("- Task of a.", "- Keep a TODOS list; todo apps help."))
    assert load_catalog(tmp_path).get("a").section("tasks").bullets[0].startswith("Keep a TODOS")


def test_malformed_yaml_front_matter(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("title: Career A", "title: Career: A"))
    error = load_error(tmp_path)
    assert_names_line(error, path, line_number(text, "title: Career: A"), "malformed front matter")


def test_front_matter_not_closed(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    mutate(path, lambda t: t.replace("related: [b]\n---\n", "related: [b]\n"))
    error = load_error(tmp_path)
    assert_names_line(error, path, 1, "front matter is not closed with a '---' line")


def test_front_matter_must_come_first(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    mutate(path, lambda t: "Career A\n" + t)
    error = load_error(tmp_path)
    assert_names_line(error, path, 1, "front matter must start with a '---' line")


@pytest.mark.parametrize("key", ["id", "title", "field", "aliases", "riasec", "related"])
def test_missing_front_matter_key(tmp_path: Path, key: str) -> None:
    path = write_pair(tmp_path)
    text = mutate(
        path,
        lambda t: "".join(line for line in t.splitlines(True) if not line.startswith(f"{key}:")),
    )
    assert f"\n{key}:" not in text
    error = load_error(tmp_path)
    # The key has no line of its own, so the message points at the start of the front matter.
    assert_names_line(error, path, 2, f"front matter is missing '{key}'")


@pytest.mark.parametrize("key", ["aliases", "riasec", "related"])
def test_empty_front_matter_list(tmp_path: Path, key: str) -> None:
    path = write_pair(tmp_path)
    text = mutate(
        path,
        lambda t: "".join(
            f"{key}: []\n" if line.startswith(f"{key}:") else line for line in t.splitlines(True)
        ),
    )
    error = load_error(tmp_path)
    assert_names_line(error, path, line_number(text, f"{key}: []"), f"{key}: expected a non-empty")


def test_stray_line_under_a_heading(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    text = mutate(path, lambda t: t.replace("- Task of a.\n", "- Task of a.\nand more words\n"))
    error = load_error(tmp_path)
    line = line_number(text, "and more words")
    assert_names_line(error, path, line, "expected a bullet ('- ...') under '## Tasks'")


def test_empty_overview(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    text = mutate(
        path, lambda t: t.replace("Career a is a small profile used by the tests.\n", "")
    )
    error = load_error(tmp_path)
    first_body_line = line_number(text, "## Tasks") - 1  # the blank line after the '---'
    assert_names_line(
        error, path, first_body_line, "the overview (text before '## Tasks') is empty"
    )


def test_non_utf8_file(tmp_path: Path) -> None:
    path = write_pair(tmp_path)
    path.write_bytes(profile_text("a", "b").replace("small", "café").encode("latin-1"))
    error = load_error(tmp_path)
    assert str(error).startswith(f"{path}: not UTF-8 text"), str(error)
    assert error.path == path
    assert error.line is None  # no line applies: the file can't be read as text at all


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    # Windows Notepad saves UTF-8 with a byte order mark in front of the first '---'.
    path = write_pair(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + profile_text("a", "b").encode("utf-8"))
    assert load_catalog(tmp_path).get("a").title == "Career A"

    # Line numbers still count from the real first line.
    path.write_bytes(b"\xef\xbb\xbf" + profile_text("a", "b, nobody").encode("utf-8"))
    error = load_error(tmp_path)
    line = line_number(profile_text("a", "b, nobody"), "related: [b, nobody]")
    assert_names_line(error, path, line, "related: unknown career id 'nobody'")


def test_folder_without_profiles(tmp_path: Path) -> None:
    (tmp_path / "careers").mkdir()
    error = load_error(tmp_path)
    assert str(error) == f"{tmp_path / 'careers'}: no career profiles (*.md) found"


# --- python -m bot check ----------------------------------------------------------------------


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    settings_names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings_names}
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_support_files(knowledge: Path) -> None:
    (knowledge / "quizzes").mkdir(parents=True, exist_ok=True)
    shutil.copy(KNOWLEDGE / "intents.yaml", knowledge / "intents.yaml")
    shutil.copy(KNOWLEDGE / "quizzes" / "interests.yaml", knowledge / "quizzes" / "interests.yaml")
    for name in ("support.yaml", "language.yaml", "vocabulary.yaml"):
        shutil.copy(KNOWLEDGE / name, knowledge / name)


def test_check_accepts_the_real_content() -> None:
    result = run_check()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert re.match(r"OK: \d{2,3} careers", lines[0]), lines[0]
    assert "warning" not in result.stdout + result.stderr


def test_check_uses_the_knowledge_option(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    write_pair(knowledge)
    copy_support_files(knowledge)
    result = run_check("--knowledge", str(knowledge))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 2 careers in 1 fields"), result.stdout
    assert "warning: " in result.stderr  # the tiny profiles break the editorial rules
    assert run_check("--knowledge", str(knowledge), "--strict").returncode == 1


def test_check_reports_a_broken_profile_without_a_traceback(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    path = write_pair(knowledge)
    copy_support_files(knowledge)
    text = mutate(path, lambda t: t.replace("- Task of a.\n", "- Task of a.\nstray text\n"))
    result = run_check("--knowledge", str(knowledge))
    assert result.returncode == 1
    line = line_number(text, "stray text")
    assert result.stderr.startswith(f"error: {path}:{line}: expected a bullet"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert "OK" not in result.stdout
