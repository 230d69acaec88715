"""Safeguarding: distress is recognised before anything else and answered with care and help
numbers, in plain chat, mid-dialogue, mid-quiz, mid-readiness check, in every channel."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.catalog import CatalogError
from bot.channels.terminal import chat as terminal_chat
from bot.dialogue.replies import render_plain
from bot.dialogue.turn import take_turn
from bot.search.engine import SearchServices
from bot.search.ranker import Context
from bot.services import Services
from bot.storage.models import QuestionLog
from bot.support import load_language, load_support
from tests.conftest import KNOWLEDGE, REPO
from tests.test_telegram import Chat, api, app, chat  # noqa: F401  (fixtures)

DATA = REPO / "tests" / "data" / "safeguarding.jsonl"
HELP_NUMBER = re.compile(r"0800 567 567|\b116\b|0800 428 428|0800 456 789|0800 12 13 14|\b112\b")
CAREER_TITLE = re.compile(r"^## .+ · ", re.MULTILINE)


def labelled() -> list[dict[str, str]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


DISTRESS = [item for item in labelled() if item["kind"] == "support"]
FALSE_ALARMS = [item["q"] for item in labelled() if item["kind"] == "not_support"]

# The phrasings named in the issue: each must get a normal answer.
ISSUE_FALSE_ALARMS = [
    "i'm dying to become a doctor",
    "how do i kill a process in linux",
    "any tips for a killer portfolio",
    "do nurses care for dying patients",
    "forensic pathologists and dead bodies",
    "how do i shoot a music video",
]


def test_the_labelled_set_is_big_and_varied() -> None:
    assert len(DISTRESS) >= 80
    assert len(FALSE_ALARMS) >= 30
    assert sum(item["level"] == "crisis" for item in DISTRESS) >= 60
    assert len({item["topic"] for item in DISTRESS}) >= 10


@pytest.fixture(scope="module")
def kinds_seen(search: SearchServices) -> dict[str, tuple[str, str | None, bool]]:
    """What each labelled message gets through the turn: kind, topic, and if it was a crisis."""
    seen = {}
    for item in labelled():
        turn = take_turn(search, item["q"], Context())
        topic = turn.answer.intent if turn.answer.outcome == "support" else None
        crisis = bool(topic) and search.distress.content.topics[str(topic)].level == "crisis"
        seen[item["q"]] = (turn.answer.kind, topic, crisis)
    return seen


def test_distress_recall_and_false_alarms(
    kinds_seen: dict[str, tuple[str, str | None, bool]],
) -> None:
    missed = [item["q"] for item in DISTRESS if kinds_seen[item["q"]][0] != "support"]
    crisis = [item["q"] for item in DISTRESS if item["level"] == "crisis"]
    crisis_missed = [q for q in crisis if q in missed]
    assert len(missed) / len(DISTRESS) <= 0.05, missed
    assert len(crisis_missed) / len(crisis) <= 0.04, crisis_missed
    # A crisis is told apart from stress: the numbers come first for nearly every one.
    as_stress = [q for q in crisis if q not in missed and not kinds_seen[q][2]]
    assert len(as_stress) / len(crisis) <= 0.1, as_stress
    # These are the hardest career questions we could write; plain ones are tested below.
    alarms = [q for q in FALSE_ALARMS if kinds_seen[q][0] == "support"]
    assert len(alarms) / len(FALSE_ALARMS) <= 0.1, alarms


def test_plain_career_questions_never_raise_an_alarm(search: SearchServices) -> None:
    questions = [
        json.loads(line)["q"]
        for line in (REPO / "tests" / "data" / "questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    alarms = [q for q in questions + ISSUE_FALSE_ALARMS if search.distress.detect(q) is not None]
    assert alarms == []


@pytest.mark.parametrize("item", DISTRESS, ids=lambda item: item["q"][:40])
def test_every_distress_reply_is_care_not_careers(
    search: SearchServices, item: dict[str, str]
) -> None:
    """Through the turn every channel uses, after a career answer set the context."""
    turn = take_turn(search, item["q"], Context(career="registered-nurse", section="study"))
    if turn.answer.outcome != "support":  # the few misses are bounded by the recall test
        pytest.skip("not recognised (counted in the recall test)")
    text = render_plain(turn.reply)
    assert HELP_NUMBER.search(text), text
    assert not CAREER_TITLE.search(text)
    assert "Did you mean" not in text
    assert not [b for b in turn.reply.all_buttons if b.data.startswith(("quiz", "rdy", "sec"))]
    assert turn.context == Context(career="registered-nurse", section="study")  # untouched
    assert len(text) < 1500  # short enough for a phone


def test_crisis_reply_puts_numbers_first_and_says_not_your_fault(search: SearchServices) -> None:
    turn = take_turn(search, "my stepdad beats me when hes drunk", Context())
    text = render_plain(turn.reply)
    assert turn.answer.kind == "support"
    assert "not your fault" in text
    assert text.index("116") < text.index("trusted adult")
    first_block = turn.reply.blocks[0].text
    assert "glad you told me" in first_block
    assert turn.reply.buttons == []  # nothing to tap away to

    suicidal = render_plain(take_turn(search, "i want to end my life tonight", Context()).reply)
    assert "0800 567 567" in suicidal
    assert "31393" in suicidal


def test_stress_reply_is_kind_and_offers_the_way_back(search: SearchServices) -> None:
    turn = take_turn(search, "im so stressed about matric i cant sleep", Context())
    assert turn.answer.kind == "support"
    text = render_plain(turn.reply)
    assert "0800 456 789" in text
    assert "career question" in text
    assert [b.data for b in turn.reply.all_buttons] == ["menu:ask"]


@pytest.mark.parametrize("question", ISSUE_FALSE_ALARMS)
def test_career_talk_that_sounds_like_distress_gets_a_normal_answer(
    search: SearchServices, question: str
) -> None:
    turn = take_turn(search, question, Context())
    assert turn.answer.kind != "support"
    assert not HELP_NUMBER.search(render_plain(turn.reply))


def test_distress_said_after_a_career_question_is_still_caught(search: SearchServices) -> None:
    long_message = (
        "hi so i was reading about engineering and it looks interesting, my teacher says im good "
        "at maths and science and i should apply to wits next year. "
    ) * 4 + "but honestly none of it matters because i just want to die"
    assert len(long_message) > 500  # past the question limit: distress is read in the whole
    turn = take_turn(search, long_message, Context(), max_chars=500)
    assert turn.answer.kind == "support"
    assert turn.answer.intent == "suicide"


def test_shorthand_is_expanded_from_content() -> None:
    language = load_language(KNOWLEDGE / "language.yaml")
    assert language.expand("i wanna kms 2nite") == "i want to kill myself tonight"
    assert language.expand("i like maths n science") == "i like maths and science"
    # After an apostrophe a letter is part of a word: Afrikaans "'n" is "a", not "and".
    assert language.expand("hoe word ek 'n verpleegster") == "hoe word ek 'n verpleegster"


# --- the dialogue: storage, privacy, flows --------------------------------------------------


def test_distress_text_is_never_stored_only_counted(services: Services) -> None:
    dialogue = services.dialogue
    dialogue.on_text("tg:9", "what does a nurse do")
    reply = dialogue.on_text("tg:9", "my boyfriend hits me when hes angry")
    assert HELP_NUMBER.search(render_plain(reply))
    with services.sessions() as session:
        rows = session.scalars(select(QuestionLog).order_by(QuestionLog.id)).all()
    assert [row.outcome for row in rows] == ["answer", "support"]
    assert rows[1].question == ""
    assert "hits me" not in " ".join(row.question for row in rows)
    assert "never store what you wrote" in render_plain(dialogue.on_command("tg:9", "privacy"))


def test_mid_readiness_check_distress_pauses_it_and_loses_nothing(services: Services) -> None:
    dialogue = services.dialogue
    started = dialogue.on_command("tg:10", "ready", "nurse")
    first = next(b for b in started.all_buttons if b.label.startswith("Yes"))
    dialogue.on_action("tg:10", first.data)
    with services.sessions() as session:
        from bot.storage import queries

        before = queries.get_flow(session, user_key="tg:10", kind="ready")
        assert before is not None
        position = before.position

    care = dialogue.on_text("tg:10", "i cant do this anymore i want to disappear forever")
    text = render_plain(care)
    assert HELP_NUMBER.search(text)
    assert "waiting for you" not in text  # not offered while they are in distress
    assert not care.all_buttons

    back = dialogue.on_text("tg:10", "what does a paramedic do?")
    assert "waiting for you" in render_plain(back)
    with services.sessions() as session:
        after = queries.get_flow(session, user_key="tg:10", kind="ready")
        assert after is not None
        assert after.position == position


async def test_mid_quiz_through_the_real_telegram_handlers(chat: Chat) -> None:  # noqa: F811
    (first,) = await chat.say("/quiz")
    await chat.press(first.button("Like"), on=first)
    (care,) = await chat.say("tbh i think evry1 wld be better off without me")
    assert "0800 567 567" in care.text
    assert care.params["parse_mode"] == "HTML"
    assert not [b for b in care.buttons if b["callback_data"].startswith("quiz")]
    assert "waiting for you" not in care.text

    (answer,) = await chat.say("what does a chef do?")
    assert "Chef ·" in answer.text
    assert "waiting for you" in answer.text
    (resumed,) = await chat.press(answer.button("Resume"), on=answer)
    assert "Question 2 of 30" in resumed.text


async def test_after_a_career_answer_on_telegram(chat: Chat) -> None:  # noqa: F811
    (nurse,) = await chat.say("how do i become a nurse")
    assert "Registered Nurse" in nurse.text
    (care,) = await chat.say("i want to kill myself")
    assert "Registered Nurse" not in care.text
    assert "0800 567 567" in care.text
    (follow,) = await chat.say("and what must i study?")
    assert "Registered Nurse · Study" in follow.text  # the career context survived


def test_terminal_chat_answers_distress_with_numbers(services: Services) -> None:
    script = "what does an electrician do\nmy uncle touches me at night and says its a secret\n"
    out = io.StringIO()
    terminal_chat(services.dialogue, stdin=io.StringIO(script), stdout=out, user="t")
    text = out.getvalue()
    after = text.split("touches me", 1)[1]
    assert "116" in after
    assert "Electrician ·" not in after


# --- content validation ---------------------------------------------------------------------


def test_support_content_is_valid_and_verified() -> None:
    content = load_support(KNOWLEDGE / "support.yaml")
    assert {"crisis", "stress"} == set(content.levels)
    numbers = {helpline.number for helpline in content.helplines.values()}
    assert {"0800 567 567", "116", "0800 428 428", "112", "10111"} <= numbers
    for helpline in content.helplines.values():
        assert helpline.source
        assert helpline.last_verified
    assert all(topic.helplines for topic in content.topics.values())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("helplines: [childline, gbv, police, emergency]", "helplines: [childline, nope]"),
            "unknown helpline 'nope'",
        ),
        (('    number: "116"', '    number: "one one six"'), "helplines.childline.number"),
        (('level: crisis\n    line: "No one', 'level: panic\n    line: "No one'), "level"),
        (
            ("last_verified: 2026-11-27\n\nhelplines:", "last_verified: someday\n\nhelplines:"),
            "last_verified",
        ),
    ],
)
def test_broken_support_file_names_file_and_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    target = tmp_path / "support.yaml"
    source = (KNOWLEDGE / "support.yaml").read_text(encoding="utf-8")
    assert change[0] in source
    target.write_text(source.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(CatalogError) as error:
        load_support(target)
    message = str(error.value)
    assert expected in message
    assert re.match(rf"{re.escape(str(target))}:\d+: ", message), message


def test_stale_help_lines_are_reported() -> None:
    from datetime import date

    content = load_support(KNOWLEDGE / "support.yaml")
    assert content.stale(content.last_verified) == []
    later = date(content.last_verified.year + 1, content.last_verified.month, 1)
    assert any("helplines." in problem for problem in content.stale(later))


def test_missing_support_file_is_a_clear_error(tmp_path: Path) -> None:
    shutil.copytree(KNOWLEDGE, tmp_path / "k")
    (tmp_path / "k" / "support.yaml").unlink()
    with pytest.raises(CatalogError, match=r"support\.yaml: file not found"):
        load_support(tmp_path / "k" / "support.yaml")


def test_after_care_a_typed_yes_is_not_taken_as_a_quiz_answer(services: Services) -> None:
    dialogue = services.dialogue
    dialogue.on_command("tg:12", "quiz")
    dialogue.on_text("tg:12", "like")
    dialogue.on_text("tg:12", "i cant do this anymore i want to disappear forever")
    after = render_plain(dialogue.on_text("tg:12", "ok"))
    assert "Question 3 of 30" not in after
    with services.sessions() as session:
        from bot.storage import queries

        state = queries.get_flow(session, user_key="tg:12", kind="interest")
        assert state is not None
        assert state.position == 1  # the paused quiz lost nothing and moved nothing
