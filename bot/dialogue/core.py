"""The dialogue: one place where a learner's input becomes a Reply.

Every call reads the learner's state from the database and writes it back in one transaction,
so any replica can serve the next message of the same conversation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from sqlalchemy.orm import Session, sessionmaker

from bot.catalog import Catalog
from bot.dialogue import actions, compose
from bot.dialogue.commands import BY_NAME
from bot.dialogue.flows import FlowRunner
from bot.dialogue.replies import Button, Reply
from bot.dialogue.turn import take_turn
from bot.report import Report, as_reply, group_by_meaning
from bot.search.embedder import Embedder
from bot.search.engine import SearchServices
from bot.search.ranker import LIST_PAGE, Context
from bot.storage import queries

log = logging.getLogger(__name__)

# Called inside the turn's transaction with its reply: a channel records there that the message
# was handled (and what to send), so state and "done" are committed together or not at all.
Settle: TypeAlias = Callable[[Session, Reply], None]

PRIVACY_TEXT = (
    "What I store about you: your Telegram user id, the last career and topic we talked about "
    "(so follow-up questions work), the questions you ask with my answers (to improve the bot), "
    "your 👍/👎 feedback, and your quiz answers and results. Questions are deleted after "
    "{days} days; the rest stays until you use /forget. Nothing is shared or sold. "
    "If you tell me you are going through something hard, I never store what you wrote: I only "
    "count that I showed help numbers, so staff know how often they are needed."
)


@dataclass
class DialogueSettings:
    max_question_chars: int = 500
    retention_days: int = 90


class Dialogue:
    def __init__(
        self,
        *,
        search: SearchServices,
        sessions: sessionmaker[Session],
        flows: FlowRunner,
        settings: DialogueSettings | None = None,
    ) -> None:
        self.search = search
        self.sessions = sessions
        self.flows = flows
        self.settings = settings or DialogueSettings()

    @property
    def catalog(self) -> Catalog:
        return self.search.catalog

    def use_search(self, search: SearchServices) -> None:
        """Swap in a freshly loaded index; a turn already running keeps the one it started with."""
        self.search = search
        self.flows.search = search

    # ------------------------------------------------------------------ entry points
    def on_text(self, user_key: str, text: str, *, settle: Settle | None = None) -> Reply:
        with self._turn(settle) as (session, done):
            # Typed text is always a question, even mid-quiz: the flow waits for its buttons.
            queries.touch_user(session, user_key=user_key)
            # Right after care for a learner in distress, "ok" or "yes" answers that message,
            # not the paused quiz: the flow waits until they come back to careers.
            cared = queries.last_outcome(session, user_key=user_key) == "support"
            typed = None if cared else self.flows.typed(session, user_key, text)
            if typed is not None:
                return done(typed)
            reply = self._answer(session, user_key, text)
            # A paused quiz waits quietly while a learner in distress is cared for.
            paused = None if reply.support else self.flows.paused(session, user_key)
            if paused is not None:
                waiting = paused.label.removeprefix("▶ Resume ")  # "the interest quiz"
                reply.add("note", waiting[:1].upper() + waiting[1:] + " is waiting for you.")
                reply.row(paused)
            return done(reply)

    def on_command(
        self,
        user_key: str,
        command: str,
        argument: str = "",
        *,
        staff: bool = False,
        settle: Settle | None = None,
    ) -> Reply:
        """`staff`: the caller may use staff commands (Telegram admins, the terminal)."""
        command = command.lower().lstrip("/")
        handlers: dict[str, Callable[[Session, str, str], Reply]] = {
            "start": lambda s, u, a: compose.welcome_reply(self.catalog),
            "help": lambda s, u, a: compose.help_reply(),
            "careers": lambda s, u, a: compose.fields_reply(self.catalog),
            "privacy": lambda s, u, a: self._privacy(),
            "forget": lambda s, u, a: self._confirm_forget(),
            "quiz": self.flows.start_quiz,
            "ready": self.flows.start_readiness,
            "cancel": self.flows.cancel,
        }
        known = BY_NAME.get(command)
        if known is None or (known.staff and not staff):
            reply = Reply().add("text", f"I don't know /{command}. Try /help.")
        elif known.name == "stats":  # staff figures read in their own session: none open here
            reply = self.stats()
        elif known.name == "report":
            reply = self.report_reply()
        else:
            with self._turn(settle) as (session, done):
                if command != "forget":
                    queries.touch_user(session, user_key=user_key)
                return done(handlers[known.name](session, user_key, argument.strip()))
        with self._turn(settle) as (_session, done):
            return done(reply)

    def on_action(self, user_key: str, data: str, *, settle: Settle | None = None) -> Reply:
        with self._turn(settle) as (session, done):
            return done(self._act(session, user_key, data))

    def _act(self, session: Session, user_key: str, data: str) -> Reply:
        action = actions.decode(data)
        if isinstance(action, actions.Forget):
            return self._forget(session, user_key, action.choice)
        queries.touch_user(session, user_key=user_key)
        match action:
            case actions.FlowStep():
                return self.flows.on_action(session, user_key, action)
            case actions.ShowSection(career, section) if career in self.catalog:
                queries.set_context(session, user_key=user_key, career=career, section=section)
                return self._replacing(compose.section_reply(self.catalog, career, section))
            case actions.ShowGuide(guide) if guide in self.search.guides:
                return compose.guide_reply(self.search.guides.get(guide))
            case actions.BrowseFields(page):
                return self._replacing(compose.fields_reply(self.catalog, page))
            case actions.BrowseField(field, page):
                return self._replacing(compose.field_reply(self.catalog, field, page))
            case actions.Rate(question, helpful):
                # Only a learner's own answer can be rated; a forged id changes nothing.
                counted = queries.record_feedback(
                    session, user_key=user_key, question_id=question, helpful=helpful
                )
                return Reply(toast="Thanks for the feedback!" if counted else "Already noted 👍")
            case actions.MoreCareers(page):
                return self._more(session, user_key, page)
            case actions.AskPrompt():
                return compose.ask_prompt_reply()
        return Reply(toast="That button is out of date.").add(
            "text", "That button no longer works. Ask me a question or use /help."
        )

    @contextmanager
    def _turn(self, settle: Settle | None) -> Iterator[tuple[Session, Callable[[Reply], Reply]]]:
        """One transaction for a learner's input; `done(reply)` settles it inside."""
        with self.sessions.begin() as session:

            def done(reply: Reply) -> Reply:
                if settle is not None:
                    settle(session, reply)
                return reply

            yield session, done

    # ------------------------------------------------------------------ answering
    def _answer(self, session: Session, user_key: str, text: str) -> Reply:
        career, section = queries.get_context(session, user_key=user_key)
        shown = queries.get_shown(session, user_key=user_key)
        context = Context(
            career=career,
            section=section,
            shown=tuple(shown.get("careers") or ()),
            shown_kind=shown.get("kind"),
        )
        started = time.perf_counter()
        turn = take_turn(self.search, text, context, max_chars=self.settings.max_question_chars)
        latency_ms = (time.perf_counter() - started) * 1000
        answer = turn.answer
        if not turn.question:
            return turn.reply
        question_id = queries.log_question(
            session,
            user_key=user_key,
            question="" if turn.private else turn.question,  # distress: counted, never stored
            outcome=answer.outcome,
            career=answer.career,
            section=answer.section,
            confidence=answer.confidence,
            latency_ms=latency_ms,
            topic=answer.guide or answer.intent
            if answer.outcome in ("uncovered", "support", "guide")
            else None,
        )
        reply = turn.reply
        stored: dict[str, Any] | None = None  # a list stays in reach for "the second one"
        if answer.outcome in ("list", "compare"):
            stored = {
                "kind": answer.outcome,
                "careers": list(answer.shown),
                "reasons": list(answer.reasons),
            }
        if answer.outcome in ("answer", "list", "compare"):
            queries.set_context(
                session,
                user_key=user_key,
                career=turn.context.career,
                section=turn.context.section,
                shown=stored,
            )
        if answer.outcome in ("answer", "list", "compare", "guide"):
            reply.row(
                Button("👍 Helpful", actions.Rate(question_id, True).encode()),
                Button("👎 Not helpful", actions.Rate(question_id, False).encode()),
            )
        log.info(
            "answered outcome=%s career=%s section=%s confidence=%.2f in %.0f ms",
            answer.outcome,
            answer.career,
            answer.section,
            answer.confidence,
            latency_ms,
        )
        return reply

    def report(self, since: datetime, embedder: Embedder | None = None) -> Report:
        """The staff report's figures; `embedder` groups unanswered questions by meaning."""
        with self.sessions() as session:
            rows = queries.report_rows(session, since=since)
        return Report(
            since=since,
            uncovered=rows["uncovered"],
            unserved=group_by_meaning(rows["unserved"], embedder),
            disliked=rows["disliked"],
            support=rows["support"],
        )

    def report_reply(self, days: int = 7) -> Reply:
        """The staff report as a chat message (the last week, questions grouped by meaning)."""
        since = datetime.now(UTC) - timedelta(days=days)
        return as_reply(self.report(since, self.search.embedder), self.titles())

    def titles(self) -> dict[str, str]:
        return {career.id: career.title for career in self.catalog}

    def stats(self) -> Reply:
        """Usage figures for staff (Telegram shows this to ADMIN_USER_IDS only)."""
        with self.sessions() as session:
            figures = queries.usage_stats(session)
        reply = Reply().add("title", f"Last {figures.days} days")
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(figures.outcomes.items()))
        reply.add("bullet", f"{figures.learners} learners in all")
        reply.add("bullet", f"{figures.questions} questions ({outcomes or 'none'})")
        reply.add("bullet", f"median answer time {figures.median_latency_ms:.0f} ms")
        reply.add("bullet", f"feedback: {figures.helpful} 👍, {figures.not_helpful} 👎")
        for career, count in figures.top_careers:
            title = self.catalog.get(career).title if career in self.catalog else career
            reply.add("bullet", f"{title}: {count} questions")
        return reply

    # ------------------------------------------------------------------ privacy
    def _privacy(self) -> Reply:
        reply = Reply().add("title", "Your privacy")
        reply.add("text", PRIVACY_TEXT.format(days=self.settings.retention_days))
        return reply.row(Button("🗑 Delete my data", actions.Forget("ask").encode()))

    def _confirm_forget(self) -> Reply:
        reply = Reply().add(
            "text",
            "This deletes everything I stored about you: questions, feedback, quiz answers and "
            "results, and our conversation context. Are you sure?",
        )
        return reply.row(
            Button("Yes, delete it", actions.Forget("yes").encode()),
            Button("No, keep it", actions.Forget("no").encode()),
        )

    def _forget(self, session: Session, user_key: str, choice: str) -> Reply:
        if choice == "ask":
            return self._confirm_forget()
        if choice != "yes":
            return Reply(replace=True).add("text", "OK, nothing was deleted.")
        queries.forget_user(session, user_key=user_key)
        return Reply(replace=True).add(
            "text", "Done: I deleted everything I had stored about you. You can start afresh."
        )

    def _more(self, session: Session, user_key: str, page: int) -> Reply:
        """The next page of the last list, from what was stored when it was shown."""
        shown = queries.get_shown(session, user_key=user_key)
        careers = [c for c in shown.get("careers") or () if c in self.catalog]
        reasons = list(shown.get("reasons") or [""] * len(careers))[: len(careers)]
        if shown.get("kind") != "list" or not careers or page * LIST_PAGE >= len(careers):
            return Reply(toast="That list has ended.").add(
                "text", "That list is out of date. Ask me again, e.g. “careers with animals”."
            )
        reasons += [""] * (len(careers) - len(reasons))
        return self._replacing(compose.list_reply(self.catalog, careers, reasons, page=page))

    @staticmethod
    def _replacing(reply: Reply) -> Reply:
        reply.replace = True
        return reply
