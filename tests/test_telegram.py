"""The real python-telegram-bot Application, driven with built updates and no network."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update

from bot.channels.telegram import APOLOGY, Application, build_application
from bot.services import Services
from bot.storage import queries
from tests.fakebotapi import Call, FakeBotAPI, OfflineRequest

LEARNER = 501


class Chat:
    """A learner talking to one Application through built updates."""

    def __init__(self, app: Application, api: FakeBotAPI, user_id: int = LEARNER) -> None:
        self.app, self.api, self.user_id = app, api, user_id
        self._next_update = 1
        self._next_message = 1

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "Thandi"}

    async def feed(self, data: dict[str, Any]) -> list[Call]:
        data.setdefault("update_id", self._take_update_id())
        before = len(self.api.calls)
        # The real path: the durable queue (stored, or skipped as a redelivery), then PTB's
        # fetcher and our processor; join() returns once the update is handled.
        await self.app.update_queue.put(Update.de_json(data, self.app.bot))
        await self.app.update_queue.join()
        return [
            c for c in self.api.calls[before:] if c.method in ("sendMessage", "editMessageText")
        ]

    def _take_update_id(self) -> int:
        self._next_update += 1
        return self.user_id * 1000 + self._next_update

    def message(
        self, text: str | None = None, chat_type: str = "private", **extra: Any
    ) -> dict[str, Any]:
        self._next_message += 1
        chat_id = self.user_id if chat_type == "private" else -100
        message: dict[str, Any] = {
            "message_id": self._next_message,
            "date": 1_764_000_000,
            "chat": {"id": chat_id, "type": chat_type},
            "from": self._user(),
            **extra,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return message

    async def say(self, text: str) -> list[Call]:
        return await self.feed({"message": self.message(text)})

    async def press(self, data: str, on: Call | None = None) -> list[Call]:
        return await self.feed(
            {
                "callback_query": {
                    "id": f"cb{self._take_update_id()}",
                    "from": self._user(),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": int((on.params.get("_message_id") if on else 1) or 1),
                        "date": 1_764_000_000,
                        "chat": {"id": self.user_id, "type": "private"},
                        "from": {"id": 4242, "is_bot": True, "first_name": "Bot"},
                        "text": on.text if on else "…",
                    },
                }
            }
        )


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI("unused")


@pytest.fixture
async def app(services: Services, api: FakeBotAPI) -> AsyncIterator[Application]:
    application = build_application(services, request=OfflineRequest(api), rate_limit=False)
    await application.initialize()
    await application.start()
    yield application
    await application.stop()
    await application.shutdown()


@pytest.fixture
def chat(app: Application, api: FakeBotAPI) -> Chat:
    return Chat(app, api)


def labels(call: Call) -> list[str]:
    return [b["text"] for b in call.buttons]


async def test_start_welcomes_with_buttons(chat: Chat) -> None:
    (reply,) = await chat.say("/start")
    assert "careers guide" in reply.text.lower()
    assert reply.params["parse_mode"] == "HTML"
    assert any("Ask a question" in label for label in labels(reply))
    assert any("Browse careers" in label for label in labels(reply))
    assert any("quiz" in label.lower() for label in labels(reply))


async def test_help_lists_examples_and_commands(chat: Chat) -> None:
    (reply,) = await chat.say("/help")
    for command in ("/careers", "/quiz", "/ready", "/privacy", "/forget"):
        assert command in reply.text


async def test_question_gets_section_with_buttons_then_button_and_follow_up(chat: Chat) -> None:
    (answer,) = await chat.say("what does a plumber do every day?")
    assert "<b>Plumber · Tasks</b>" in answer.text
    assert len(answer.text) < 4096
    assert {"Overview", "Requirements", "Employment", "Getting started", "Study"} <= set(
        labels(answer)
    )
    assert any(label.startswith("↗") for label in labels(answer))  # related careers
    assert "👍 Helpful" in labels(answer)

    (study,) = await chat.press(answer.button("Study"), on=answer)
    assert study.method == "editMessageText"
    assert "Plumber · Study Programmes" in study.text

    (follow,) = await chat.say("and what about an electrician?")
    assert "Electrician · Study Programmes" in follow.text


async def test_user_text_is_escaped_in_html(chat: Chat) -> None:
    (reply,) = await chat.say("/ready <script>alert('x')</script> & co")
    assert "<script>" not in reply.text
    assert "&lt;script&gt;" in reply.text
    assert "&amp; co" in reply.text


async def test_off_topic_and_small_talk(chat: Chat) -> None:
    (declined,) = await chat.say("who won the rugby on saturday")
    assert "only help with careers" in declined.text
    assert any("Browse careers" in label for label in labels(declined))
    (hello,) = await chat.say("hello!")
    assert "Hi!" in hello.text


async def test_low_confidence_offers_did_you_mean(chat: Chat) -> None:
    (reply,) = await chat.say("what does a therapist do")
    assert "Did you mean" in reply.text
    assert reply.buttons[0]["callback_data"].startswith("sec:")


async def test_browse_careers_by_field_with_pages(chat: Chat) -> None:
    (fields,) = await chat.say("/careers")
    assert "Pick a field" in fields.text
    (it,) = await chat.press(fields.button("Information Technology"), on=fields)
    assert "Careers 1/2" in it.text
    (page2,) = await chat.press(it.button("Next"), on=it)
    assert "Careers 2/2" in page2.text
    (career,) = await chat.press(page2.buttons[0]["callback_data"], on=page2)
    assert "· Overview" in career.text
    assert "Tasks" in labels(career)


async def test_feedback_is_stored_once(chat: Chat, services: Services) -> None:
    (answer,) = await chat.say("how do I become a pharmacist")
    await chat.press(answer.button("Helpful"), on=answer)
    await chat.press(answer.button("Helpful"), on=answer)
    toasts = [c.params.get("text") for c in chat.api.calls if c.method == "answerCallbackQuery"]
    assert toasts[-2:] == ["Thanks for the feedback!", "Already noted 👍"]
    with services.sessions() as session:
        assert queries.count_rows(session, user_key=f"tg:{LEARNER}")["feedback"] == 1


async def test_forget_deletes_everything_after_confirming(chat: Chat, services: Services) -> None:
    await chat.say("what does a chef do")
    await chat.say("/quiz")
    (privacy,) = await chat.say("/privacy")
    assert "deleted after" in privacy.text
    (confirm,) = await chat.say("/forget")
    assert "Are you sure" in confirm.text
    (kept,) = await chat.press("fgt:no", on=confirm)
    assert "nothing was deleted" in kept.text
    with services.sessions() as session:
        assert queries.count_rows(session, user_key=f"tg:{LEARNER}")["questions"] == 1
    (done,) = await chat.press(confirm.button("Yes"), on=confirm)
    assert "deleted everything" in done.text
    with services.sessions() as session:
        counts = queries.count_rows(session, user_key=f"tg:{LEARNER}")
    assert counts == {"questions": 0, "feedback": 0, "flows": 0, "results": 0, "user": 0}
    (fresh,) = await chat.say("and what do they study?")  # context is gone too
    assert "Which career do you mean" in fresh.text


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "u",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "only read text",
        ),
        (
            {"photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]},
            "only read text",
        ),
        ({"voice": {"file_id": "v", "file_unique_id": "u", "duration": 2}}, "only read text"),
    ],
)
async def test_media_gets_a_text_only_reply(
    chat: Chat, extra: dict[str, Any], expect: str
) -> None:
    (reply,) = await chat.feed({"message": chat.message(None, **extra)})
    assert expect in reply.text


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("😀😀😀", "read words best"),
        ("<b>nurse</b> & skills", "Registered Nurse"),
        ("x" * 5000, "long message"),
        ("Ngifuna ukuba ngudokotela", "English"),
    ],
)
async def test_odd_text_gets_a_sensible_reply(chat: Chat, text: str, expect: str) -> None:
    (reply,) = await chat.say(text)
    assert expect in reply.text
    assert len(reply.text) <= 4096


async def test_group_chatter_and_edits_are_ignored_on_purpose(chat: Chat) -> None:
    assert await chat.feed({"message": chat.message("what does a nurse do", "group")}) == []
    edited = chat.message("what does a nurse do")
    assert await chat.feed({"edited_message": edited}) == []
    (pointer,) = await chat.feed({"message": chat.message("/start", "group")})
    assert "private chat" in pointer.text


async def test_redelivered_update_is_answered_once(chat: Chat) -> None:
    update = {"update_id": 777001, "message": chat.message("what does a geologist do")}
    first = await chat.feed(dict(update))
    second = await chat.feed(dict(update))
    assert len(first) == 1
    assert second == []


async def test_handler_error_is_logged_and_learner_gets_apology(
    chat: Chat,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(services.dialogue, "on_text", broken)
    with caplog.at_level(logging.ERROR):
        replies = await chat.say("what does a vet do")
    assert [r.text for r in replies] == [APOLOGY]
    record = next(r for r in caplog.records if r.name == "bot.channels.telegram")
    assert record.exc_info is not None
    assert "database on fire" in str(record.exc_info[1])


async def test_stats_only_for_admins(services: Services, api: FakeBotAPI) -> None:
    services.settings = services.settings.model_copy(update={"admin_user_ids": frozenset({42})})
    application = build_application(services, request=OfflineRequest(api), rate_limit=False)
    await application.initialize()
    await application.start()
    try:
        learner, admin = Chat(application, api, user_id=41), Chat(application, api, user_id=42)
        await learner.say("what does a nurse do")
        await learner.say("what does a nurse do")
        (refused,) = await learner.say("/stats")  # not for learners
        assert "I don't know /stats" in refused.text
        (stats,) = await admin.say("/stats")
        assert "2 questions" in stats.text
        assert "Registered Nurse: 2 questions" in stats.text
    finally:
        await application.stop()
        await application.shutdown()


async def test_retention_job_deletes_old_questions(
    app: Application, chat: Chat, services: Services
) -> None:
    from datetime import timedelta

    from sqlalchemy import update
    from telegram.ext import CallbackContext

    from bot.channels.telegram import purge_old_rows
    from bot.storage.models import QuestionLog, utcnow

    await chat.say("what does a chef do")
    with services.sessions.begin() as session:
        session.execute(update(QuestionLog).values(asked_at=utcnow() - timedelta(days=400)))
    await chat.say("what does a plumber do")
    await purge_old_rows(CallbackContext(app))
    with services.sessions() as session:
        assert queries.count_rows(session, user_key=f"tg:{LEARNER}")["questions"] == 1


async def test_private_chats_are_rate_limited_per_chat() -> None:
    import asyncio
    import time

    from bot.channels.telegram import PacedRateLimiter
    from bot.storage.ratelimit import LocalPace

    limiter = PacedRateLimiter(LocalPace(1000.0))  # the bot's pace is no limit here
    await limiter.initialize()
    sent: list[float] = []

    async def send() -> bool:
        sent.append(time.monotonic())
        return True

    started = time.monotonic()
    await asyncio.gather(
        *(
            limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 7}, None)
            for _ in range(5)
        )
    )
    await limiter.shutdown()
    assert len(sent) == 5
    # Three go at once, the rest wait for the chat's budget (a lower bound never flakes).
    assert sent[-1] - started >= 0.5


def test_flood_guard_forgets_quiet_learners(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.channels.telegram as telegram_module
    from bot.channels.telegram import FloodGuard

    monkeypatch.setattr(telegram_module, "PRUNE_ABOVE", 5)
    guard = FloodGuard(per_minute=2)
    clock = [1000.0]
    monkeypatch.setattr(telegram_module.time, "monotonic", lambda: clock[0])
    for user in range(6):
        assert guard.allow(user) is True
    clock[0] += 61  # a minute later all of them are quiet
    assert guard.allow(99) is True
    assert len(guard._seen) <= 2  # the quiet ones were forgotten, memory stays bounded
    assert guard.allow(99) is True
    assert guard.allow(99) is None  # over the limit: warned once
    assert guard.allow(99) is False
