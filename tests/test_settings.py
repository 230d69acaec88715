"""Settings: one class, clear one-line errors, secrets never shown."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.dialogue.replies import Block, Reply, render_html_messages
from bot.settings import SettingsError, load_settings
from tests.conftest import REPO, subprocess_env


def test_defaults_and_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USER_IDS", "12, 34;56")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOP")
    settings = load_settings(_env_file=None)
    assert settings.admin_user_ids == frozenset({12, 34, 56})
    assert settings.database_url.startswith("sqlite:///")
    assert "ABCDEFGHIJKLMNOP" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TELEGRAM_BOT_TOKEN", "changeme", "TELEGRAM_BOT_TOKEN is a placeholder"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "does not look like a BotFather token"),
        ("WEBHOOK_SECRET", "has spaces in it", "WEBHOOK_SECRET must be"),
        ("WEBHOOK_PORT", "99999", "WEBHOOK_PORT"),
        ("ADMIN_USER_IDS", "alice", "ADMIN_USER_IDS must be Telegram user ids"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ],
)
def test_bad_values_fail_with_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bot_refuses_bad_settings_at_start_up() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=subprocess_env(TELEGRAM_BOT_TOKEN="changeme"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Bad settings: TELEGRAM_BOT_TOKEN is a placeholder; set the real value"
    ]


def test_run_without_a_token_says_how_to_get_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=subprocess_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "@BotFather" in result.stderr


def test_long_replies_are_split_under_telegrams_limit_without_breaking_tags() -> None:
    reply = Reply(blocks=[Block("title", "A <long> & winding answer")])
    reply.blocks += [Block("bullet", f"point {i} " + "& word " * 60) for i in range(40)]
    reply.blocks.append(Block("text", "x" * 9000))
    messages = render_html_messages(reply)
    assert len(messages) > 2
    assert all(len(message) <= 4096 for message in messages)
    assert messages[0].startswith("<b>A &lt;long&gt; &amp; winding answer</b>")
    for message in messages:
        assert message.count("<b>") == message.count("</b>")
        assert "& " not in message.replace("&amp; ", "")


def test_tests_cannot_reach_the_network() -> None:
    """pytest-socket (pyproject addopts): only this machine is reachable from a test."""
    import socket

    from pytest_socket import SocketConnectBlockedError

    with (
        pytest.warns(UserWarning, match="192.0.2.1"),
        pytest.raises(SocketConnectBlockedError),
    ):
        socket.create_connection(("192.0.2.1", 80), 1)
