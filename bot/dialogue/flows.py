"""Guided flows run with buttons, as the dialogue sees them: one FlowRunner in front of the
interest quiz (quiz_flow.py) and the readiness check (readiness_flow.py).

What applies to every flow lives here: a typed "yes" or "stop" as a button, /cancel, and the
button back into a flow the learner left to ask something.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.catalog import Catalog
from bot.dialogue.actions import FlowStep
from bot.dialogue.flow_steps import GuidedFlow, typed_step
from bot.dialogue.quiz_flow import InterestQuiz
from bot.dialogue.readiness_flow import ReadinessCheck, ReadinessPlan
from bot.dialogue.replies import Button, Reply
from bot.quizzes import InterestQuizContent
from bot.search.engine import SearchServices
from bot.storage import queries


class FlowRunner:
    def __init__(self, *, search: SearchServices, quiz: InterestQuizContent) -> None:
        self.quiz = quiz
        self.search = search

    @property
    def search(self) -> SearchServices:
        return self._search

    @search.setter
    def search(self, search: SearchServices) -> None:
        """A new index gives new flows; a turn already running keeps the ones it started with."""
        self._search = search
        self.interest = InterestQuiz(content=self.quiz, catalog=search.catalog)
        self.readiness = ReadinessCheck(search)

    @property
    def catalog(self) -> Catalog:
        return self.search.catalog

    @property
    def _flows(self) -> tuple[GuidedFlow, ...]:
        """In the order a paused flow is offered and a typed answer is applied."""
        return (self.interest, self.readiness)

    def paused(self, session: Session, user_key: str) -> Button | None:
        """A button back into a flow the learner left to ask something, if there is one."""
        for flow in self._flows:
            state = queries.get_flow(session, user_key=user_key, kind=flow.kind)
            button = flow.resume_button(state) if state is not None else None
            if button is not None:
                return button
        return None

    def cancel(self, session: Session, user_key: str, _argument: str = "") -> Reply:
        ended = [
            flow
            for flow in self._flows
            if queries.get_flow(session, user_key=user_key, kind=flow.kind) is not None
        ]
        for flow in ended:
            queries.end_flow(session, user_key=user_key, kind=flow.kind)
        if not ended:
            return Reply().add("text", "There's nothing to cancel. Ask me anything about careers!")
        return Reply(replace=True).add(
            "text", "Cancelled " + " and ".join(flow.cancelled for flow in ended) + "."
        )

    def typed(self, session: Session, user_key: str, text: str) -> Reply | None:
        """A typed "yes", "not sure", "back" or "stop" in a flow acts as that button."""
        meaning = self.search.distress.language.flow_answer(text)
        if meaning is None:
            return None
        for flow in self._flows:
            state = queries.get_flow(session, user_key=user_key, kind=flow.kind)
            if state is None:
                continue
            step = typed_step(flow.flow, state, meaning, flow.typed_choices)
            reply = flow.on_action(session, user_key, step)
            reply.replace = False  # a typed answer gets a new message, not an edit
            return reply
        return None

    def on_action(self, session: Session, user_key: str, step: FlowStep) -> Reply:
        if step.flow == "quiz":
            return self.interest.on_action(session, user_key, step)
        return self.readiness.on_action(session, user_key, step)

    def start_quiz(self, session: Session, user_key: str, argument: str = "") -> Reply:
        return self.interest.start(session, user_key, argument)

    def start_readiness(self, session: Session, user_key: str, argument: str = "") -> Reply:
        return self.readiness.start(session, user_key, argument)

    def readiness_plan(self, career_id: str, answers: dict[str, str]) -> ReadinessPlan:
        return self.readiness.readiness_plan(career_id, answers)
