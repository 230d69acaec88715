"""The readiness check: a career's requirements asked one at a time, then a personal plan of
strengths, gaps and the Getting Started and Study steps that address the gaps."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from sqlalchemy.orm import Session

from bot.catalog import Catalog
from bot.dialogue import actions
from bot.dialogue.actions import Flow, FlowStep
from bot.dialogue.flow_steps import Progress, advance, begin, question, save_result
from bot.dialogue.replies import Button, Reply
from bot.search.engine import SearchServices
from bot.search.text import words
from bot.storage import queries
from bot.storage.models import FlowState

READY_ANSWERS = (("y", "Yes"), ("s", "Somewhat"), ("n", "Not yet"))
READY_WORDS = dict(READY_ANSWERS)


class Gap(BaseModel):
    requirement: str
    answer: str  # "Somewhat" or "Not yet"


class PlanStep(BaseModel):
    section: str  # getting_started or study
    step: str


class ReadinessPlan(BaseModel):
    """A finished readiness check; stored as JSON (flow_results.result)."""

    strengths: list[str]
    work_on: list[Gap]  # not-yet first
    steps: list[PlanStep]  # in the learner's timeline


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


class ReadinessCheck:
    kind = "ready"
    flow: Flow = "rdy"
    typed_choices: Mapping[str, str] = {"yes": "y", "unsure": "s", "no": "n"}
    cancelled = "the readiness check (type /ready CAREER to start again)"

    def __init__(self, search: SearchServices) -> None:
        self.search = search

    @property
    def catalog(self) -> Catalog:
        return self.search.catalog

    def resume_button(self, state: FlowState) -> Button | None:
        if state.career not in self.catalog:
            return None
        title = self.catalog.get(str(state.career)).title
        return Button(
            f"▶ Resume the readiness check ({title})", FlowStep("rdy", "resume").encode()
        )

    def start(self, session: Session, user_key: str, argument: str = "") -> Reply:
        career_id = self._resolve_career(argument)
        if career_id is None and not argument:
            context_career, _ = queries.get_context(session, user_key=user_key)
            career_id = context_career if context_career in self.catalog else None
        if career_id is None:
            text = (
                f"I don't know the career “{argument}”. " if argument else ""
            ) + "Which career should I check? For example: /ready nurse or /ready electrician"
            return Reply().add("text", text)
        state = queries.get_flow(session, user_key=user_key, kind=self.kind)
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
        return self._begin(session, user_key, career_id)

    def _resolve_career(self, argument: str) -> str | None:
        if not argument.strip():
            return None
        if argument.strip() in self.catalog:
            return argument.strip()
        mentions = self.search.ranker.names.find(words(argument))
        return max(mentions, key=lambda m: m.score).career if mentions else None

    def _begin(self, session: Session, user_key: str, career_id: str) -> Reply:
        intro = Reply().add("title", f"Readiness check: {self.catalog.get(career_id).title}")
        intro.add(
            "text",
            "I'll go through what this career asks of a person, one thing at a time. Answer "
            "honestly: at the end you get a personal plan.",
        )
        return begin(
            session,
            user_key,
            kind=self.kind,
            career=career_id,
            intro=intro,
            first_question=lambda run: self._question(run, career_id, 0),
        )

    def _question(self, run: str, career_id: str, position: int) -> Reply:
        requirements = self.catalog.get(career_id).section("requirements").bullets
        return question(
            "rdy",
            run,
            position,
            note=f"{position + 1} of {len(requirements)}",
            text=f"Are you comfortable with this? {requirements[position]}",
            options=list(READY_ANSWERS),
        )

    def on_action(self, session: Session, user_key: str, action: FlowStep) -> Reply:
        step = action.verb
        if step == "go" and action.career in self.catalog:
            return self._begin(session, user_key, action.career)
        state = queries.get_flow(session, user_key=user_key, kind=self.kind)
        if step == "resume" and state is not None and state.career in self.catalog:
            return self._question(state.run_id, str(state.career), state.position)
        run = action.run
        if state is None or state.run_id != run or state.career not in self.catalog:
            reply = Reply(toast="This check has ended.").add(
                "text", "This readiness check has ended. Start it again with /ready CAREER."
            )
            return reply
        career_id = str(state.career)
        requirements = self.catalog.get(career_id).section("requirements").bullets
        if step == "x":
            queries.end_flow(session, user_key=user_key, kind=self.kind)
            return Reply(replace=True).add("text", "Readiness check cancelled.")
        outcome = advance(
            session,
            user_key,
            self.kind,
            state,
            action,
            total=len(requirements),
            answer_key=str,
            choices=set(READY_WORDS),
        )
        if outcome.progress is not Progress.FINISHED:
            return outcome.reply(lambda position: self._question(run, career_id, position))
        plan = self.readiness_plan(career_id, outcome.answers)
        save_result(session, user_key, kind=self.kind, run=run, career=career_id, result=plan)
        return self._plan_reply(career_id, plan)

    def readiness_plan(self, career_id: str, answers: dict[str, str]) -> ReadinessPlan:
        """Strengths, gaps (not-yet first) and the steps that address the gaps, in course order."""
        career = self.catalog.get(career_id)
        requirements = career.section("requirements").bullets
        strengths = [r for i, r in enumerate(requirements) if answers.get(str(i)) == "y"]
        gaps = sorted(
            (i for i in range(len(requirements)) if answers.get(str(i)) in ("s", "n")),
            key=lambda i: (answers[str(i)] != "n", i),
        )
        return ReadinessPlan(
            strengths=strengths,
            work_on=[
                Gap(requirement=requirements[i], answer=READY_WORDS[answers[str(i)]]) for i in gaps
            ],
            steps=self._steps_for(career_id, gaps),
        )

    def _steps_for(self, career_id: str, gaps: list[int]) -> list[PlanStep]:
        """Getting-started and study bullets closest in meaning to each gap, listed in order."""
        career = self.catalog.get(career_id)
        chosen = self.search.index.nearest_bullets(
            career_id, "requirements", gaps, among=("getting_started", "study"), each=2
        )
        if not chosen:  # nothing to work on: the first steps are the plan
            chosen = [
                ("getting_started", i)
                for i in range(min(3, len(career.section("getting_started").bullets)))
            ]
        steps = [(kind, career.section(kind).bullets[position]) for kind, position in chosen]
        # The learner's timeline: school, then study, then registration, then work.
        ordered = sorted(steps, key=lambda s: (_stage(s[1]), s[0] != "getting_started", s[1]))
        return [PlanStep(section=kind, step=step) for kind, step in ordered]

    def _plan_reply(self, career_id: str, plan: ReadinessPlan) -> Reply:
        career = self.catalog.get(career_id)
        reply = Reply(replace=True).add("title", f"Your plan: {career.title}")
        if plan.strengths:
            reply.add("text", "💪 Your strengths:")
            for strength in plan.strengths:
                reply.add("bullet", strength)
        if plan.work_on:
            reply.add("text", "🛠 To work on:")
            for gap in plan.work_on:
                reply.add("bullet", f"{gap.requirement} ({gap.answer.lower()})")
            reply.add("text", "📌 Steps that help, in order:")
        else:
            reply.add("text", "You feel ready for all of it – great! Your next steps:")
        for step in plan.steps:
            reply.add("bullet", step.step)
        reply.row(
            Button("Getting started", actions.ShowSection(career_id, "getting_started").encode()),
            Button("Study", actions.ShowSection(career_id, "study").encode()),
        )
        return reply.row(Button("↻ Check again", FlowStep("rdy", "go", career=career_id).encode()))
