"""What is deleted when: the question log after LOG_RETENTION_DAYS, finished updates after
48 hours. Channels call `purge` on a timer; nothing else deletes on a schedule."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.storage import inbox, queries


@dataclass(frozen=True)
class Purged:
    questions: int
    updates: int


def purge(sessions: sessionmaker[Session], *, log_retention_days: int) -> Purged:
    with sessions.begin() as session:
        questions = queries.delete_old_questions(session, older_than_days=log_retention_days)
        updates = inbox.purge(session)
    return Purged(questions, updates)
