"""How learners really write: spelling, other languages, careers we lack, long and two-part
messages, typed answers in flows, commands with arguments, the terminal's numbers."""

from __future__ import annotations

import io
import logging
import re

import pytest
from sqlalchemy import select

from bot.channels.terminal import MAX_CHOICES, chat, choices
from bot.dialogue.replies import render_plain
from bot.dialogue.turn import take_turn
from bot.search.engine import SearchServices
from bot.search.ranker import Context
from bot.services import Services
from bot.storage import queries
from bot.storage.models import QuestionLog, User
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram import LEARNER, Chat, api, app  # noqa: F401  (fixtures)
from tests.test_telegram import chat as tg_chat  # noqa: F401

# --- names as learners write them -----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "career"),
    [
        ("i wanna b a dokter", "medical-doctor"),
        ("whr do fysios work", "physiotherapist"),
        ("grafic desing whats it about", "graphic-designer"),
        ("wat do CA's do evry day", "chartered-accountant"),
        ("hw do i bcome a pharmasist", "pharmacist"),
        ("ngifuna ukuba unesi", "registered-nurse"),
        ("ek wil n prokureur word", "attorney"),
        ("ngifuna ukuba uthisha", "teacher"),
    ],
)
def test_misspelt_and_other_language_names(
    search: SearchServices, question: str, career: str
) -> None:
    turn = take_turn(search, question, Context())
    assert turn.answer.careers == [career], render_plain(turn.reply)


def test_another_language_is_answered_in_english_and_says_so(search: SearchServices) -> None:
    text = render_plain(take_turn(search, "ngifuna ukuba unesi", Context()).reply)
    assert "I understood “unesi” as Registered Nurse" in text
    assert "English" in text


# --- careers we don't cover -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("how do i become an astronaut", "astronaut"),
        ("private investigator", "private investigator"),
        ("tattoo artist", "tattoo artist"),
        ("i want to become a zookeeper one day", "zookeeper"),
    ],
)
def test_a_career_we_lack_is_named_back_never_answered_as_another(
    search: SearchServices, question: str, name: str
) -> None:
    turn = take_turn(search, question, Context())
    assert turn.answer.kind == "clarify"
    text = render_plain(turn.reply)
    assert f"I don't have a profile for “{name}” yet" in text
    assert [b for b in turn.reply.all_buttons if b.data.startswith("sec:")]  # nearest ones


def test_requests_for_missing_careers_are_logged_for_staff(services: Services) -> None:
    services.dialogue.on_text("tg:41", "how do i become an astronaut")
    with services.sessions() as session:
        row = session.scalars(select(QuestionLog)).one()
    assert row.outcome == "uncovered"
    assert "astronaut" in row.question


# --- long and two-part messages -------------------------------------------------------------


def test_a_long_story_keeps_the_career_named_at_the_end(search: SearchServices) -> None:
    story = (
        "so my whole life i have been looking after my granny because she is sick and my mom "
        "works in joburg, i cook and clean and take her to the clinic every month and i watch "
        "how the sisters there treat everyone with so much patience even when the queue is "
        "long and people shout at them. my teachers say my marks are good, i got 70s for life "
        "sciences and english but maths is hard for me. my uncle says i must go work at the "
        "mine like him but i dont think thats for me. i also help at church on sundays with "
        "the small kids. anyway i have been thinking about it a lot and i have decided, "
        "so what must i do to become a nurse"
    )
    assert len(story) > 600
    turn = take_turn(search, story, Context(), max_chars=500)
    assert turn.answer.careers == ["registered-nurse"]


def test_two_questions_in_one_get_both_parts(search: SearchServices) -> None:
    turn = take_turn(search, "what does a dentist do and where do i study it?", Context())
    text = render_plain(turn.reply)
    assert re.search(r"## Dentist · (Tasks|Overview)", text)
    assert "## Dentist · Study Programmes" in text


# --- typed answers inside flows -------------------------------------------------------------


def test_typed_answers_act_as_quiz_buttons(services: Services) -> None:
    dialogue = services.dialogue
    dialogue.on_command("tg:42", "quiz")
    second = render_plain(dialogue.on_text("tg:42", "like"))
    assert "Question 2 of 30" in second
    assert "Question 3 of 30" in render_plain(dialogue.on_text("tg:42", "nope"))
    assert "Question 4 of 30" in render_plain(dialogue.on_text("tg:42", "not sure"))
    assert "Question 3 of 30" in render_plain(dialogue.on_text("tg:42", "back"))
    # A real question in the middle is answered, and the quiz waits.
    asked = render_plain(dialogue.on_text("tg:42", "yes but what does a chef do"))
    assert "Chef ·" in asked
    assert "waiting for you" in asked
    assert "Quiz cancelled" in render_plain(dialogue.on_text("tg:42", "stop"))
    with services.sessions() as session:
        assert queries.get_flow(session, user_key="tg:42", kind="interest") is None


def test_typed_answers_in_the_readiness_check(services: Services) -> None:
    dialogue = services.dialogue
    dialogue.on_command("tg:43", "ready", "nurse")
    assert "2 of" in render_plain(dialogue.on_text("tg:43", "ya"))
    assert "3 of" in render_plain(dialogue.on_text("tg:43", "somewhat"))
    assert "4 of" in render_plain(dialogue.on_text("tg:43", "not yet"))
    cancelled = render_plain(dialogue.on_command("tg:43", "cancel"))
    assert "/ready" in cancelled
    assert "/quiz" not in cancelled


def test_readiness_plan_follows_the_learners_timeline(services: Services) -> None:
    plan = services.dialogue.flows.readiness_plan(
        "registered-nurse", {str(i): "n" for i in range(6)}
    )
    steps = [step.step.lower() for step in plan.steps]
    school = [i for i, s in enumerate(steps) if "grade" in s]
    service = [i for i, s in enumerate(steps) if "community service" in s]
    if school and service:
        assert max(school) < min(service), steps


# --- commands and Telegram events -----------------------------------------------------------


async def test_command_arguments_on_a_new_line(tg_chat: Chat) -> None:  # noqa: F811
    (reply,) = await tg_chat.say("/ready\nnurse")
    assert "Readiness check: Registered Nurse" in reply.text


async def test_photo_caption_is_answered_as_a_question(tg_chat: Chat) -> None:  # noqa: F811
    photo = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    (reply,) = await tg_chat.feed(
        {"message": tg_chat.message(photo=photo, caption="what does a nurse do?")}
    )
    assert "Registered Nurse" in reply.text


async def test_forged_feedback_id_changes_nothing(tg_chat: Chat) -> None:  # noqa: F811
    calls = await tg_chat.press("fb:99999999999999999999:1")
    assert all("went wrong" not in call.text for call in calls)


async def test_a_learner_who_blocked_the_bot_is_not_an_error(
    tg_chat: Chat,  # noqa: F811
    api: FakeBotAPI,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.fail_next("sendMessage", "403")
    with caplog.at_level(logging.INFO):
        await tg_chat.say("what does a plumber do?")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("blocked" in r.getMessage() for r in caplog.records)
    services = tg_chat.app.bot_data.services
    with services.sessions() as session:  # marked inactive; writing again clears it
        user = session.get(User, f"tg:{tg_chat.user_id}")
        assert user is not None
        assert user.blocked_at is not None
    await tg_chat.say("what does a chef do?")
    with services.sessions() as session:
        user = session.get(User, f"tg:{tg_chat.user_id}")
        assert user is not None
        assert user.blocked_at is None


# --- the terminal ---------------------------------------------------------------------------


def test_terminal_numbers_are_stable_unique_and_few(services: Services) -> None:
    dialogue = services.dialogue
    first = choices(dialogue.on_text("term:t", "how do i become a vet"))
    second = choices(dialogue.on_text("term:t", "and where do they work"))
    for buttons in (first, second):
        assert len(buttons) <= MAX_CHOICES
        assert len({b.data for b in buttons}) == len(buttons)
        assert [b.label for b in buttons][-2:] == ["👍 Helpful", "👎 Not helpful"]


def test_terminal_unknown_number_says_so(services: Services) -> None:
    out = io.StringIO()
    chat(services.dialogue, stdin=io.StringIO("what does a chef do\n42\n"), stdout=out, user="u")
    assert "There is no button 42" in out.getvalue()


LEARNER_ID = LEARNER


# --- the staff report -----------------------------------------------------------------------


def test_staff_report_lists_what_learners_missed(services: Services) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.report import render

    dialogue = services.dialogue
    dialogue.on_text("tg:51", "how do i become an astronaut")
    dialogue.on_text("tg:52", "how do i become an astronaut?")
    dialogue.on_text("tg:51", "who won the rugby last night")
    dialogue.on_text("tg:53", "i want to kill myself")
    answered = dialogue.on_text("tg:54", "what does a plumber do every day")
    thumbs_down = next(b for b in answered.all_buttons if b.label.startswith("👎"))
    dialogue.on_action("tg:54", thumbs_down.data)

    report = dialogue.report(datetime.now(UTC) - timedelta(days=1), services.search.embedder)
    assert report.uncovered == [("astronaut", 2)]
    assert ("plumber", "tasks", 1) in report.disliked
    assert report.support == [("suicide", 1)]
    assert any("rugby" in question for question, _ in report.unserved)
    text = render(report, "md", dialogue.titles())
    assert "2 × astronaut" in text
    assert "Plumber · tasks" in text
    assert "kill myself" not in text  # never the words of a learner in distress
    csv_text = render(report, "csv", dialogue.titles())
    assert csv_text.splitlines()[0] == "what,item,count"
    assert "missing career,astronaut,2" in csv_text


def test_report_since_is_validated() -> None:
    from datetime import UTC, datetime

    from bot.report import parse_since

    now = datetime(2026, 11, 27, tzinfo=UTC)
    assert (now - parse_since("7d", now)).days == 7
    assert (now - parse_since("24h", now)).days == 1
    with pytest.raises(ValueError, match="--since"):
        parse_since("last week", now)


def test_a_partial_name_follows_the_last_career(search: SearchServices) -> None:
    civil = take_turn(search, "what does a civil engineer do", Context())
    turn = take_turn(search, "what about electrical", civil.context)
    assert turn.answer.careers == ["electrical-engineer"]


def test_study_answers_point_to_the_funding_guides(services: Services) -> None:
    dialogue = services.dialogue
    study = dialogue.on_text("tg:61", "what must i study to become a pharmacist")
    assert "NSFAS and bursary guides" in render_plain(study)
    nsfas = next(b for b in study.all_buttons if "NSFAS" in b.label)
    guide = render_plain(dialogue.on_action("tg:61", nsfas.data))
    assert "R350 000" in guide
