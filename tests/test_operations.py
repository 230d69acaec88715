"""Operations under faults and load: the bot killed mid-burst, a learner flooding the chat, the
typing indicator, and a database that is locked, cut off or down.

The kill test runs `python -m bot run` as a subprocess on PTB's real HTTP stack against the fake
Bot API; the others drive the real application (queue, processor, handlers, limiter) in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update

from bot.channels.telegram import TRY_AGAIN, Application, build_application
from bot.search.engine import SearchServices
from bot.services import Services, build_services
from bot.settings import Settings
from bot.storage import db
from bot.storage.models import InboxUpdate
from tests.conftest import KNOWLEDGE, REPO, TEST_TOKEN, subprocess_env
from tests.fakebotapi import Call, FakeBotAPI, OfflineRequest
from tests.test_e2e import BotProcess
from tests.test_telegram import Chat

# Short questions with one-message answers, so "answered once" is one message per learner.
QUESTIONS = (
    "what does a nurse do",
    "how do I become a chef",
    "where do plumbers work",
    "what subjects for an electrician",
    "what does a vet do",
    "how do I become a pilot",
    "what does an accountant do",
    "where do teachers work",
)
KILL_AT = 25  # the reply being written when the bot is killed


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.mark.slow
def test_sigkill_mid_burst_every_message_is_answered_exactly_once(
    database_url: str, index_dir: Path, tmp_path: Path
) -> None:
    api = FakeBotAPI(TEST_TOKEN).start()
    bot = BotProcess(api, index_dir, database_url, tmp_path / "bot.log")
    # Replies go out a tenth of a second apart, so the kill lands while exactly one reply is on
    # the wire (recorded as sent, not yet answered by Telegram): the moment a reply could be
    # doubled. (A reply is lost only if the process dies in the instant between recording it
    # and writing it to the socket; that instant is not what this test aims at.)
    bot.env["SEND_PER_SECOND"] = "10"
    try:
        bot.start()
        replies = itertools.count(1)
        killed = threading.Event()
        answered_at_kill: list[int] = []

        def kill_mid_burst(method: str, _params: dict[str, Any]) -> None:
            if method == "sendMessage" and not killed.is_set() and next(replies) == KILL_AT:
                assert bot.process is not None
                bot.process.kill()  # SIGKILL: no clean-up of any kind
                bot.process.wait(timeout=30)
                answered_at_kill.append(len(api.replies_per_chat()))
                killed.set()

        api.on_request = kill_mid_burst
        learners = [7000 + n for n in range(100)]
        for number, learner in enumerate(learners):
            api.send_text(learner, QUESTIONS[number % len(QUESTIONS)])
        assert killed.wait(timeout=300), bot.log
        api.on_request = None
        assert answered_at_kill[0] < len(learners) // 2  # killed mid-burst

        bot.start()
        deadline = time.monotonic() + 300
        while len(api.replies_per_chat()) < len(learners) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # a reply sent twice would arrive by now
        counts = api.replies_per_chat()
        not_once = {n: counts.get(n, 0) for n in learners if counts.get(n, 0) != 1}
        if not_once:
            (tmp_path / "kept.log").write_text(bot.log)
        assert not_once == {}, f"replies per learner, where not one: {inbox_rows(database_url)}"
        assert "resuming" in bot.log
        assert bot.stop() == 0
    finally:
        if bot.process is not None and bot.process.poll() is None:
            bot.process.kill()
        api.stop()
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            still_open = connection.execute(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.state.in_(("new", "answered")))
            ).scalar_one()
        assert still_open == 0
    finally:
        engine.dispose()


def inbox_rows(database_url: str) -> list[tuple[object, ...]]:
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    InboxUpdate.update_id,
                    InboxUpdate.state,
                    InboxUpdate.sent,
                    InboxUpdate.attempts,
                    InboxUpdate.owner,
                    InboxUpdate.claimed_at,
                    InboxUpdate.received_at,
                    InboxUpdate.done_at,
                )
            ).all()
        return [tuple(row) for row in rows]
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- in-process application
@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI("unused")


async def started(services: Services, api: FakeBotAPI) -> Application:
    """The application as deployed (rate limits on), on the in-process fake transport."""
    application = build_application(services, request=OfflineRequest(api))
    await application.initialize()
    await application.start()
    return application


async def stopped(application: Application) -> None:
    await application.stop()
    await application.shutdown()


async def enqueue(application: Application, chat: Chat, text: str) -> None:
    """A message arriving, without waiting for its answer (unlike Chat.say)."""
    data = {"update_id": chat._take_update_id(), "message": chat.message(text)}
    await application.update_queue.put(Update.de_json(data, application.bot))


async def first_reply(api: FakeBotAPI, chat_id: int, after: int) -> Call:
    return await asyncio.to_thread(api.reply_to, chat_id, after=after, timeout=60)


async def test_one_flooding_learner_does_not_delay_another(
    settings: Settings, search: SearchServices, api: FakeBotAPI
) -> None:
    settings = settings.model_copy(update={"per_chat_messages_per_minute": 8})
    services = build_services(settings, search=search)
    application = await started(services, api)
    try:
        flooder, other = Chat(application, api, user_id=61), Chat(application, api, user_id=62)
        for number in range(30):  # thirty messages in well under a second
            await enqueue(application, flooder, QUESTIONS[number % len(QUESTIONS)])
        await asyncio.sleep(0.2)  # the flood is being worked on
        mark = api.mark()
        asked = time.monotonic()
        await enqueue(application, other, "what does a pharmacist do")
        reply = await first_reply(api, other.user_id, mark)
        waited = time.monotonic() - asked
        assert "Pharmacist" in reply.text
        assert waited < 1.0, f"the other learner waited {waited:.2f}s behind a flood"
        await application.update_queue.join()
        to_flooder = [c.text for c in api.replies(flooder.user_id)]
        assert sum("That's a lot of messages" in text for text in to_flooder) == 1
        assert len(to_flooder) == 8 + 1  # answered up to the limit, told once, the rest dropped
    finally:
        await stopped(application)
        services.close()


async def test_typing_indicator_only_when_an_answer_is_slow(
    services: Services, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = await started(services, api)
    try:
        chat = Chat(application, api, user_id=71)
        mark = api.mark()
        await chat.say("what does a nurse do")
        fast = [c.method for c in api.calls[mark:]]
        assert fast == ["sendMessage"]  # no round trip before the answer, no "typing…"

        answer_now = services.dialogue.on_text

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(1.6)
            return answer_now(*args, **kwargs)

        monkeypatch.setattr(services.dialogue, "on_text", slow)
        mark = api.mark()
        await chat.say("what does a chef do")
        methods = [c.method for c in api.calls[mark:]]
        assert methods == ["sendChatAction", "sendMessage"]
    finally:
        await stopped(application)


async def test_a_locked_database_asks_the_learner_to_try_again(
    settings: Settings,
    search: SearchServices,
    api: FakeBotAPI,
    sqlite_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings.model_copy(update={"database_timeout_seconds": 0.5})
    services = build_services(settings, search=search)
    application = await started(services, api)
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        chat = Chat(application, api, user_id=81)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with caplog.at_level(logging.WARNING):
            replies = await chat.say("what does a nurse do")
        assert [r.text for r in replies] == [TRY_AGAIN]
        assert any("database unavailable" in r.getMessage() for r in caplog.records)
        assert all(r.exc_info is None for r in caplog.records)  # a line, not a traceback
        blocker.execute("ROLLBACK")
        (answer,) = await chat.say("what does a nurse do")
        assert "Registered Nurse" in answer.text
    finally:
        blocker.close()
        await stopped(application)
        services.close()


class TcpProxy:
    """Loopback TCP between the bot and PostgreSQL that can cut the line (bytes swallowed both
    ways, connections left open: a network partition) or go down (connections refused)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.cut.is_set():
                    sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with_closed(end)

    def heal(self) -> None:
        """The line comes back; connections caught in the cut are reset, as TCP would."""
        for sock in self._sockets:
            with_closed(sock)
        self._sockets.clear()
        self.cut.clear()

    def down(self) -> None:
        with_closed(self.listener)  # shutdown first: it wakes the thread blocked in accept()
        self.heal()

    def close(self) -> None:
        self.down()


def with_closed(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    db.upgrade(postgres_url)  # the schema is in place before the line is cut
    tcp = TcpProxy(("127.0.0.1", 5432))
    yield tcp
    tcp.close()


@pytest.fixture
async def proxied_bot(
    proxy: TcpProxy, postgres_url: str, index_dir: Path, search: SearchServices, api: FakeBotAPI
) -> AsyncIterator[tuple[Application, Services]]:
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert url != postgres_url, "the PostgreSQL test URL must name 127.0.0.1:5432"
    settings = Settings(
        telegram_bot_token=TEST_TOKEN,  # type: ignore[arg-type]
        database_url=url,
        index_dir=index_dir,
        knowledge_dir=KNOWLEDGE,
        database_timeout_seconds=1.0,
        answer_timeout_seconds=3.0,
        _env_file=None,  # type: ignore[call-arg]
    )
    services = build_services(settings, search=search)
    application = await started(services, api)
    yield application, services
    await stopped(application)
    services.close()


@pytest.mark.postgres
async def test_a_cut_off_or_down_database_never_hangs_the_learner(
    proxied_bot: tuple[Application, Services],
    proxy: TcpProxy,
    api: FakeBotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    application, _ = proxied_bot
    chat = Chat(application, api, user_id=91)
    (answer,) = await chat.say("what does a nurse do")
    assert "Registered Nurse" in answer.text

    proxy.cut.set()  # a network partition: no error, no answer, just silence
    asked = time.monotonic()
    with caplog.at_level(logging.WARNING):
        replies = await chat.say("what does a chef do")
    assert [r.text for r in replies] == [TRY_AGAIN]
    assert time.monotonic() - asked < 15  # bounded by the timeouts, not by TCP's patience
    assert any("database unavailable" in r.getMessage() for r in caplog.records)

    proxy.heal()
    (answer,) = await chat.say("what does a chef do")
    assert "Chef" in answer.text

    proxy.down()  # the server is gone: refused at once
    replies = await chat.say("what does a plumber do")
    assert [r.text for r in replies] == [TRY_AGAIN]


def test_an_unreachable_database_at_start_is_one_line(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens here now
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=REPO,
        env=subprocess_env(DATABASE_URL=f"postgresql://bot:secret@127.0.0.1:{port}/careers"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot use the database postgresql+psycopg://bot:***@")
    assert "secret" not in result.stderr
