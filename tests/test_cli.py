"""`python -m bot ask` and `python -m bot eval` as staff run them, in real subprocesses.

Each run that gets past start-up loads the model (several seconds), so the checks are grouped:
six runs load the model, and the missing/stale-index runs fail before loading it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import SECTION_KINDS, SECTION_SHORT_LABELS, load_catalog
from tests.conftest import KNOWLEDGE, REPO, copy_knowledge, subprocess_env

pytestmark = pytest.mark.slow

DATA = REPO / "tests" / "data"
ANSWER_KEYS = {"kind", "careers", "career", "section", "confidence", "alternatives", "reply"}
CAREER_IDS = {career.id for career in load_catalog(KNOWLEDGE)}


def run_bot(
    *args: str, tmp_path: Path, index_dir: Path, knowledge_dir: Path = KNOWLEDGE
) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(
        INDEX_DIR=str(index_dir),
        KNOWLEDGE_DIR=str(knowledge_dir),
        DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
        PYTHONIOENCODING="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def assert_answer_shape(answer: dict[str, Any]) -> None:
    assert answer.keys() >= ANSWER_KEYS
    assert isinstance(answer["reply"], str)
    assert answer["reply"].strip()
    assert isinstance(answer["alternatives"], list)
    if answer["career"] is None:
        assert answer["section"] is None
        assert answer["alternatives"] == []
        return
    assert answer["career"] in CAREER_IDS
    assert answer["section"] in SECTION_KINDS
    assert 0.0 <= answer["confidence"] <= 1.0
    for alternative in answer["alternatives"]:
        assert set(alternative) == {"career", "section", "confidence"}
        assert alternative["career"] in CAREER_IDS
        assert alternative["section"] in SECTION_KINDS
        assert 0.0 <= alternative["confidence"] <= 1.0


# --- ask ------------------------------------------------------------------------------------


def test_ask_prints_the_reply(tmp_path: Path, index_dir: Path) -> None:
    result = run_bot("ask", "how do I become a nurse?", tmp_path=tmp_path, index_dir=index_dir)

    assert result.returncode == 0, result.stderr
    heading = result.stdout.strip().splitlines()[0]
    # The heading is "## Registered Nurse · Getting Started": career title, then section title.
    career, _, section = heading.removeprefix("## ").casefold().partition(" · ")
    assert career == "registered nurse"
    assert section in {
        SECTION_SHORT_LABELS[kind].casefold() for kind in ("getting_started", "study")
    }
    assert "Traceback" not in result.stderr


def test_ask_json_prints_one_object(tmp_path: Path, index_dir: Path) -> None:
    result = run_bot(
        "ask", "--json", "who hires actuaries?", tmp_path=tmp_path, index_dir=index_dir
    )

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    answer = json.loads(lines[0])
    assert set(answer) == ANSWER_KEYS
    assert_answer_shape(answer)
    assert (answer["career"], answer["section"]) == ("actuary", "employment")
    assert answer["alternatives"]
    assert "Actuary".casefold() in answer["reply"].casefold()


def test_ask_file_answers_each_line_in_order_with_dialogue_context(
    tmp_path: Path, index_dir: Path
) -> None:
    lines: list[dict[str, Any]] = [
        {"id": "chef-1", "q": "what does a chef do", "dialogue": "kitchen"},
        {"id": 2, "q": "what is the capital of France"},
        {"id": "chef-2", "q": "and what do they study?", "dialogue": "kitchen"},
        {"id": "other", "q": "and what do they study?", "dialogue": "elsewhere"},
        {"id": "alone", "q": "and what do they study?"},
        {"id": "actuary", "q": "who hires actuaries?"},
    ]
    questions = tmp_path / "questions.jsonl"
    text = "\n".join(json.dumps(line) for line in lines)
    questions.write_text(text.replace("\n", "\n\n", 1) + "\n", encoding="utf-8")  # a blank line

    result = run_bot(
        "ask", "--json", "--file", str(questions), tmp_path=tmp_path, index_dir=index_dir
    )

    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [answer["id"] for answer in answers] == [line["id"] for line in lines]
    for answer in answers:
        assert set(answer) == {"id", *ANSWER_KEYS}
        assert_answer_shape(answer)
    by_id = {answer["id"]: answer for answer in answers}
    assert by_id["chef-1"]["career"] == "chef"
    assert by_id["chef-1"]["section"] in {"overview", "tasks"}
    assert (by_id[2]["career"], by_id[2]["section"]) == (None, None), "off-topic is declined"
    assert (by_id["chef-2"]["career"], by_id["chef-2"]["section"]) == ("chef", "study")
    assert by_id["other"]["career"] != "chef", "another dialogue must not inherit the chef"
    assert by_id["alone"]["career"] != "chef", "a line without a dialogue has no context"
    assert (by_id["actuary"]["career"], by_id["actuary"]["section"]) == ("actuary", "employment")


def test_ask_file_with_a_malformed_line_names_it(tmp_path: Path, index_dir: Path) -> None:
    questions = tmp_path / "broken.jsonl"
    questions.write_text(
        '{"id": "ok", "q": "what does a chef do"}\n{"id": "bad", "q": "unclosed\n',
        encoding="utf-8",
    )

    result = run_bot("ask", "--file", str(questions), tmp_path=tmp_path, index_dir=index_dir)

    assert_clean_failure(result, 2)
    assert f"{questions}:2" in result.stderr


# --- eval -----------------------------------------------------------------------------------

MODES = ("hybrid (ours)", "lexical only", "dense only")


def test_eval_prints_a_table_against_baselines(tmp_path: Path, index_dir: Path) -> None:
    result = run_bot(
        "eval",
        str(DATA / "questions.jsonl"),
        "--dialogues",
        str(DATA / "dialogues.jsonl"),
        tmp_path=tmp_path,
        index_dir=index_dir,
    )

    assert result.returncode == 0, result.stderr
    table = result.stdout
    header = table.splitlines()[0]
    assert all(mode in header for mode in MODES), header
    for label in ("top-1", "top-3", "MRR", "off-topic declined", "wrongly declined"):
        assert label in table, label
    assert "Traceback" not in result.stderr


def test_eval_json_has_figures_for_each_mode(tmp_path: Path, index_dir: Path) -> None:
    result = run_bot(
        "eval",
        str(DATA / "questions.jsonl"),
        "--dialogues",
        str(DATA / "dialogues.jsonl"),
        "--json",
        tmp_path=tmp_path,
        index_dir=index_dir,
    )

    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) == set(MODES)
    for mode in MODES:
        assert {"top1", "top3", "mrr", "off_topic_declined", "wrongly_declined"} <= set(
            figures[mode]
        )
        for name, value in figures[mode].items():
            assert 0.0 <= value <= 1.0, (mode, name, value)
    assert figures["hybrid (ours)"]["top1"] >= 0.9


# --- an index that can't be used ------------------------------------------------------------


def test_ask_without_an_index_says_make_index(tmp_path: Path) -> None:
    empty = tmp_path / "no-index"
    empty.mkdir()

    result = run_bot("ask", "x", tmp_path=tmp_path, index_dir=empty)

    assert_clean_failure(result, 1)
    assert "make index" in result.stderr
    assert result.stdout == ""


def test_ask_with_a_stale_index_says_out_of_date(tmp_path: Path, index_dir: Path) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    profile = knowledge / "careers" / "chef.md"
    text = profile.read_text(encoding="utf-8")
    profile.write_text(
        text.replace("junior cooks and scullery staff.", "junior cooks and scullery staff daily."),
        encoding="utf-8",
    )
    assert profile.read_text(encoding="utf-8") != text

    result = run_bot("ask", "x", tmp_path=tmp_path, index_dir=index_dir, knowledge_dir=knowledge)

    assert_clean_failure(result, 1)
    assert "out of date" in result.stderr
    assert "make index" in result.stderr


def test_ask_json_reports_distress_as_support(tmp_path: Path, index_dir: Path) -> None:
    questions = tmp_path / "q.jsonl"
    lines = [
        {"id": "n", "q": "what does a nurse do", "dialogue": "d"},
        {"id": "s", "q": "i feel like ending it all", "dialogue": "d"},
        {"id": "f", "q": "im dying to become a pilot"},
    ]
    questions.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")

    result = run_bot("ask", "--file", str(questions), tmp_path=tmp_path, index_dir=index_dir)

    assert result.returncode == 0, result.stderr
    nurse, support, pilot = (json.loads(line) for line in result.stdout.splitlines())
    assert nurse["kind"] == "section"
    assert nurse["careers"] == ["registered-nurse"]
    assert support["kind"] == "support"
    assert support["careers"] == []
    assert support["career"] is None
    assert "0800 567 567" in support["reply"]
    assert pilot["kind"] == "section"
    assert pilot["careers"] == ["airline-pilot"]
