"""The pace of outgoing messages for the whole bot, kept in the database so that every
replica draws from one budget (Telegram allows a bot about 30 messages a second in all).

Each sender reserves the next free moment with one atomic statement (the generic cell rate
algorithm): `next = max(next, now) + interval`, and waits until its moment comes. No message
is refused; at the limit they queue evenly, and a quiet bot sends at once.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import case, update
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import SendBudget
from bot.storage.queries import insert_if_absent

BUDGET_NAME = "telegram"


class LocalPace:
    """The same pace for one process (SQLite deployments: one bot, one budget)."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Seconds to wait before sending (0 when the budget has room now)."""
        with self._lock:
            now = time.time()
            start = max(self._next, now)
            self._next = start + self.interval
            return start - now


class SharedPace:
    """The pace kept in the database's `send_budget` row, shared by every replica."""

    def __init__(self, sessions: sessionmaker[Session], per_second: float) -> None:
        self.sessions = sessions
        self.per_second = per_second
        self.interval_us = int(1_000_000 / per_second)
        with sessions.begin() as session:
            insert_if_absent(session, SendBudget, {"name": BUDGET_NAME, "next_us": 0})

    def reserve(self) -> float:
        now_us = int(time.time() * 1_000_000)
        column = SendBudget.next_us
        start = case((column > now_us, column), else_=now_us)
        with self.sessions.begin() as session:
            next_us = session.execute(
                update(SendBudget)
                .where(SendBudget.name == BUDGET_NAME)
                .values(next_us=start + self.interval_us)
                .returning(SendBudget.next_us)
            ).scalar_one()
        return max(0.0, (next_us - self.interval_us - now_us) / 1_000_000)
