"""Shared fixtures: the real model loaded once, a real index built once, real SQLite files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.search.embedder import Embedder
from bot.search.engine import SearchServices, open_search
from bot.search.index import build_index
from bot.services import Services, build_services
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"
TEST_TOKEN = "123456789:TEST-token_abcdefghijklmnopqrstuvwx"
POSTGRES_ENV = "CAREERBOT_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = Embedder()
    model.warm_up()
    return model


class RememberingEmbedder:
    """The real model for index builds in tests, remembering every text it embedded: a test
    that rebuilds the index after a small edit embeds only what changed, not 6,000 texts."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name, self.dimension = model.name, model.dimension
        self._seen: dict[str, np.ndarray] = {}  # type: ignore[type-arg]

    def encode(self, texts: list[str], **options: Any) -> np.ndarray:  # type: ignore[type-arg]
        missing = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if missing:
            self._seen.update(zip(missing, self.model.encode(missing, **options), strict=True))
        return np.stack([self._seen[text] for text in texts])

    def token_count(self, text: str) -> int:
        return self.model.token_count(text)


@pytest.fixture(scope="session")
def build_embedder(embedder: Embedder) -> Embedder:
    return RememberingEmbedder(embedder)  # type: ignore[return-value]


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory, build_embedder: Embedder) -> Path:
    directory = tmp_path_factory.mktemp("index")
    build_index(KNOWLEDGE, directory, build_embedder)
    return directory


@pytest.fixture(scope="session")
def search(index_dir: Path, embedder: Embedder) -> SearchServices:
    return open_search(KNOWLEDGE, index_dir, embedder=embedder)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'careerbot.db'}"


@pytest.fixture
def settings(sqlite_url: str, index_dir: Path) -> Settings:
    return Settings(
        telegram_bot_token=TEST_TOKEN,  # type: ignore[arg-type]
        database_url=sqlite_url,
        index_dir=index_dir,
        knowledge_dir=KNOWLEDGE,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def services(settings: Settings, search: SearchServices) -> Iterator[Services]:
    built = build_services(settings, search=search)
    yield built
    built.close()


@pytest.fixture
def postgres_url() -> str:
    """A clean schema on the real PostgreSQL, when CAREERBOT_TEST_POSTGRES_URL is set."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://root@127.0.0.1/test)"
        )
    from sqlalchemy import text

    from bot.storage.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for running `python -m bot` in a subprocess, isolated from the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def copy_knowledge(target: Path) -> Path:
    shutil.copytree(KNOWLEDGE, target)
    return target
