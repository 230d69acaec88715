"""Data access used by the dialogue layer: explicit session, keyword-only arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import (
    Base,
    Feedback,
    FlowResult,
    FlowState,
    QuestionLog,
    User,
    utcnow,
)


def insert_if_absent(session: Session, model: type[Base], values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists; True if this call wrote it. Race-free across
    replicas: the database, not a read before the write, decides who was first."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    key = model.__mapper__.primary_key
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(*key)
    return session.execute(statement).first() is not None


def touch_user(session: Session, *, user_key: str) -> User:
    """The learner's row, created if new. Two replicas meeting a new learner at once both
    succeed: the insert ignores a row the other one just wrote."""
    user = session.get(User, user_key)
    if user is None:
        now = utcnow()
        insert_if_absent(session, User, {"key": user_key, "first_seen": now, "last_seen": now})
        user = session.get(User, user_key, populate_existing=True)
        assert user is not None
    user.last_seen = utcnow()
    user.blocked_at = None  # writing again means they unblocked us
    return user


def mark_blocked(session: Session, *, user_key: str) -> None:
    """Telegram refused a message (403): the learner blocked the bot. Counted, not retried."""
    user = session.get(User, user_key)
    if user is not None:
        user.blocked_at = utcnow()


def get_context(session: Session, *, user_key: str) -> tuple[str | None, str | None]:
    user = session.get(User, user_key)
    return (user.last_career, user.last_section) if user else (None, None)


def set_context(
    session: Session,
    *,
    user_key: str,
    career: str | None,
    section: str | None,
    shown: dict[str, Any] | None = None,
) -> None:
    user = touch_user(session, user_key=user_key)
    user.last_career, user.last_section = career, section
    if shown is not None:
        user.last_shown = shown


def get_shown(session: Session, *, user_key: str) -> dict[str, Any]:
    """The last list or comparison: {"kind", "careers", "query"} or {}."""
    user = session.get(User, user_key)
    return dict(user.last_shown or {}) if user else {}


def log_question(
    session: Session,
    *,
    user_key: str,
    question: str,
    outcome: str,
    career: str | None,
    section: str | None,
    confidence: float,
    latency_ms: float,
    topic: str | None = None,
) -> int:
    entry = QuestionLog(
        topic=topic[:64] if topic else None,
        user_key=user_key,
        question=question,
        outcome=outcome,
        career=career,
        section=section,
        confidence=confidence,
        latency_ms=latency_ms,
    )
    session.add(entry)
    session.flush()
    return entry.id


def last_outcome(session: Session, *, user_key: str) -> str | None:
    """How the bot answered this learner's last message (e.g. "support")."""
    return session.scalar(
        select(QuestionLog.outcome)
        .where(QuestionLog.user_key == user_key)
        .order_by(QuestionLog.id.desc())
        .limit(1)
    )


def record_feedback(session: Session, *, user_key: str, question_id: int, helpful: bool) -> bool:
    """False when this learner already rated this answer (a double press counts once)."""
    touch_user(session, user_key=user_key)
    try:
        with session.begin_nested():
            session.add(Feedback(user_key=user_key, question_id=question_id, helpful=helpful))
    except IntegrityError:
        return False
    return True


def forget_user(session: Session, *, user_key: str) -> bool:
    """Delete everything stored about a learner; True if there was anything."""
    existed = session.get(User, user_key) is not None
    for model in (Feedback, QuestionLog, FlowState, FlowResult):
        session.execute(delete(model).where(model.user_key == user_key))
    session.execute(delete(User).where(User.key == user_key))
    return existed


def delete_old_questions(
    session: Session, *, older_than_days: int, now: datetime | None = None
) -> int:
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    result = session.execute(delete(QuestionLog).where(QuestionLog.asked_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def get_flow(session: Session, *, user_key: str, kind: str) -> FlowState | None:
    return session.get(FlowState, (user_key, kind))


def save_flow(
    session: Session,
    *,
    user_key: str,
    kind: str,
    run_id: str,
    career: str | None,
    answers: dict[str, Any],
    position: int,
) -> None:
    touch_user(session, user_key=user_key)
    state = session.get(FlowState, (user_key, kind))
    if state is None:
        state = FlowState(user_key=user_key, kind=kind)
        session.add(state)
    state.run_id, state.career, state.position = run_id, career, position
    state.answers = dict(answers)
    state.updated_at = utcnow()


def end_flow(session: Session, *, user_key: str, kind: str) -> None:
    session.execute(
        delete(FlowState).where(FlowState.user_key == user_key, FlowState.kind == kind)
    )


def save_flow_result(
    session: Session,
    *,
    user_key: str,
    kind: str,
    run_id: str,
    career: str | None,
    result: dict[str, Any],
) -> None:
    touch_user(session, user_key=user_key)
    session.add(
        FlowResult(user_key=user_key, kind=kind, run_id=run_id, career=career, result=result)
    )


def last_flow_result(
    session: Session, *, user_key: str, kind: str, career: str | None = None
) -> FlowResult | None:
    query = select(FlowResult).where(FlowResult.user_key == user_key, FlowResult.kind == kind)
    if career is not None:
        query = query.where(FlowResult.career == career)
    return session.scalars(query.order_by(FlowResult.id.desc()).limit(1)).first()


def flow_result_exists(session: Session, *, user_key: str, run_id: str) -> bool:
    query = select(func.count()).where(
        FlowResult.user_key == user_key, FlowResult.run_id == run_id
    )
    return bool(session.scalar(query))


def count_rows(session: Session, *, user_key: str) -> dict[str, int]:
    """How much is stored about a learner, table by table (what /forget must bring to zero)."""
    counts = {}
    for name, model in (
        ("questions", QuestionLog),
        ("feedback", Feedback),
        ("flows", FlowState),
        ("results", FlowResult),
    ):
        counts[name] = int(
            session.scalar(select(func.count()).where(model.user_key == user_key)) or 0
        )
    counts["user"] = int(session.get(User, user_key) is not None)
    return counts


@dataclass(frozen=True)
class UsageStats:
    """What /stats shows staff about the last `days` days."""

    days: int
    learners: int  # in all, not only recent ones
    questions: int
    outcomes: dict[str, int]  # questions per outcome
    median_latency_ms: float
    top_careers: list[tuple[str, int]]  # (career id, questions), most asked first, at most five
    helpful: int
    not_helpful: int


def usage_stats(session: Session, *, days: int = 7) -> UsageStats:
    """Figures for staff: how much the bot is used and how well it answers."""
    since = utcnow() - timedelta(days=days)
    recent = select(QuestionLog).where(QuestionLog.asked_at >= since).subquery()
    outcomes: dict[str, int] = dict(
        session.execute(select(recent.c.outcome, func.count()).group_by(recent.c.outcome)).all()
    )
    top_careers = session.execute(
        select(recent.c.career, func.count())
        .where(recent.c.career.is_not(None))
        .group_by(recent.c.career)
        .order_by(func.count().desc(), recent.c.career)
        .limit(5)
    ).all()
    latencies = session.scalars(select(recent.c.latency_ms)).all()
    helpful: dict[bool, int] = dict(
        session.execute(select(Feedback.helpful, func.count()).group_by(Feedback.helpful)).all()
    )
    return UsageStats(
        days=days,
        learners=int(session.scalar(select(func.count()).select_from(User)) or 0),
        questions=int(sum(outcomes.values())),
        outcomes={str(k): int(v) for k, v in outcomes.items()},
        median_latency_ms=float(median(latencies)) if latencies else 0.0,
        top_careers=[(str(c), int(n)) for c, n in top_careers],
        helpful=int(helpful.get(True, 0)),
        not_helpful=int(helpful.get(False, 0)),
    )


def report_rows(session: Session, *, since: datetime) -> dict[str, Any]:
    """What learners asked that the bot could not serve, since a moment (for the staff report)."""
    recent = QuestionLog.asked_at >= since
    uncovered = session.execute(
        select(QuestionLog.topic, func.count())
        .where(recent, QuestionLog.outcome == "uncovered")
        .group_by(QuestionLog.topic)
        .order_by(func.count().desc(), QuestionLog.topic)
    ).all()
    unserved = session.scalars(
        select(QuestionLog.question).where(
            recent, QuestionLog.outcome.in_(("decline", "clarify")), QuestionLog.question != ""
        )
    ).all()
    disliked = session.execute(
        select(QuestionLog.career, QuestionLog.section, func.count())
        .join(Feedback, Feedback.question_id == QuestionLog.id)
        .where(recent, Feedback.helpful.is_(False))
        .group_by(QuestionLog.career, QuestionLog.section)
        .order_by(func.count().desc())
    ).all()
    support = session.execute(
        select(QuestionLog.topic, func.count())
        .where(recent, QuestionLog.outcome == "support")
        .group_by(QuestionLog.topic)
        .order_by(func.count().desc())
    ).all()
    return {
        "uncovered": [(str(name), int(n)) for name, n in uncovered],
        "unserved": [str(text) for text in unserved],
        "disliked": [(str(c), str(s), int(n)) for c, s, n in disliked],
        "support": [(str(topic), int(n)) for topic, n in support],
    }
