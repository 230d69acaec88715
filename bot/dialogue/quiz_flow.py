"""The interest quiz: 30 activities rated with buttons, scored as Holland (RIASEC) types, then
the careers whose codes fit the strongest types, each with the liked activities behind it."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel
from sqlalchemy.orm import Session

from bot.catalog import RIASEC_LETTERS, Catalog
from bot.dialogue import actions
from bot.dialogue.actions import Flow, FlowStep
from bot.dialogue.flow_steps import Progress, advance, begin, question, save_result
from bot.dialogue.replies import Button, Reply
from bot.quizzes import InterestQuizContent
from bot.storage import queries
from bot.storage.models import FlowState

CAREER_WEIGHTS = (1.0, 0.6, 0.35)
FLAT_SPREAD = 2  # top minus bottom type score at or under this: no clear pattern


class CareerMatch(BaseModel):
    id: str
    why: list[str]  # liked statements that drove the match


class InterestResult(BaseModel):
    """What a finished quiz found; stored as JSON (flow_results.result) for "Show my result"."""

    scores: dict[str, int]
    top_types: list[str]
    careers: list[CareerMatch]
    clear: bool


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
        return InterestResult(scores=scores, top_types=top, careers=[], clear=False)
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
        careers.append(CareerMatch(id=career_id, why=why))
    return InterestResult(scores=scores, top_types=top, careers=careers, clear=True)


class InterestQuiz:
    kind = "interest"
    flow: Flow = "quiz"
    typed_choices: Mapping[str, str] = {"yes": "like", "unsure": "unsure", "no": "dislike"}
    cancelled = "the interest quiz (type /quiz to start again)"

    def __init__(self, *, content: InterestQuizContent, catalog: Catalog) -> None:
        self.content = content
        self.catalog = catalog

    def resume_button(self, state: FlowState) -> Button | None:
        return Button("▶ Resume the interest quiz", FlowStep("quiz", "resume").encode())

    def start(self, session: Session, user_key: str, _argument: str = "") -> Reply:
        state = queries.get_flow(session, user_key=user_key, kind=self.kind)
        if state is not None:
            reply = Reply().add(
                "text",
                f"You have a quiz in progress ({state.position} of "
                f"{len(self.content.statements)} answered). Carry on where you stopped?",
            )
            return reply.row(
                Button("▶ Resume", FlowStep("quiz", "resume").encode()),
                Button("↻ Start over", FlowStep("quiz", "new").encode()),
                Button("✖ Cancel", FlowStep("quiz", "x").encode()),
            )
        last = queries.last_flow_result(session, user_key=user_key, kind=self.kind)
        if last is not None:
            reply = Reply().add("text", "You've taken the interest quiz before.")
            return reply.row(
                Button("📋 Show my last result", FlowStep("quiz", "last").encode()),
                Button("↻ Retake", FlowStep("quiz", "new").encode()),
            )
        return self._begin(session, user_key)

    def _begin(self, session: Session, user_key: str) -> Reply:
        intro = Reply().add("title", self.content.title).add("text", self.content.intro)
        return begin(
            session,
            user_key,
            kind=self.kind,
            career=None,
            intro=intro,
            first_question=lambda run: self._question(run, 0),
        )

    def _question(self, run: str, position: int) -> Reply:
        statement = self.content.statements[position]
        return question(
            "quiz",
            run,
            position,
            note=f"Question {position + 1} of {len(self.content.statements)}",
            text=f"How would you feel about this? {statement.text}",
            options=[(option.key, option.label) for option in self.content.answers],
        )

    def on_action(self, session: Session, user_key: str, action: FlowStep) -> Reply:
        step = action.verb
        if step == "start":
            return self.start(session, user_key)
        if step == "new":
            queries.end_flow(session, user_key=user_key, kind=self.kind)
            return self._begin(session, user_key)
        if step == "last":
            last = queries.last_flow_result(session, user_key=user_key, kind=self.kind)
            if last is None:
                return self._ended()
            return self._result_reply(InterestResult.model_validate(last.result))
        state = queries.get_flow(session, user_key=user_key, kind=self.kind)
        if step == "resume" and state is not None:
            return self._question(state.run_id, state.position)
        run = action.run
        if state is None or state.run_id != run:
            if run and queries.flow_result_exists(session, user_key=user_key, run_id=run):
                return Reply(toast="That quiz is already finished.").row(
                    Button("📋 Show my result", FlowStep("quiz", "last").encode()),
                    Button("↻ Retake", FlowStep("quiz", "new").encode()),
                )
            return self._ended()
        if step == "x":
            queries.end_flow(session, user_key=user_key, kind=self.kind)
            return Reply(replace=True).add("text", "Quiz cancelled. Type /quiz to start again.")
        outcome = advance(
            session,
            user_key,
            self.kind,
            state,
            action,
            total=len(self.content.statements),
            answer_key=lambda position: self.content.statements[position].id,
            choices={option.key for option in self.content.answers},
        )
        if outcome.progress is not Progress.FINISHED:
            return outcome.reply(lambda position: self._question(run, position))
        result = score_interests(self.content, self.catalog, outcome.answers)
        save_result(session, user_key, kind=self.kind, run=run, career=None, result=result)
        return self._result_reply(result)

    def _ended(self) -> Reply:
        reply = Reply(toast="This quiz has ended.").add(
            "text", "This quiz has ended (or was deleted). Start a new one?"
        )
        return reply.row(Button("🧭 Start the quiz", FlowStep("quiz", "new").encode()))

    def _result_reply(self, result: InterestResult) -> Reply:
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
            kind = self.content.types[letter]
            reply.add("bullet", f"{kind.name} ({kind.nickname}): {kind.sentence}")
        reply.add("text", "Careers that fit you best:")
        buttons = []
        for match in result.careers:
            if match.id not in self.catalog:
                continue
            career = self.catalog.get(match.id)
            liked = "; ".join(w.lower() for w in match.why)
            because = f" – because you liked: {liked}" if match.why else ""
            reply.add("bullet", f"{career.title}{because}")
            buttons.append(
                Button(career.title, actions.ShowSection(career.id, "overview").encode())
            )
        for i in range(0, len(buttons), 2):
            reply.row(*buttons[i : i + 2])
        return reply.row(Button("↻ Retake the quiz", FlowStep("quiz", "new").encode()))
