"""The durable inbox: every Telegram update from receipt to the last message of its reply.

States: `new` (stored, not yet answered), `answered` (the learner's state and the reply to send
were committed together), `done` (every message handed to Telegram, or nothing to send),
`failed` (gave up after MAX_ATTEMPTS; the learner was told to try again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.models import InboxUpdate, utcnow
from bot.storage.queries import insert_if_absent

OPEN_STATES = ("new", "answered")
MAX_ATTEMPTS = 3  # a message that broke the bot three times is not tried a fourth
KEEP_HOURS = 48  # Telegram redelivers an update for at most 24 hours


class AlreadySettled(Exception):
    """Another worker answered this update first; this turn's changes are rolled back."""


@dataclass(frozen=True)
class Unfinished:
    update_id: int
    state: str
    payload: dict[str, Any]
    reply: dict[str, Any] | None
    sent: int


def store(session: Session, *, update_id: int, payload: dict[str, Any], owner: str) -> bool:
    """Record a received update; False if it was received before (a redelivery)."""
    now = utcnow()
    return insert_if_absent(
        session,
        InboxUpdate,
        {
            "update_id": update_id,
            "state": "new",
            "payload": payload,
            "sent": 0,
            "attempts": 0,
            "owner": owner,
            "claimed_at": now,
            "received_at": now,
        },
    )


def settle(session: Session, *, update_id: int, reply: dict[str, Any] | None) -> None:
    """Mark the update answered with the reply still to send, in the caller's transaction (the
    one that saved the learner's state). Raises AlreadySettled if it was answered already."""
    values: dict[str, Any] = {"reply": reply, "sent": 0, "attempts": InboxUpdate.attempts + 1}
    if reply is None:
        values.update(state="done", done_at=utcnow(), payload=None)
    else:
        values.update(state="answered")
    result = session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.state == "new")
        .values(**values)
    )
    if getattr(result, "rowcount", 0):
        return
    if session.get(InboxUpdate, update_id) is not None:
        raise AlreadySettled(update_id)
    # Received while the database was away, so never stored: record it answered now.
    now = utcnow()
    insert_if_absent(
        session,
        InboxUpdate,
        {"update_id": update_id, "claimed_at": now, "received_at": now, "owner": ""}
        | {k: v for k, v in values.items() if k != "attempts"}
        | {"attempts": 1, "state": values.get("state", "answered")},
    )


def mark_sent(session: Session, *, update_id: int, sent: int, last: bool) -> None:
    """Count a reply message as handed to Telegram, just before it is sent: after a crash the
    message is not sent twice. The learner's words and the reply go once the last is out."""
    values: dict[str, Any] = {"sent": sent}
    if last:
        values.update(state="done", done_at=utcnow(), payload=None, reply=None)
    session.execute(update(InboxUpdate).where(InboxUpdate.update_id == update_id).values(**values))


def close(session: Session, *, update_id: int) -> None:
    """Handling ended without a reply to send (ignored, or failed and the learner was told)."""
    session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.state == "new")
        .values(state="done", done_at=utcnow(), payload=None)
    )


def claim_unfinished(
    session: Session,
    *,
    owner: str,
    started_at: datetime,
    lease_seconds: float,
    limit: int = 500,
) -> list[Unfinished]:
    """Take over updates left open by a crash: this replica's own from before it started, and
    any replica's whose lease ran out. Each is claimed by one replica only."""
    now = utcnow()
    lease_cutoff = now - timedelta(seconds=lease_seconds)
    rows = session.scalars(
        select(InboxUpdate)
        .where(
            InboxUpdate.state.in_(OPEN_STATES),
            or_(
                InboxUpdate.claimed_at < lease_cutoff,
                (InboxUpdate.owner == owner) & (InboxUpdate.claimed_at < started_at),
            ),
        )
        .order_by(InboxUpdate.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    taken = []
    for row in rows:
        if row.attempts >= MAX_ATTEMPTS or row.payload is None:
            row.state, row.done_at, row.payload, row.reply = "failed", now, None, None
            continue
        row.owner, row.claimed_at = owner, now
        taken.append(Unfinished(row.update_id, row.state, row.payload, row.reply, row.sent))
    return taken


def purge(session: Session, *, now: datetime | None = None) -> int:
    """Forget finished updates once Telegram can no longer redeliver them."""
    cutoff = (now or utcnow()) - timedelta(hours=KEEP_HOURS)
    result = session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.state.in_(("done", "failed")), InboxUpdate.done_at < cutoff
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def open_counts(session: Session) -> dict[str, int]:
    """How many updates wait to be answered or sent, and how many failed (for /stats)."""
    rows = session.execute(
        select(InboxUpdate.state, func.count())
        .where(InboxUpdate.state.in_((*OPEN_STATES, "failed")))
        .group_by(InboxUpdate.state)
    ).all()
    return {state: int(count) for state, count in rows}
