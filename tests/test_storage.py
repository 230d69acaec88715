"""bot/storage against real databases: a SQLite file always, PostgreSQL when configured.

The stairway test walks every alembic revision up, down one step and up again, so a broken
downgrade is caught before it is needed. The query tests run the same code on both backends.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import db, inbox, queries, retention
from bot.storage.models import (
    Base,
    Feedback,
    FlowResult,
    FlowState,
    InboxUpdate,
    QuestionLog,
    User,
)
from bot.storage.ratelimit import SharedPace

APP_TABLES = frozenset(Base.metadata.tables)
PER_USER_MODELS: tuple[type[Feedback | QuestionLog | FlowState | FlowResult], ...] = (
    Feedback,
    QuestionLog,
    FlowState,
    FlowResult,
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a fresh SQLite file, or a clean schema on the real PostgreSQL."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'storage.db'}"


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """The database migrated to head, with an engine the test may use."""
    db.upgrade(db_url)
    engine = db.make_engine(db_url)
    yield Database(db_url, engine, db.session_factory(engine))
    engine.dispose()


@pytest.fixture
def replica(database: Database) -> Iterator[sessionmaker[Session]]:
    """A second engine and session factory on the same database, like a second bot replica."""
    engine = db.make_engine(database.url)
    yield db.session_factory(engine)
    engine.dispose()


def app_tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) & APP_TABLES
    finally:
        engine.dispose()


def rows_for(session: Session, user_key: str) -> dict[str, int]:
    counts = {
        model.__tablename__: int(
            session.scalar(select(func.count()).where(model.user_key == user_key)) or 0
        )
        for model in PER_USER_MODELS
    }
    counts["users"] = int(session.scalar(select(func.count()).where(User.key == user_key)) or 0)
    return counts


def fill_user(session: Session, user_key: str) -> None:
    """At least one row about this learner in every per-user table."""
    queries.set_context(session, user_key=user_key, career="electrician", section="salary")
    question_id = queries.log_question(
        session,
        user_key=user_key,
        question="how much does an electrician earn?",
        outcome="answer",
        career="electrician",
        section="salary",
        confidence=0.9,
        latency_ms=12.0,
    )
    assert queries.record_feedback(
        session, user_key=user_key, question_id=question_id, helpful=True
    )
    queries.save_flow(
        session,
        user_key=user_key,
        kind="quiz",
        run_id="run-1",
        career=None,
        answers={"1": 4},
        position=1,
    )
    queries.save_flow_result(
        session, user_key=user_key, kind="quiz", run_id="run-0", career=None, result={"top": []}
    )


# ---------------------------------------------------------------------------- migrations


def test_stairway(db_url: str) -> None:
    """Every revision: up, down one step, up again; then head has the tables and base none."""
    script = ScriptDirectory.from_config(db.alembic_config(db_url))
    revisions = list(script.walk_revisions("base", "heads"))
    revisions.reverse()  # oldest first
    assert revisions, "no alembic revisions found"
    for revision in revisions:
        down = revision.down_revision
        assert down is None or isinstance(down, str), f"{revision.revision}: merge revision"
        db.upgrade(db_url, revision.revision)
        db.downgrade(db_url, down or "base")
        db.upgrade(db_url, revision.revision)

    db.upgrade(db_url, "head")
    assert app_tables(db_url) == APP_TABLES
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    assert set(current) == set(script.get_heads())

    db.downgrade(db_url, "base")
    assert app_tables(db_url) == set()


def test_migrations_match_models(database: Database) -> None:
    """The schema alembic builds is the one the models describe (no missing migration)."""
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


# ---------------------------------------------------------------------------- queries


def test_context_round_trip(database: Database) -> None:
    with database.sessions.begin() as session:
        assert queries.get_context(session, user_key="tg:1") == (None, None)
        user = queries.touch_user(session, user_key="tg:1")
        assert user.key == "tg:1"
        queries.set_context(session, user_key="tg:1", career="electrician", section="salary")
    with database.sessions() as session:
        assert queries.get_context(session, user_key="tg:1") == ("electrician", "salary")
    with database.sessions.begin() as session:
        queries.set_context(session, user_key="tg:1", career=None, section=None)
    with database.sessions() as session:
        assert queries.get_context(session, user_key="tg:1") == (None, None)
        assert queries.get_context(session, user_key="tg:unknown") == (None, None)


def test_log_question_returns_ids(database: Database) -> None:
    with database.sessions.begin() as session:
        queries.touch_user(session, user_key="tg:1")
        ids = [
            queries.log_question(
                session,
                user_key="tg:1",
                question=f"question {n}",
                outcome="answer",
                career="nurse",
                section="overview",
                confidence=0.5,
                latency_ms=3.0,
            )
            for n in range(3)
        ]
    assert all(isinstance(i, int) for i in ids)
    assert len(set(ids)) == 3
    with database.sessions() as session:
        stored = session.scalars(select(QuestionLog.id).order_by(QuestionLog.id)).all()
    assert stored == sorted(ids)


def test_feedback_counts_once(database: Database) -> None:
    with database.sessions.begin() as session:
        queries.touch_user(session, user_key="tg:1")
        question_id = queries.log_question(
            session,
            user_key="tg:1",
            question="what does a nurse do?",
            outcome="answer",
            career="nurse",
            section="overview",
            confidence=0.8,
            latency_ms=5.0,
        )
        assert queries.record_feedback(
            session, user_key="tg:1", question_id=question_id, helpful=True
        )
        assert not queries.record_feedback(
            session, user_key="tg:1", question_id=question_id, helpful=False
        )
        # The failed insert rolled back only its savepoint: the session still works.
        queries.set_context(session, user_key="tg:1", career="nurse", section="study")
        assert queries.record_feedback(
            session, user_key="tg:2", question_id=question_id, helpful=True
        )
    with database.sessions.begin() as session:
        # A press in a later transaction is refused as well.
        assert not queries.record_feedback(
            session, user_key="tg:1", question_id=question_id, helpful=True
        )
    with database.sessions() as session:
        rows = session.scalars(select(Feedback).order_by(Feedback.id)).all()
        assert [(f.user_key, f.helpful) for f in rows] == [("tg:1", True), ("tg:2", True)]
        assert queries.get_context(session, user_key="tg:1") == ("nurse", "study")


def test_inbox_stores_an_update_once_across_replicas(
    database: Database, replica: sessionmaker[Session]
) -> None:
    payload = {"update_id": 1001, "message": {"text": "hi"}}
    with database.sessions.begin() as session:
        assert inbox.store(session, update_id=1001, payload=payload, owner="a")
    with replica.begin() as session:  # a redelivery reaching the other replica
        assert not inbox.store(session, update_id=1001, payload=payload, owner="b")
        assert inbox.store(session, update_id=2**40, payload=payload, owner="b")  # > 32 bits
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboxUpdate)) == 2
        assert inbox.open_counts(session) == {"new": 2}


def test_inbox_settles_once_with_the_learners_state(
    database: Database, replica: sessionmaker[Session]
) -> None:
    with database.sessions.begin() as session:
        inbox.store(session, update_id=7, payload={"update_id": 7}, owner="a")
    with database.sessions.begin() as session:
        queries.touch_user(session, user_key="tg:1")
        queries.set_context(session, user_key="tg:1", career="nurse", section="tasks")
        inbox.settle(session, update_id=7, reply={"blocks": []})

    # A second worker answering the same update is refused, and its changes roll back.
    def second_worker() -> None:
        with replica.begin() as session:
            queries.set_context(session, user_key="tg:1", career="chef", section="study")
            inbox.settle(session, update_id=7, reply={"blocks": []})

    with pytest.raises(inbox.AlreadySettled):
        second_worker()
    with database.sessions() as session:
        assert queries.get_context(session, user_key="tg:1") == ("nurse", "tasks")
        row = session.get(InboxUpdate, 7)
        assert row is not None
        assert (row.state, row.reply) == ("answered", {"blocks": []})
    with database.sessions.begin() as session:
        inbox.mark_sent(session, update_id=7, sent=1, last=True)
    with database.sessions() as session:
        row = session.get(InboxUpdate, 7)
        assert row is not None
        assert (row.state, row.payload, row.reply) == ("done", None, None)  # words are gone
    # An update received while the database was away is recorded when it is answered.
    with database.sessions.begin() as session:
        inbox.settle(session, update_id=8, reply=None)
    with database.sessions() as session:
        row = session.get(InboxUpdate, 8)
        assert row is not None
        assert row.state == "done"


def test_unfinished_updates_are_claimed_by_one_replica(
    database: Database, replica: sessionmaker[Session]
) -> None:
    with database.sessions.begin() as session:
        for update_id in (1, 2, 3):
            inbox.store(session, update_id=update_id, payload={"n": update_id}, owner="a")
        inbox.settle(session, update_id=2, reply={"blocks": ["…"]})
        inbox.mark_sent(session, update_id=2, sent=1, last=False)
        stale = session.get(InboxUpdate, 3)
        assert stale is not None
        stale.claimed_at = datetime.now(UTC) - timedelta(minutes=10)
    time.sleep(0.01)
    restarted = datetime.now(UTC)  # replica a restarts after its crash
    time.sleep(0.01)
    with replica.begin() as session:  # replica b: only the row whose lease ran out
        taken = inbox.claim_unfinished(session, owner="b", started_at=restarted, lease_seconds=60)
    assert [item.update_id for item in taken] == [3]
    with database.sessions.begin() as session:  # replica a restarted: its own, once
        taken = inbox.claim_unfinished(session, owner="a", started_at=restarted, lease_seconds=60)
    assert [(i.update_id, i.state, i.sent) for i in taken] == [(1, "new", 0), (2, "answered", 1)]
    for owner, sessions in (("a", database.sessions), ("b", replica)):
        with sessions.begin() as session:  # claimed just now: nobody takes them again
            again = inbox.claim_unfinished(
                session, owner=owner, started_at=restarted, lease_seconds=60
            )
        assert again == []


def test_an_update_that_keeps_failing_is_given_up(database: Database) -> None:
    with database.sessions.begin() as session:
        inbox.store(session, update_id=5, payload={"n": 5}, owner="a")
        row = session.get(InboxUpdate, 5)
        assert row is not None
        row.attempts = inbox.MAX_ATTEMPTS
    with database.sessions.begin() as session:
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert inbox.claim_unfinished(session, owner="a", started_at=later, lease_seconds=60) == []
    with database.sessions() as session:
        row = session.get(InboxUpdate, 5)
        assert row is not None
        assert (row.state, row.payload) == ("failed", None)


def test_finished_updates_are_kept_two_days(database: Database) -> None:
    with database.sessions.begin() as session:
        for update_id, hours in ((1, 50), (2, 47)):
            inbox.store(session, update_id=update_id, payload={}, owner="a")
            inbox.close(session, update_id=update_id)
            row = session.get(InboxUpdate, update_id)
            assert row is not None
            row.done_at = datetime.now(UTC) - timedelta(hours=hours)
        inbox.store(session, update_id=3, payload={}, owner="a")  # open: never purged
    purged = retention.purge(database.sessions, log_retention_days=90)
    assert purged.updates == 1
    with database.sessions() as session:
        assert set(session.scalars(select(InboxUpdate.update_id)).all()) == {2, 3}


def test_replicas_share_one_send_pace(database: Database, replica: sessionmaker[Session]) -> None:
    first, second = SharedPace(database.sessions, 10.0), SharedPace(replica, 10.0)
    send_times = []
    for _ in range(5):
        for pace in (first, second):
            send_times.append(time.time() + pace.reserve())
    # Ten messages at ten a second, drawn from both replicas: never two in the same tenth.
    gaps = [later - earlier for earlier, later in itertools.pairwise(send_times)]
    assert min(gaps) >= 0.1 - 0.01  # (less the time a call takes)
    assert send_times[-1] - send_times[0] >= 0.9 - 0.01


def test_concurrent_migrations_run_once(db_url: str) -> None:
    """Replicas starting together on a fresh database (`python -m bot migrate` in four
    processes at once): all succeed, and the schema is right."""
    import subprocess
    import sys

    from tests.conftest import REPO, subprocess_env

    env = subprocess_env(DATABASE_URL=db_url)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, results
    assert all("schema is current" in out for out, _ in results)
    assert app_tables(db_url) == set(APP_TABLES)


def test_forget_user(database: Database) -> None:
    with database.sessions.begin() as session:
        fill_user(session, "tg:1")
        fill_user(session, "tg:2")
    with database.sessions() as session:
        assert all(rows_for(session, "tg:1").values())
        assert queries.count_rows(session, user_key="tg:1") == {
            "questions": 1,
            "feedback": 1,
            "flows": 1,
            "results": 1,
            "user": 1,
        }
    with database.sessions.begin() as session:
        assert queries.forget_user(session, user_key="tg:1")
    with database.sessions() as session:
        assert set(rows_for(session, "tg:1").values()) == {0}
        assert set(rows_for(session, "tg:2").values()) == {1}
    with database.sessions.begin() as session:
        assert not queries.forget_user(session, user_key="tg:1")
        assert not queries.forget_user(session, user_key="tg:never-seen")


def test_delete_old_questions(database: Database) -> None:
    now = datetime.now(UTC)
    ages = {"ancient": 400, "old": 31, "recent": 29, "today": 0}
    with database.sessions.begin() as session:
        queries.touch_user(session, user_key="tg:1")
        for text, days in ages.items():
            session.add(
                QuestionLog(
                    user_key="tg:1",
                    question=text,
                    outcome="answer",
                    asked_at=now - timedelta(days=days, minutes=1),
                )
            )
    with database.sessions.begin() as session:
        assert queries.delete_old_questions(session, older_than_days=30, now=now) == 2
    with database.sessions() as session:
        kept = set(session.scalars(select(QuestionLog.question)).all())
    assert kept == {"recent", "today"}
    with database.sessions.begin() as session:
        # Without `now` it uses the clock; nothing is older than a year any more.
        assert queries.delete_old_questions(session, older_than_days=365) == 0


def test_flow_state(database: Database) -> None:
    with database.sessions.begin() as session:
        assert queries.get_flow(session, user_key="tg:1", kind="quiz") is None
        queries.save_flow(
            session,
            user_key="tg:1",
            kind="quiz",
            run_id="abc",
            career=None,
            answers={"q1": 3},
            position=1,
        )
    with database.sessions.begin() as session:
        state = queries.get_flow(session, user_key="tg:1", kind="quiz")
        assert state is not None
        assert (state.run_id, state.career, state.answers, state.position) == (
            "abc",
            None,
            {"q1": 3},
            1,
        )
        # Saving again updates the same row, and the JSON change is persisted.
        queries.save_flow(
            session,
            user_key="tg:1",
            kind="quiz",
            run_id="abc",
            career=None,
            answers={**state.answers, "q2": 5},
            position=2,
        )
        queries.save_flow(
            session,
            user_key="tg:1",
            kind="ready",
            run_id="def",
            career="nurse",
            answers={},
            position=0,
        )
    with database.sessions.begin() as session:
        state = queries.get_flow(session, user_key="tg:1", kind="quiz")
        assert state is not None
        assert (state.answers, state.position) == ({"q1": 3, "q2": 5}, 2)
        assert session.scalar(select(func.count()).select_from(FlowState)) == 2
        queries.end_flow(session, user_key="tg:1", kind="quiz")
        queries.end_flow(session, user_key="tg:1", kind="quiz")  # ending twice is harmless
    with database.sessions() as session:
        assert queries.get_flow(session, user_key="tg:1", kind="quiz") is None
        ready = queries.get_flow(session, user_key="tg:1", kind="ready")
        assert ready is not None
        assert ready.career == "nurse"


def test_flow_results(database: Database) -> None:
    with database.sessions.begin() as session:
        assert queries.last_flow_result(session, user_key="tg:1", kind="quiz") is None
        assert not queries.flow_result_exists(session, user_key="tg:1", run_id="r1")
        for run_id, kind, career, score in (
            ("r1", "quiz", None, 1),
            ("r2", "ready", "nurse", 2),
            ("r3", "ready", "electrician", 3),
            ("r4", "quiz", None, 4),
        ):
            queries.save_flow_result(
                session,
                user_key="tg:1",
                kind=kind,
                run_id=run_id,
                career=career,
                result={"score": score},
            )
        queries.save_flow_result(
            session, user_key="tg:2", kind="quiz", run_id="r9", career=None, result={"score": 9}
        )
    with database.sessions() as session:
        last = queries.last_flow_result(session, user_key="tg:1", kind="quiz")
        assert last is not None
        assert (last.run_id, last.result) == ("r4", {"score": 4})
        last = queries.last_flow_result(session, user_key="tg:1", kind="ready")
        assert last is not None
        assert last.run_id == "r3"
        last = queries.last_flow_result(session, user_key="tg:1", kind="ready", career="nurse")
        assert last is not None
        assert last.run_id == "r2"
        assert (
            queries.last_flow_result(session, user_key="tg:1", kind="ready", career="vet") is None
        )
        assert queries.flow_result_exists(session, user_key="tg:1", run_id="r1")
        assert not queries.flow_result_exists(session, user_key="tg:1", run_id="r9")
        assert queries.flow_result_exists(session, user_key="tg:2", run_id="r9")


# ---------------------------------------------------------------------------- urls


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/bot", "postgresql+psycopg://u:p@db:5432/bot"),
        ("postgresql://u:p@db/bot", "postgresql+psycopg://u:p@db/bot"),
        ("postgresql+psycopg://u@db/bot", "postgresql+psycopg://u@db/bot"),
        ("sqlite:////app/data/careerbot.db", "sqlite:////app/data/careerbot.db"),
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert db.normalise_url(url) == expected


def test_a_new_learner_seen_by_two_replicas_at_once_is_inserted_once(
    database: Database, replica: sessionmaker[Session]
) -> None:
    """Both replicas look the learner up, find nothing and insert: neither fails."""
    import threading

    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def meet(sessions: sessionmaker[Session]) -> None:
        try:
            with sessions.begin() as session:
                barrier.wait()
                queries.touch_user(session, user_key="tg:race")
        except BaseException as error:  # the test reports it below
            errors.append(error)

    threads = [threading.Thread(target=meet, args=(s,)) for s in (database.sessions, replica)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_concurrent_writes_on_sqlite_wait_instead_of_failing(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: eight writers at once all succeed (deferred BEGIN failed 7 of 8)."""
    import threading

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            with sessions.begin() as session:
                queries.touch_user(session, user_key=f"tg:{number}")
                queries.set_context(session, user_key=f"tg:{number}", career="chef", section=None)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    assert errors == []
