"""The interest quiz and the readiness check, through the dialogue with a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.catalog import CatalogError
from bot.dialogue.core import Dialogue
from bot.dialogue.quiz_flow import score_interests
from bot.dialogue.replies import Reply, render_plain
from bot.quizzes import load_interest_quiz
from bot.search.engine import SearchServices
from bot.services import Services
from bot.storage import queries
from tests.conftest import KNOWLEDGE

USER = "tg:77"
OTHER = "tg:78"


def press(dialogue: Dialogue, user: str, reply: Reply, label: str) -> Reply:
    button = next(b for b in reply.all_buttons if b.label == label)
    return dialogue.on_action(user, button.data)


def answer_all(dialogue: Dialogue, user: str, reply: Reply, like_types: str) -> Reply:
    """Answer every quiz question: Like for statements of the given types, Dislike otherwise."""
    quiz = dialogue.flows.quiz
    for statement in quiz.statements:
        assert statement.text in render_plain(reply)
        label = "Like" if statement.type in like_types else "Dislike"
        reply = press(dialogue, user, reply, label)
    return reply


def test_quiz_content_is_valid() -> None:
    quiz = load_interest_quiz(KNOWLEDGE / "quizzes" / "interests.yaml")
    assert len(quiz.statements) == 30
    assert [s.type for s in quiz.statements] != sorted(s.type for s in quiz.statements)


def test_quiz_suggests_careers_with_reasons(services: Services) -> None:
    dialogue = services.dialogue
    first = dialogue.on_command(USER, "quiz")
    assert "Question 1 of 30" in render_plain(first)
    assert {"Dislike", "Not sure", "Like", "✖ Cancel"} <= {b.label for b in first.all_buttons}
    result = answer_all(dialogue, USER, first, like_types="SI")
    text = render_plain(result)
    assert "Social" in text
    assert "Investigative" in text
    assert "because you liked" in text
    career_buttons = [b for b in result.all_buttons if b.data.startswith("sec:")]
    assert len(career_buttons) == 5
    catalog = services.search.catalog
    for button in career_buttons:
        career = catalog.get(button.data.split(":")[1])
        assert set(career.riasec[:2]) & {"S", "I"}
    again = dialogue.on_command(USER, "quiz")
    assert "taken the interest quiz before" in render_plain(again)
    last = press(dialogue, USER, again, "📋 Show my last result")
    assert render_plain(last) == text


def test_flat_answers_get_no_clear_pattern(services: Services) -> None:
    dialogue = services.dialogue
    reply = dialogue.on_command(USER, "quiz")
    for _ in range(30):
        reply = press(dialogue, USER, reply, "Not sure")
    text = render_plain(reply)
    assert "No clear pattern yet" in text
    assert not [b for b in reply.all_buttons if b.data.startswith("sec:")]


def test_back_resume_cancel_and_stale_buttons(services: Services) -> None:
    dialogue = services.dialogue
    q1 = dialogue.on_command(USER, "quiz")
    q2 = press(dialogue, USER, q1, "Like")
    assert "Question 2 of 30" in render_plain(q2)
    double = press(dialogue, USER, q1, "Like")  # the same button again: counted once
    assert double.toast is not None
    assert double.toast.startswith("Already counted")
    assert "Question 2 of 30" in render_plain(double)  # and the learner sees where they are
    back = press(dialogue, USER, q2, "◀ Back")
    assert "Question 1 of 30" in render_plain(back)
    q2 = press(dialogue, USER, back, "Dislike")
    with services.sessions() as session:
        state = queries.get_flow(session, user_key=USER, kind="interest")
        assert state is not None
        assert state.position == 1
        assert list(state.answers.values()) == ["dislike"]
    offer = dialogue.on_command(USER, "quiz")  # coming back later
    assert "1 of 30 answered" in render_plain(offer)
    resumed = press(dialogue, USER, offer, "▶ Resume")
    assert "Question 2 of 30" in render_plain(resumed)
    cancelled = press(dialogue, USER, resumed, "✖ Cancel")
    assert "cancelled" in render_plain(cancelled).lower()
    stale = press(dialogue, USER, q2, "Like")
    assert "This quiz has ended" in render_plain(stale)
    assert any(b.data == "quiz:new" for b in stale.all_buttons)


def test_two_learners_quizzes_never_mix(services: Services) -> None:
    dialogue = services.dialogue
    mine = dialogue.on_command(USER, "quiz")
    theirs = dialogue.on_command(OTHER, "quiz")
    mine = press(dialogue, USER, mine, "Like")
    stolen = press(dialogue, OTHER, mine, "Like")  # my button pressed by someone else
    assert "This quiz has ended" in render_plain(stolen) or stolen.toast
    with services.sessions() as session:
        other_state = queries.get_flow(session, user_key=OTHER, kind="interest")
        assert other_state is not None
        assert other_state.position == 0
    assert "Question 1 of 30" in render_plain(theirs)


def test_forget_removes_quiz_state_and_results(services: Services) -> None:
    dialogue = services.dialogue
    answer_all(dialogue, USER, dialogue.on_command(USER, "quiz"), like_types="R")
    dialogue.on_command(USER, "quiz")
    dialogue.on_action(USER, "quiz:new")
    dialogue.on_action(USER, "fgt:yes")
    with services.sessions() as session:
        assert queries.count_rows(session, user_key=USER)["results"] == 0
        assert queries.get_flow(session, user_key=USER, kind="interest") is None
    assert "before" not in render_plain(dialogue.on_command(USER, "quiz"))


def test_scoring_prefers_matching_codes(search: SearchServices) -> None:
    quiz = load_interest_quiz(KNOWLEDGE / "quizzes" / "interests.yaml")
    answers = {s.id: ("like" if s.type in "AE" else "dislike") for s in quiz.statements}
    result = score_interests(quiz, search.catalog, answers)
    assert result.clear
    assert result.top_types[:2] == ["A", "E"] or result.top_types[:2] == ["E", "A"]
    for match in result.careers:
        assert search.catalog.get(match.id).riasec[0] in "AE"
        assert match.why


def test_readiness_check_builds_a_plan(services: Services) -> None:
    dialogue = services.dialogue
    unknown = dialogue.on_command(USER, "ready", "astronaut")
    assert "don't know the career" in render_plain(unknown)
    reply = dialogue.on_command(USER, "ready", "nurse")
    requirements = services.search.catalog.get("registered-nurse").section("requirements")
    assert "Registered Nurse" in render_plain(reply)
    for position, requirement in enumerate(requirements.bullets):
        assert requirement in render_plain(reply)
        label = "Not yet" if position == 1 else "Yes"
        reply = press(dialogue, USER, reply, label)
    plan = render_plain(reply)
    assert "Your strengths" in plan
    assert "To work on" in plan
    assert requirements.bullets[1] in plan
    assert "Steps that help" in plan
    steps = services.search.catalog.get("registered-nurse")
    offered = [
        b
        for b in (*steps.section("getting_started").bullets, *steps.section("study").bullets)
        if b in plan
    ]
    assert offered  # the plan's steps come from Getting Started and Study
    with services.sessions() as session:
        result = queries.last_flow_result(session, user_key=USER, kind="ready")
        assert result is not None
        assert result.career == "registered-nurse"


def test_readiness_from_a_career_button_and_context(services: Services) -> None:
    dialogue = services.dialogue
    answer = dialogue.on_text(USER, "what does a paramedic do")
    check = press(dialogue, USER, answer, "✅ Am I ready?")
    assert "Paramedic" in render_plain(check)
    cancelled = press(dialogue, USER, check, "✖ Cancel")
    assert "cancelled" in render_plain(cancelled).lower()
    again = dialogue.on_command(USER, "ready")  # no argument: the career we talked about
    assert "Paramedic" in render_plain(again)


def test_broken_quiz_file_gets_a_clear_message(tmp_path: Path) -> None:
    source = (KNOWLEDGE / "quizzes" / "interests.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "interests.yaml"
    broken.write_text(source.replace("type: C", "type: Q", 1), encoding="utf-8")
    with pytest.raises(CatalogError, match="unknown type 'Q'"):
        load_interest_quiz(broken)
    data = yaml.safe_load(source)
    data["statements"] = data["statements"][:-1]
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match="has 4 statements"):
        load_interest_quiz(broken)
    broken.write_text("title: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError, match="malformed YAML"):
        load_interest_quiz(broken)


def test_a_question_mid_quiz_is_answered_and_offers_to_resume(services: Services) -> None:
    dialogue = services.dialogue
    q1 = dialogue.on_command(USER, "quiz")
    press(dialogue, USER, q1, "Like")
    answer = dialogue.on_text(USER, "what does a chef do?")
    text = render_plain(answer)
    assert "## Chef ·" in text
    assert "interest quiz is waiting for you" in text
    resumed = press(dialogue, USER, answer, "▶ Resume the interest quiz")
    assert "Question 2 of 30" in render_plain(resumed)


def test_ready_again_offers_to_resume_the_check_in_progress(services: Services) -> None:
    dialogue = services.dialogue
    first = dialogue.on_command(USER, "ready", "electrician")
    press(dialogue, USER, first, "Yes")
    again = dialogue.on_command(USER, "ready", "electrician")
    assert "in progress (1 answered)" in render_plain(again)
    resumed = press(dialogue, USER, again, "▶ Resume")
    assert "2 of" in render_plain(resumed)


def test_quiz_matches_spread_over_the_catalogue(search: SearchServices) -> None:
    """Every order of three interest types gets its five careers; together they reach most of
    the catalogue, and learners who lead with E (Persuader) get careers with E in their code."""
    import itertools

    quiz = load_interest_quiz(KNOWLEDGE / "quizzes" / "interests.yaml")
    reached: set[str] = set()
    for order in itertools.permutations("RIASEC", 3):
        liked = {order[0]: "1234", order[1]: "123", order[2]: "12"}
        answers = {
            s.id: "like" if s.id[-1] in liked.get(s.type, "") else "dislike"
            for s in quiz.statements
        }
        result = score_interests(quiz, search.catalog, answers)
        careers = [match.id for match in result.careers]
        assert len(careers) == 5
        reached |= set(careers)
        if order[0] == "E":
            assert any("E" in search.catalog.get(c).riasec for c in careers), order
    assert len(reached) >= 0.6 * len(search.catalog)
