"""Long-lived services built once at start-up and shared by every channel."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.dialogue.core import Dialogue, DialogueSettings
from bot.dialogue.flows import FlowRunner
from bot.quizzes import load_interest_quiz
from bot.search.embedder import Embedder
from bot.search.engine import SearchServices, open_search
from bot.settings import Settings
from bot.storage import db


@dataclass
class Services:
    settings: Settings
    search: SearchServices
    engine: Engine
    sessions: sessionmaker[Session]
    dialogue: Dialogue

    def close(self) -> None:
        self.engine.dispose()

    def index_changed(self) -> bool:
        live = (self.settings.index_dir / "current").resolve()
        return live.exists() and live != self.search.index.path

    def reload_search(self) -> SearchServices:
        """Load the index staff just rebuilt and swap it in, without a restart. The old build
        stays on disk (the builder keeps the previous one) for turns still reading it."""
        search = open_search(
            self.settings.knowledge_dir,
            self.settings.index_dir,
            embedder=self.search.embedder,
            warm=False,
        )
        search.ranker.answer("what does a nurse do")  # warm the new parts before learners do
        self.search = search
        self.dialogue.use_search(search)
        return search


def build_services(
    settings: Settings, *, embedder: Embedder | None = None, search: SearchServices | None = None
) -> Services:
    """Migrate the database (first: an unreachable one fails in seconds, not after the model
    loads), load content, index and model, and wire the dialogue."""
    db.upgrade(settings.database_url)
    search = search or open_search(
        settings.knowledge_dir,
        settings.index_dir,
        embedder=embedder,
        threads=settings.embed_threads,
    )
    quiz = load_interest_quiz(settings.knowledge_dir / "quizzes" / "interests.yaml")
    engine = db.make_engine(settings.database_url, timeout=settings.database_timeout_seconds)
    sessions = db.session_factory(engine)
    dialogue = Dialogue(
        search=search,
        sessions=sessions,
        flows=FlowRunner(search=search, quiz=quiz),
        settings=DialogueSettings(
            max_question_chars=settings.max_question_chars,
            retention_days=settings.log_retention_days,
        ),
    )
    return Services(settings, search, engine, sessions, dialogue)
