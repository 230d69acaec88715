"""End to end: `python -m bot run` as a subprocess, on PTB's real HTTP stack, against a fake
Telegram Bot API on loopback. A learner chats, presses buttons, takes the quiz across a restart.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_TOKEN, subprocess_env
from tests.fakebotapi import FakeBotAPI

pytestmark = pytest.mark.slow
LEARNER = 9001
WEBHOOK_SECRET = "e2e-secret_value-123"


class BotProcess:
    def __init__(self, api: FakeBotAPI, index_dir: Path, database_url: str, log: Path) -> None:
        self.api, self.log_path = api, log
        self.env = subprocess_env(
            TELEGRAM_BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_BASE_URL=api.base_url,
            TELEGRAM_TIMEOUT_SECONDS="2",
            DATABASE_URL=database_url,
            INDEX_DIR=str(index_dir),
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            LOG_LEVEL="DEBUG",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        mark = self.api.mark()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=REPO,
                env=self.env,
                stderr=log,
                stdout=log,
            )
        try:
            self.api.wait_for(lambda c: c.method == "getUpdates", after=mark, timeout=240)
        except AssertionError:
            self.stop()
            raise AssertionError("bot did not start:\n" + self.log_path.read_text()) from None

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    fake = FakeBotAPI(TEST_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def bot(api: FakeBotAPI, index_dir: Path, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(api, index_dir, f"sqlite:///{tmp_path / 'bot.db'}", tmp_path / "bot.log")
    process.start()
    yield process
    if process.process is not None and process.process.poll() is None:
        process.stop()


def test_learner_conversation_over_http(api: FakeBotAPI, bot: BotProcess) -> None:
    mark = api.mark()
    api.send_text(LEARNER, "/start")
    welcome = api.reply_to(LEARNER, after=mark, contains="careers guide")
    assert welcome.params["parse_mode"] == "HTML"

    mark = api.mark()
    api.send_text(LEARNER, "what does a plumber do every day?")
    answer = api.reply_to(LEARNER, after=mark, contains="Plumber · Tasks")

    mark = api.mark()
    api.press(LEARNER, answer.button("Study"), on=answer)
    study = api.reply_to(LEARNER, after=mark, contains="Plumber · Study Programmes")
    assert study.method == "editMessageText"

    mark = api.mark()
    api.send_text(LEARNER, "and what about an electrician?")
    api.reply_to(LEARNER, after=mark, contains="Electrician · Study Programmes")

    mark = api.mark()
    api.send_text(LEARNER, "what's the weather like in Durban?")
    api.reply_to(LEARNER, after=mark, contains="only help with careers")

    mark = api.mark()
    api.send_text(LEARNER, "/forget")
    confirm = api.reply_to(LEARNER, after=mark, contains="Are you sure")
    mark = api.mark()
    api.press(LEARNER, confirm.button("Yes"), on=confirm)
    api.reply_to(LEARNER, after=mark, contains="deleted everything")

    assert bot.stop() == 0
    assert "stopped cleanly" in bot.log
    assert TEST_TOKEN not in bot.log
    assert TEST_TOKEN.split(":")[1] not in bot.log
    assert WEBHOOK_SECRET not in bot.log


def test_faults_from_the_bot_api_do_not_kill_the_bot(api: FakeBotAPI, bot: BotProcess) -> None:
    # 429 with retry_after: the rate limiter waits and retries; the learner still gets the answer.
    api.fail_next("sendMessage", "429")
    mark = api.mark()
    api.send_text(LEARNER, "what does a pharmacist do")
    api.reply_to(LEARNER, after=mark, contains="Pharmacist ·")
    assert api.count("sendMessage!429") == 1

    # A 502 while polling, and a dropped connection: polling carries on.
    api.fail_next("getUpdates", "502")
    api.fail_next("getUpdates", "drop")
    mark = api.mark()
    api.send_text(LEARNER, "dentist employers")
    api.reply_to(LEARNER, after=mark, contains="Dentist · Employment")

    # A 502 and a timeout on sending: logged, the learner gets an apology, the bot lives on.
    for fault in ("502", "slow"):
        api.fail_next("sendMessage", fault)
        mark = api.mark()
        api.send_text(LEARNER, "what does a vet do")
        api.reply_to(LEARNER, after=mark, contains="Sorry, something went wrong")

    # The same update delivered twice is answered once.
    mark = api.mark()
    update_id = api.send_text(LEARNER, "what does a geologist do")
    api.reply_to(LEARNER, after=mark, contains="Geologist")
    api.push_update(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": LEARNER, "type": "private"},
                "from": {"id": LEARNER, "is_bot": False, "first_name": "L"},
                "text": "what does a geologist do",
            },
        }
    )
    mark2 = api.mark()
    api.send_text(LEARNER, "thanks")
    api.reply_to(LEARNER, after=mark2, contains="welcome")
    assert sum("Geologist" in c.text for c in api.calls[mark:]) == 1

    assert bot.stop() == 0
    assert "error while handling an update" in bot.log


def practical_choice(question: str) -> str:
    """A learner who loves hands-on work: likes practical activities, dislikes the rest."""
    hands_on = ("bicycle", "garden", "plug", "cattle", "engine")
    return "Like" if any(word in question.lower() for word in hands_on) else "Dislike"


def test_interest_quiz_survives_a_restart(api: FakeBotAPI, bot: BotProcess) -> None:
    mark = api.mark()
    api.send_text(LEARNER, "/quiz")
    question = api.reply_to(LEARNER, after=mark, contains="Question 1 of 30")
    for number in range(1, 11):
        mark = api.mark()
        api.press(LEARNER, question.button(practical_choice(question.text)), on=question)
        question = api.reply_to(LEARNER, after=mark, contains=f"Question {number + 1} of 30")

    assert bot.stop() == 0
    bot.start()

    mark = api.mark()
    api.send_text(LEARNER, "/quiz")
    offer = api.reply_to(LEARNER, after=mark, contains="in progress")
    assert "10 of 30" in offer.text
    mark = api.mark()
    api.press(LEARNER, offer.button("Resume"), on=offer)
    question = api.reply_to(LEARNER, after=mark, contains="Question 11 of 30")
    for number in range(11, 31):
        mark = api.mark()
        api.press(LEARNER, question.button(practical_choice(question.text)), on=question)
        if number < 30:
            question = api.reply_to(LEARNER, after=mark, contains=f"Question {number + 1} of 30")
    result = api.reply_to(LEARNER, after=mark, contains="Careers that fit you best")
    assert "Realistic" in result.text
    assert len([b for b in result.buttons if b["callback_data"].startswith("sec:")]) == 5
    assert bot.stop() == 0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_webhook_mode_checks_the_secret(api: FakeBotAPI, index_dir: Path, tmp_path: Path) -> None:
    import json
    import urllib.error
    import urllib.request

    port = free_port()
    process = BotProcess(api, index_dir, f"sqlite:///{tmp_path / 'bot.db'}", tmp_path / "bot.log")
    process.env.update(
        WEBHOOK_URL="https://bot.example.org",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    with process.log_path.open("ab") as log:
        process.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--webhook"],
            cwd=REPO,
            env=process.env,
            stderr=log,
            stdout=log,
        )
    try:
        registered = api.wait_for(lambda c: c.method == "setWebhook", timeout=240)
        assert registered.params["url"] == "https://bot.example.org/telegram"
        assert registered.params["secret_token"] == WEBHOOK_SECRET
        update = {
            "update_id": 5001,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": LEARNER, "type": "private"},
                "from": {"id": LEARNER, "is_bot": False, "first_name": "L"},
                "text": "how do I become a teacher?",
            },
        }

        def post(secret: str) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/telegram",
                data=json.dumps(update).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": secret,
                },
            )
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        return int(response.status)
                except urllib.error.HTTPError as error:
                    return int(error.code)
                except (ConnectionError, urllib.error.URLError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)

        assert post("wrong-secret") == 403
        mark = api.mark()
        assert post(WEBHOOK_SECRET) == 200
        api.reply_to(LEARNER, after=mark, contains="Teacher ·")
        assert process.stop() == 0
        assert WEBHOOK_SECRET not in process.log
    finally:
        if process.process.poll() is None:
            process.process.kill()
