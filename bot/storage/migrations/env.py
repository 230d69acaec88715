"""Alembic environment: the URL comes from the caller (bot.storage.db) or DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from bot.settings import normalise_url
from bot.storage.db import MIGRATION_LOCK_KEY, make_engine
from bot.storage.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    from bot.settings import load_settings

    url = normalise_url(load_settings().database_url)


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(str(url))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together migrate one at a time; the others then find the
                # schema current. (SQLite: bot.storage.db.upgrade holds a file lock.)
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
