"""Guided flows run with buttons: the interest quiz and the readiness check.

State is committed per answer (table flow_state), so a learner can stop, the bot can restart,
and another replica can carry on. Each run has a run id inside its buttons: a button from a run
that has ended, or a second press of the same button, changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from bot.catalog import RIASEC_LETTERS, Catalog
from bot.dialogue import actions
from bot.dialogue.actions import Flow, FlowStep
from bot.dialogue.replies import Button, Reply
from bot.quizzes import InterestQuizContent
from bot.search.engine import SearchServices
from bot.search.text import words
from bot.storage import queries
from bot.storage.models import FlowState

QUIZ = "interest"
READY = "ready"
CAREER_WEIGHTS = (1.0, 0.6, 0.35)
FLAT_SPREAD = 2  # top minus bottom type score at or under this: no clear pattern
READY_ANSWERS = (("y", "Yes"), ("s", "Somewhat"), ("n", "Not yet"))
READY_WORDS = {"y": "Yes", "s": "Somewhat", "n": "Not yet"}


def _new_run() -> str:
    return secrets.token_hex(3)


@dataclass
class InterestResult:
    scores: dict[str, int]
    top_types: list[str]
    careers: list[tuple[str, list[str]]]  # (career id, liked statements that drove the match)
    clear: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "scores": self.scores,
            "top_types": self.top_types,
            "careers": [{"id": c, "why": why} for c, why in self.careers],
            "clear": self.clear,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InterestResult:
        return cls(
            scores=dict(data["scores"]),
            top_types=list(data["top_types"]),
            careers=[(c["id"], list(c["why"])) for c in data["careers"]],
            clear=bool(data["clear"]),
        )


def score_interests(
    content: InterestQuizContent, catalog: Catalog, answers: dict[str, str]
) -> InterestResult:
    """Holland scores per type, then the careers whose riasec codes fit the strongest types."""
    scores = {letter: 0 for letter in RIASEC_LETTERS}
    liked: dict[str, list[str]] = {letter: [] for letter in RIASEC_LETTERS}
    for statement in content.statements:
        option = content.answer(answers.get(statement.id, ""))
        if option is None:
            continue
        scores[statement.type] += option.score
        if option.score == content.max_score:
            liked[statement.type].append(statement.text)
    ordered = sorted(RIASEC_LETTERS, key=lambda t: (-scores[t], RIASEC_LETTERS.index(t)))
    top = ordered[:3]
    spread = scores[ordered[0]] - scores[ordered[-1]]
    clear = spread > FLAT_SPREAD and any(liked.values())
    if not clear:
        return InterestResult(scores, top, [], clear=False)
    full = content.max_score * 5
    fits = []
    for career in catalog:
        weights = CAREER_WEIGHTS[: len(career.riasec)]
        fit = sum(w * scores[t] / full for w, t in zip(weights, career.riasec, strict=False))
        fits.append((fit / sum(weights), career.id))
    fits.sort(key=lambda item: (-item[0], item[1]))
    careers = []
    for _fit, career_id in fits[:5]:
        codes = catalog.get(career_id).riasec
        why = [text for t in codes for text in liked[t]][:3]
        careers.append((career_id, why))
    return InterestResult(scores, top, careers, clear=True)


class FlowRunner:
    def __init__(self, *, search: SearchServices, quiz: InterestQuizContent) -> None:
        self.search = search
        self.quiz = quiz

    # ------------------------------------------------------------------ shared entry points

    @property
    def catalog(self) -> Catalog:
        return self.search.catalog

    def paused(self, session: Session, user_key: str) -> Button | None:
        """A button back into a flow the learner left to ask something, if there is one."""
        if queries.get_flow(session, user_key=user_key, kind=QUIZ) is not None:
            return Button("▶ Resume the interest quiz", FlowStep("quiz", "resume").encode())
        state = queries.get_flow(session, user_key=user_key, kind=READY)
        if state is not None and state.career in self.catalog:
            title = self.catalog.get(str(state.career)).title
            return Button(
                f"▶ Resume the readiness check ({title})", FlowStep("rdy", "resume").encode()
            )
        return None

    def cancel(self, session: Session, user_key: str, _argument: str = "") -> Reply:
        ended = [
            kind
            for kind in (QUIZ, READY)
            if queries.get_flow(session, user_key=user_key, kind=kind) is not None
        ]
        for kind in ended:
            queries.end_flow(session, user_key=user_key, kind=kind)
        if not ended:
            return Reply().add("text", "There's nothing to cancel. Ask me anything about careers!")
        again = {
            QUIZ: "the interest quiz (type /quiz to start again)",
            READY: "the readiness check (type /ready CAREER to start again)",
        }
        return Reply(replace=True).add(
            "text", "Cancelled " + " and ".join(again[kind] for kind in ended) + "."
        )

    def typed(self, session: Session, user_key: str, text: str) -> Reply | None:
        """A typed "yes", "not sure", "back" or "stop" in a flow acts as that button."""
        meaning = self.search.distress.language.flow_answer(text)
        if meaning is None:
            return None
        flows: tuple[tuple[str, Flow, dict[str, str]], ...] = (
            (QUIZ, "quiz", {"yes": "like", "unsure": "unsure", "no": "dislike"}),
            (READY, "rdy", {"yes": "y", "unsure": "s", "no": "n"}),
        )
        for kind, flow, keys in flows:
            state = queries.get_flow(session, user_key=user_key, kind=kind)
            if state is None:
                continue
            run, position = state.run_id, state.position
            if meaning == "stop":
                step = FlowStep(flow, "x", run)
            elif meaning == "back":
                step = FlowStep(flow, "b", run, position)
            else:
                step = FlowStep(flow, "a", run, position, choice=keys[meaning])
            reply = self.on_action(session, user_key, step)
            reply.replace = False  # a typed answer gets a new message, not an edit
            return reply
        return None

    def on_action(self, session: Session, user_key: str, step: FlowStep) -> Reply:
        if step.flow == "quiz":
            return self._quiz_action(session, user_key, step)
        return self._ready_action(session, user_key, step)

    # ------------------------------------------------------------------ interest quiz
    def start_quiz(self, session: Session, user_key: str, _argument: str = "") -> Reply:
        state = queries.get_flow(session, user_key=user_key, kind=QUIZ)
        if state is not None:
            reply = Reply().add(
                "text",
                f"You have a quiz in progress ({state.position} of "
                f"{len(self.quiz.statements)} answered). Carry on where you stopped?",
            )
            return reply.row(
                Button("▶ Resume", FlowStep("quiz", "resume").encode()),
                Button("↻ Start over", FlowStep("quiz", "new").encode()),
                Button("✖ Cancel", FlowStep("quiz", "x").encode()),
            )
        last = queries.last_flow_result(session, user_key=user_key, kind=QUIZ)
        if last is not None:
            reply = Reply().add("text", "You've taken the interest quiz before.")
            return reply.row(
                Button("📋 Show my last result", FlowStep("quiz", "last").encode()),
                Button("↻ Retake", FlowStep("quiz", "new").encode()),
            )
        return self._quiz_begin(session, user_key)

    def _quiz_begin(self, session: Session, user_key: str) -> Reply:
        run = _new_run()
        queries.save_flow(
            session, user_key=user_key, kind=QUIZ, run_id=run, career=None, answers={}, position=0
        )
        reply = Reply().add("title", self.quiz.title).add("text", self.quiz.intro)
        question = self._quiz_question(run, 0)
        reply.blocks += question.blocks
        reply.buttons = question.buttons
        return reply

    def _quiz_question(self, run: str, position: int, *, replace: bool = False) -> Reply:
        statement = self.quiz.statements[position]
        return _question(
            "quiz",
            run,
            position,
            note=f"Question {position + 1} of {len(self.quiz.statements)}",
            text=f"How would you feel about this? {statement.text}",
            options=[(option.key, option.label) for option in self.quiz.answers],
            replace=replace,
        )

    def _quiz_action(self, session: Session, user_key: str, action: FlowStep) -> Reply:
        step = action.verb
        if step == "start":
            return self.start_quiz(session, user_key)
        if step == "new":
            queries.end_flow(session, user_key=user_key, kind=QUIZ)
            return self._quiz_begin(session, user_key)
        if step == "last":
            last = queries.last_flow_result(session, user_key=user_key, kind=QUIZ)
            if last is None:
                return self._quiz_ended()
            return self._interest_result_reply(InterestResult.from_dict(last.result))
        state = queries.get_flow(session, user_key=user_key, kind=QUIZ)
        if step == "resume" and state is not None:
            return self._quiz_question(state.run_id, state.position)
        run = action.run
        if state is None or state.run_id != run:
            if run and queries.flow_result_exists(session, user_key=user_key, run_id=run):
                return Reply(toast="That quiz is already finished.").row(
                    Button("📋 Show my result", FlowStep("quiz", "last").encode()),
                    Button("↻ Retake", FlowStep("quiz", "new").encode()),
                )
            return self._quiz_ended()
        if step == "x":
            queries.end_flow(session, user_key=user_key, kind=QUIZ)
            return Reply(replace=True).add("text", "Quiz cancelled. Type /quiz to start again.")
        outcome = _advance(
            session,
            user_key,
            QUIZ,
            state,
            action,
            total=len(self.quiz.statements),
            answer_key=lambda position: self.quiz.statements[position].id,
            choices={option.key for option in self.quiz.answers},
        )
        if outcome is ALREADY_COUNTED:
            again = self._quiz_question(run, state.position)
            again.toast = outcome.toast
            return again
        if isinstance(outcome, Reply):
            return outcome
        if outcome.finished:
            result = score_interests(self.quiz, self.catalog, outcome.answers)
            queries.save_flow_result(
                session,
                user_key=user_key,
                kind=QUIZ,
                run_id=run,
                career=None,
                result=result.as_dict(),
            )
            return self._interest_result_reply(result)
        return self._quiz_question(run, outcome.position, replace=True)

    def _quiz_ended(self) -> Reply:
        reply = Reply(toast="This quiz has ended.").add(
            "text", "This quiz has ended (or was deleted). Start a new one?"
        )
        return reply.row(Button("🧭 Start the quiz", FlowStep("quiz", "new").encode()))

    def _interest_result_reply(self, result: InterestResult) -> Reply:
        reply = Reply(replace=True).add("title", "Your interest quiz result")
        if not result.clear:
            reply.add(
                "text",
                "No clear pattern yet: you rated most activities about the same. That's normal! "
                "Try some activities (a holiday job, a club, helping at home or school) and take "
                "the quiz again, or browse careers and ask me about any that sound interesting.",
            )
            return reply.row(
                Button("↻ Retake", FlowStep("quiz", "new").encode()),
                Button("🔎 Browse careers", actions.BrowseFields().encode()),
            )
        reply.add("text", "Your strongest interest types:")
        for letter in result.top_types:
            kind = self.quiz.types[letter]
            reply.add("bullet", f"{kind.name} ({kind.nickname}): {kind.sentence}")
        reply.add("text", "Careers that fit you best:")
        buttons = []
        for career_id, why in result.careers:
            if career_id not in self.catalog:
                continue
            career = self.catalog.get(career_id)
            because = f" – because you liked: {'; '.join(w.lower() for w in why)}" if why else ""
            reply.add("bullet", f"{career.title}{because}")
            buttons.append(
                Button(career.title, actions.ShowSection(career_id, "overview").encode())
            )
        for i in range(0, len(buttons), 2):
            reply.row(*buttons[i : i + 2])
        return reply.row(Button("↻ Retake the quiz", FlowStep("quiz", "new").encode()))

    # ------------------------------------------------------------------ readiness check
    def start_readiness(self, session: Session, user_key: str, argument: str = "") -> Reply:
        career_id = self._resolve_career(argument)
        if career_id is None and not argument:
            context_career, _ = queries.get_context(session, user_key=user_key)
            career_id = context_career if context_career in self.catalog else None
        if career_id is None:
            text = (
                f"I don't know the career “{argument}”. " if argument else ""
            ) + "Which career should I check? For example: /ready nurse or /ready electrician"
            return Reply().add("text", text)
        state = queries.get_flow(session, user_key=user_key, kind=READY)
        if state is not None and state.career == career_id:  # e.g. after a crash: nothing lost
            title = self.catalog.get(career_id).title
            reply = Reply().add(
                "text",
                f"You have a readiness check for {title} in progress ({state.position} "
                "answered). Carry on where you stopped?",
            )
            return reply.row(
                Button("▶ Resume", FlowStep("rdy", "resume").encode()),
                Button("↻ Start over", FlowStep("rdy", "go", career=career_id).encode()),
            )
        return self._ready_begin(session, user_key, career_id)

    def _resolve_career(self, argument: str) -> str | None:
        if not argument.strip():
            return None
        if argument.strip() in self.catalog:
            return argument.strip()
        mentions = self.search.ranker.names.find(words(argument))
        return max(mentions, key=lambda m: m.score).career if mentions else None

    def _ready_begin(self, session: Session, user_key: str, career_id: str) -> Reply:
        run = _new_run()
        queries.save_flow(
            session,
            user_key=user_key,
            kind=READY,
            run_id=run,
            career=career_id,
            answers={},
            position=0,
        )
        career = self.catalog.get(career_id)
        reply = Reply().add("title", f"Readiness check: {career.title}")
        reply.add(
            "text",
            "I'll go through what this career asks of a person, one thing at a time. Answer "
            "honestly: at the end you get a personal plan.",
        )
        question = self._ready_question(run, career_id, 0)
        reply.blocks += question.blocks
        reply.buttons = question.buttons
        return reply

    def _ready_question(
        self, run: str, career_id: str, position: int, *, replace: bool = False
    ) -> Reply:
        requirements = self.catalog.get(career_id).section("requirements").bullets
        return _question(
            "rdy",
            run,
            position,
            note=f"{position + 1} of {len(requirements)}",
            text=f"Are you comfortable with this? {requirements[position]}",
            options=list(READY_ANSWERS),
            replace=replace,
        )

    def _ready_action(self, session: Session, user_key: str, action: FlowStep) -> Reply:
        step = action.verb
        if step == "go" and action.career in self.catalog:
            return self._ready_begin(session, user_key, action.career)
        state = queries.get_flow(session, user_key=user_key, kind=READY)
        if step == "resume" and state is not None and state.career in self.catalog:
            return self._ready_question(state.run_id, str(state.career), state.position)
        run = action.run
        if state is None or state.run_id != run or state.career not in self.catalog:
            reply = Reply(toast="This check has ended.").add(
                "text", "This readiness check has ended. Start it again with /ready CAREER."
            )
            return reply
        career_id = str(state.career)
        requirements = self.catalog.get(career_id).section("requirements").bullets
        if step == "x":
            queries.end_flow(session, user_key=user_key, kind=READY)
            return Reply(replace=True).add("text", "Readiness check cancelled.")
        outcome = _advance(
            session,
            user_key,
            READY,
            state,
            action,
            total=len(requirements),
            answer_key=str,
            choices=set(READY_WORDS),
        )
        if outcome is ALREADY_COUNTED:
            again = self._ready_question(run, career_id, state.position)
            again.toast = outcome.toast
            return again
        if isinstance(outcome, Reply):
            return outcome
        if not outcome.finished:
            return self._ready_question(run, career_id, outcome.position, replace=True)
        plan = self.readiness_plan(career_id, outcome.answers)
        queries.save_flow_result(
            session, user_key=user_key, kind=READY, run_id=run, career=career_id, result=plan
        )
        return self._plan_reply(career_id, plan)

    def readiness_plan(self, career_id: str, answers: dict[str, str]) -> dict[str, Any]:
        """Strengths, gaps (not-yet first) and the steps that address the gaps, in course order."""
        career = self.catalog.get(career_id)
        requirements = career.section("requirements").bullets
        strengths = [r for i, r in enumerate(requirements) if answers.get(str(i)) == "y"]
        gaps = sorted(
            (i for i in range(len(requirements)) if answers.get(str(i)) in ("s", "n")),
            key=lambda i: (answers[str(i)] != "n", i),
        )
        steps = self._steps_for(career_id, gaps)
        return {
            "strengths": strengths,
            "work_on": [
                {"requirement": requirements[i], "answer": READY_WORDS[answers[str(i)]]}
                for i in gaps
            ],
            "steps": steps,
        }

    def _steps_for(self, career_id: str, gaps: list[int]) -> list[dict[str, str]]:
        """Getting-started and study bullets closest in meaning to each gap, listed in order."""
        index = self.search.index
        vectors = index.vectors
        rows = {
            (r.kind, r.section, r.position): i
            for i, r in enumerate(index.rows)
            if r.career == career_id and r.kind == "bullet"
        }
        career = self.catalog.get(career_id)
        candidates = [
            (kind, position, rows[("bullet", kind, position)])
            for kind in ("getting_started", "study")
            for position in range(len(career.section(kind).bullets))
            if ("bullet", kind, position) in rows
        ]
        chosen: set[tuple[str, int]] = set()
        for gap in gaps:
            gap_row = rows.get(("bullet", "requirements", gap))
            if gap_row is None or not candidates:
                continue
            sims = np.array([float(vectors[gap_row] @ vectors[row]) for _, _, row in candidates])
            for best in np.argsort(-sims)[:2]:
                kind, position, _ = candidates[int(best)]
                chosen.add((kind, position))
        if not chosen:  # nothing to work on: the first steps are the plan
            chosen = {
                ("getting_started", i)
                for i in range(min(3, len(career.section("getting_started").bullets)))
            }
        steps = [(kind, career.section(kind).bullets[position]) for kind, position in chosen]
        # The learner's timeline: school, then study, then registration, then work.
        ordered = sorted(steps, key=lambda s: (_stage(s[1]), s[0] != "getting_started", s[1]))
        return [{"section": kind, "step": step} for kind, step in ordered]

    def _plan_reply(self, career_id: str, plan: dict[str, Any]) -> Reply:
        career = self.catalog.get(career_id)
        reply = Reply(replace=True).add("title", f"Your plan: {career.title}")
        if plan["strengths"]:
            reply.add("text", "💪 Your strengths:")
            for strength in plan["strengths"]:
                reply.add("bullet", strength)
        if plan["work_on"]:
            reply.add("text", "🛠 To work on:")
            for item in plan["work_on"]:
                reply.add("bullet", f"{item['requirement']} ({item['answer'].lower()})")
            reply.add("text", "📌 Steps that help, in order:")
        else:
            reply.add("text", "You feel ready for all of it – great! Your next steps:")
        for step in plan["steps"]:
            reply.add("bullet", step["step"])
        reply.row(
            Button("Getting started", actions.ShowSection(career_id, "getting_started").encode()),
            Button("Study", actions.ShowSection(career_id, "study").encode()),
        )
        return reply.row(Button("↻ Check again", FlowStep("rdy", "go", career=career_id).encode()))


STAGES = (  # checked in this order; a step's stage is the first whose words it uses
    (2, ("register", "registration", "community service", "internship", "trade test", "licen",
         "board exam", "articles", "pupillage", "professional exam")),
    (0, ("grade", "subject", "school", "matric", "volunteer", "shadow", "holiday", "weekend")),
    (1, ("apply", "study", "degree", "diploma", "universit", "college", "course", "bursar",
         "nsfas", "learnership", "apprentice", "certificate", "training")),
    (3, ("work", "job", "join", "employ", "start your own")),
)  # fmt: skip


def _stage(step: str) -> int:
    lower = step.lower()
    for stage, cues in STAGES:
        if any(cue in lower for cue in cues):
            return stage
    return 1


# A second press of a counted answer (or a press after a lost reply): show where the learner is.
ALREADY_COUNTED = Reply(toast="Already counted – here is your current question.")


@dataclass
class StepOutcome:
    position: int
    answers: dict[str, str]
    finished: bool


def _advance(
    session: Session,
    user_key: str,
    kind: str,
    state: FlowState,
    action: FlowStep,
    *,
    total: int,
    answer_key: Callable[[int], str],
    choices: set[str],
) -> StepOutcome | Reply:
    """Apply a Back or an answer button to a flow.

    A button for another position (a double press, or an old message) changes nothing. The new
    state is committed with the update, so the flow survives restarts and other replicas.
    """
    step, position = action.verb, action.position
    if position != state.position:
        return ALREADY_COUNTED
    if step == "b":
        position, answers = max(0, position - 1), dict(state.answers)
    else:
        choice = action.choice
        if step != "a" or choice not in choices:
            return Reply(toast="That button is out of date.")
        answers = {**state.answers, answer_key(position): choice}
        position += 1
        if position >= total:
            queries.end_flow(session, user_key=user_key, kind=kind)
            return StepOutcome(position, answers, finished=True)
    queries.save_flow(
        session,
        user_key=user_key,
        kind=kind,
        run_id=state.run_id,
        career=state.career,
        answers=answers,
        position=position,
    )
    return StepOutcome(position, answers, finished=False)


def _question(
    flow: Flow,
    run: str,
    position: int,
    *,
    note: str,
    text: str,
    options: list[tuple[str, str]],
    replace: bool,
) -> Reply:
    """One step of a guided flow: its answers, then Back (after the first step) and Cancel.

    The run id and position travel in every button, so an old or repeated press is recognised.
    """
    reply = Reply(replace=replace).add("note", note).add("text", text)
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
