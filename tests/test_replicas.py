"""Two bot replicas behind one webhook share a database and serve one conversation correctly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.telegram import Application, build_application
from bot.search.engine import SearchServices
from bot.services import build_services
from bot.settings import Settings
from tests.conftest import KNOWLEDGE, TEST_TOKEN
from tests.fakebotapi import FakeBotAPI, OfflineRequest
from tests.test_telegram import Chat


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture
async def replicas(
    shared_url: str, index_dir: Path, search: SearchServices
) -> AsyncIterator[tuple[Application, Application, FakeBotAPI]]:
    api = FakeBotAPI("unused")
    apps = []
    for _ in range(2):
        settings = Settings(
            telegram_bot_token=TEST_TOKEN,  # type: ignore[arg-type]
            database_url=shared_url,
            index_dir=index_dir,
            knowledge_dir=KNOWLEDGE,
            _env_file=None,  # type: ignore[call-arg]
        )
        app = build_application(
            build_services(settings, search=search), request=OfflineRequest(api), rate_limit=False
        )
        await app.initialize()
        await app.start()
        apps.append(app)
    yield apps[0], apps[1], api
    for app in apps:
        await app.stop()
        await app.shutdown()
        app.bot_data.services.close()


async def test_one_conversation_across_two_replicas(
    replicas: tuple[Application, Application, FakeBotAPI],
) -> None:
    first, second, api = replicas
    on_first, on_second = Chat(first, api, user_id=3131), Chat(second, api, user_id=3131)
    on_second._next_update = 500  # distinct update ids, as Telegram would send

    (answer,) = await on_first.say("what does an architect do")
    assert "Architect ·" in answer.text
    (follow,) = await on_second.say("and where would I study?")
    assert "Architect · Study Programmes" in follow.text
    (switch,) = await on_first.say("what about a quantity surveyor?")
    assert "Quantity Surveyor · Study Programmes" in switch.text

    # The quiz started on one replica continues on the other.
    (question,) = await on_second.say("/quiz")
    (next_question,) = await on_first.press(question.button("Like"), on=question)
    assert "Question 2 of 30" in next_question.text
    (again,) = await on_second.press(question.button("Like"), on=question)  # a double press
    assert "Question 2 of 30" in again.text  # counted once; the current question is shown
    toasts = [c.params.get("text") for c in api.calls if c.method == "answerCallbackQuery"]
    assert toasts[-1].startswith("Already counted")

    # Telegram retrying the same update to the other replica: answered once.
    update = {"update_id": 99_001, "message": on_first.message("what does a chef do")}
    assert len(await on_first.feed(dict(update))) == 1
    assert await on_second.feed(dict(update)) == []
