"""Tables. Every row about a learner hangs off `users.key` so /forget can delete it all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class User(Base):
    __tablename__ = "users"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # "tg:<id>" or "term:<name>"
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_career: Mapped[str | None] = mapped_column(String(64))
    last_section: Mapped[str | None] = mapped_column(String(32))
    # The careers of the last list or comparison (and the question's kind), for follow-ups.
    last_shown: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set when Telegram says the learner blocked the bot; cleared when they write again.
    blocked_at: Mapped[datetime | None] = mapped_column()


class QuestionLog(Base):
    __tablename__ = "question_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(ForeignKey("users.key", ondelete="CASCADE"), index=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    question: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    career: Mapped[str | None] = mapped_column(String(64))
    section: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    # A missing career's name, a guide id or a support topic: what the staff report groups by.
    topic: Mapped[str | None] = mapped_column(String(64))


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("user_key", "question_id", name="uq_feedback_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(ForeignKey("users.key", ondelete="CASCADE"), index=True)
    # No foreign key to question_log: feedback outlives the retention of the question log.
    question_id: Mapped[int] = mapped_column(Integer)
    helpful: Mapped[bool] = mapped_column(Boolean)
    given_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxUpdate(Base):
    """A Telegram update from the moment it is received until its reply is handed to Telegram.

    Stored before Telegram is told we have it (the polling offset or the webhook's 200), settled
    in the same transaction as the learner's state (with the reply to send), then marked sent
    message by message. After a crash the bot finishes what is here and not done; a redelivered
    update finds its row and is answered once. The learner's words are cleared when done.
    """

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(8), default="new", index=True)  # see INBOX_STATES
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the update, until done
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the answer, until sent
    sent: Mapped[int] = mapped_column(Integer, default=0)  # reply messages handed to Telegram
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str] = mapped_column(String(64), default="")  # the replica working on it
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    done_at: Mapped[datetime | None] = mapped_column(index=True)


class SendBudget(Base):
    """When the next message may go out, for every replica together: Telegram's per-bot limit
    (about 30 a second) is shared, so the pace is kept where all replicas see it."""

    __tablename__ = "send_budget"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_us: Mapped[int] = mapped_column(BigInteger, default=0)  # microseconds since the epoch


class FlowState(Base):
    """A guided flow in progress (interest quiz or readiness check), one per learner and kind."""

    __tablename__ = "flow_state"

    user_key: Mapped[str] = mapped_column(
        ForeignKey("users.key", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(16))
    career: Mapped[str | None] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowResult(Base):
    __tablename__ = "flow_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(ForeignKey("users.key", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str] = mapped_column(String(16))
    career: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
