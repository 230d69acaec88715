"""What the guided flows share: the run id, one question with its buttons, the step machine
that applies a pressed (or typed) answer, and the stored result.

State is committed per answer (table flow_state), so a learner can stop, the bot can restart,
and another replica can carry on. Each run has a run id inside its buttons: a button from a run
that has ended, or a second press of the same button, changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy.orm import Session

from bot.dialogue.actions import Flow, FlowStep
from bot.dialogue.replies import Button, Reply
from bot.storage import queries
from bot.storage.models import FlowState


class GuidedFlow(Protocol):
    """One guided flow as the FlowRunner sees it: where its state is kept and what it answers."""

    kind: str  # its row in flow_state
    flow: Flow  # its buttons' prefix
    typed_choices: Mapping[str, str]  # a typed "yes", "unsure" or "no" -> its answer key
    cancelled: str  # how /cancel names it

    def resume_button(self, state: FlowState) -> Button | None: ...

    def on_action(self, session: Session, user_key: str, action: FlowStep) -> Reply: ...


def begin(
    session: Session,
    user_key: str,
    *,
    kind: str,
    career: str | None,
    intro: Reply,
    first_question: Callable[[str], Reply],
) -> Reply:
    """A new run: its state saved at the first step, then the intro with the first question."""
    run = secrets.token_hex(3)
    queries.save_flow(
        session, user_key=user_key, kind=kind, run_id=run, career=career, answers={}, position=0
    )
    first = first_question(run)
    intro.blocks += first.blocks
    intro.buttons = first.buttons
    return intro


def typed_step(flow: Flow, state: FlowState, meaning: str, choices: Mapping[str, str]) -> FlowStep:
    """The button a typed "yes", "not sure", "back" or "stop" stands for at the learner's step."""
    if meaning == "stop":
        return FlowStep(flow, "x", state.run_id)
    if meaning == "back":
        return FlowStep(flow, "b", state.run_id, state.position)
    return FlowStep(flow, "a", state.run_id, state.position, choice=choices[meaning])


class Progress(Enum):
    """What a pressed Back or answer button did to a flow."""

    MOVED = "moved"  # answered or went back: the question at the new position is due
    FINISHED = "finished"  # the last answer: the flow's result is due
    # A second press of a counted answer (or a press after a lost reply): nothing changed, and
    # the learner is shown where they are.
    ALREADY_COUNTED = "already counted"
    OUT_OF_DATE = "out of date"  # not a button of this step: nothing changed


TOASTS = {
    Progress.ALREADY_COUNTED: "Already counted – here is your current question.",
    Progress.OUT_OF_DATE: "That button is out of date.",
}


@dataclass(frozen=True)
class StepOutcome:
    progress: Progress
    position: int  # the learner's step now
    answers: dict[str, str]

    @property
    def toast(self) -> str | None:
        return TOASTS.get(self.progress)

    def reply(self, question_at: Callable[[int], Reply]) -> Reply:
        """The reply to a step that leaves the flow running: the question now due (which
        replaces the one answered), the current one again after a repeated press, or a toast."""
        if self.progress is Progress.OUT_OF_DATE:
            return Reply(toast=self.toast)
        reply = question_at(self.position)
        reply.replace = self.progress is Progress.MOVED
        reply.toast = self.toast
        return reply


def advance(
    session: Session,
    user_key: str,
    kind: str,
    state: FlowState,
    action: FlowStep,
    *,
    total: int,
    answer_key: Callable[[int], str],
    choices: set[str],
) -> StepOutcome:
    """Apply a Back or an answer button to a flow.

    A button for another position (a double press, or an old message) changes nothing. The new
    state is committed with the update, so the flow survives restarts and other replicas.
    """
    step, position, answers = action.verb, action.position, dict(state.answers)
    if position != state.position:
        return StepOutcome(Progress.ALREADY_COUNTED, state.position, answers)
    if step == "b":
        position = max(0, position - 1)
    else:
        choice = action.choice
        if step != "a" or choice not in choices:
            return StepOutcome(Progress.OUT_OF_DATE, state.position, answers)
        answers[answer_key(position)] = choice
        position += 1
        if position >= total:
            queries.end_flow(session, user_key=user_key, kind=kind)
            return StepOutcome(Progress.FINISHED, position, answers)
    queries.save_flow(
        session,
        user_key=user_key,
        kind=kind,
        run_id=state.run_id,
        career=state.career,
        answers=answers,
        position=position,
    )
    return StepOutcome(Progress.MOVED, position, answers)


def save_result(
    session: Session, user_key: str, *, kind: str, run: str, career: str | None, result: BaseModel
) -> None:
    """A finished run's result, stored as JSON that the result's own model reads back."""
    queries.save_flow_result(
        session,
        user_key=user_key,
        kind=kind,
        run_id=run,
        career=career,
        result=result.model_dump(mode="json"),
    )


def question(
    flow: Flow,
    run: str,
    position: int,
    *,
    note: str,
    text: str,
    options: list[tuple[str, str]],
) -> Reply:
    """One step of a guided flow: its answers, then Back (after the first step) and Cancel.

    The run id and position travel in every button, so an old or repeated press is recognised.
    """
    reply = Reply().add("note", note).add("text", text)
    reply.row(
        *(
            Button(label, FlowStep(flow, "a", run, position, choice=key).encode())
            for key, label in options
        )
    )
    navigation = [Button("✖ Cancel", FlowStep(flow, "x", run).encode())]
    if position > 0:
        navigation.insert(0, Button("◀ Back", FlowStep(flow, "b", run, position).encode()))
    return reply.row(*navigation)
