"""Engine, sessions and migrations. The schema is created only by alembic, never create_all."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x0CA2EE2B07  # PostgreSQL advisory lock held while migrating


def make_engine(url: str, *, timeout: float = 10.0) -> Engine:
    """`timeout` bounds every wait on the database: connecting, a lock, a statement, a pool
    slot. A database that is down or unreachable fails fast instead of hanging learners."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not the driver, open transactions, so SAVEPOINTs nest properly
            # (the documented pysqlite recipe); WAL lets readers work during a write.
            connection.isolation_level = None
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL survives a crash of the process (SIGKILL) and saves an fsync per
            # commit; only a power cut can lose the last commits.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front: concurrent writers wait their turn
            # (up to `timeout`) instead of failing with "database is locked" at their first
            # write after a read.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A database that stops answering must not hang every learner: connect, statement and
    # lock timeouts, and TCP keepalives and a send timeout that notice a dead peer.
    milliseconds = int(timeout * 1000)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout,
        connect_args={
            "connect_timeout": max(1, int(timeout)),
            "options": f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
            f" -c idle_in_transaction_session_timeout={3 * milliseconds}",
            "keepalives": 1,
            "keepalives_idle": max(1, int(timeout)),
            "keepalives_interval": max(1, int(timeout / 3)),
            "keepalives_count": 3,
            "tcp_user_timeout": milliseconds,
        },
    )


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`, once, even when several replicas start together."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(str(parsed.database))
        database.parent.mkdir(parents=True, exist_ok=True)
        with open(database.with_name(database.name + ".migrate-lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            command.upgrade(alembic_config(url), revision)
        return
    command.upgrade(alembic_config(url), revision)  # PostgreSQL: an advisory lock in env.py


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
