"""One turn: a learner's text and the conversation so far in, the answer, its reply and the next
context out. Telegram, the terminal, `ask` and `eval` all go through here, so what `ask` prints
is what a learner sees.

Order matters: a message is checked for distress before any career, section, context or flow
is used, so a learner in distress never gets career content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.dialogue import compose
from bot.dialogue.replies import Block, Reply
from bot.search.distress import Distress
from bot.search.engine import SearchServices
from bot.search.ranker import Answer, Context, Ranker

# A message that also asks something: a question mark or a question word learners use.
QUESTION = re.compile(
    r"\?|\b(?:what|wat|which|how|hw|where|whr|when|can i|could i|should i|is there|are there"
    r"|do i|does|do u|do you|is it)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Turn:
    answer: Answer
    reply: Reply
    context: Context  # what the conversation is about after this turn
    question: str  # the text the engine read (whitespace collapsed, cut to the limit)

    @property
    def private(self) -> bool:
        """A message in distress is never stored, only counted."""
        return self.answer.outcome == "support"


def next_context(answer: Answer, context: Context) -> Context:
    """How a conversation's context moves on after an answer."""
    if answer.outcome == "answer" and answer.career:
        return Context(career=answer.career, section=answer.section)
    return context


def take_turn(
    search: SearchServices,
    text: str,
    context: Context,
    *,
    max_chars: int = 500,
    ranker: Ranker | None = None,
) -> Turn:
    """`ranker` swaps in a baseline for `eval`; everything else is what a learner gets."""
    cleaned = " ".join(text.split())
    if not cleaned:
        answer = Answer("decline", intent="empty")
        return Turn(answer, compose.decline_reply("empty"), context, "")
    # Distress is looked for in the whole message: it is often said last, after the question.
    distress = search.distress.detect(cleaned)
    # A sure crisis always gets the help message; so does worry with nothing else asked.
    # Otherwise the question is answered, with a care note and a number on top.
    if distress is not None and (
        (distress.level == "crisis" and distress.sure) or not QUESTION.search(cleaned)
    ):
        return _support_turn(search, distress, context, cleaned)
    question = cleaned[:max_chars]
    known = Context(
        career=context.career if context.career in search.catalog else None,
        section=context.section,
    )
    answer = (ranker or search.ranker).answer(question, known)
    reply = compose.answer_reply(search.catalog, answer)
    if answer.outcome in ("decline", "clarify"):
        # Nothing about careers found: look again for a quieter sign of distress.
        distress = distress or search.distress.detect(cleaned, lenient=True)
        if distress is not None:
            return _support_turn(search, distress, context, cleaned)  # the worry is the topic
    if distress is not None:
        aside = search.distress.content.aside("stress")
        if aside:
            reply.blocks.insert(0, Block("note", aside))
    if len(cleaned) > max_chars:
        notice = f"That was long, so I read only the first {max_chars} characters."
        reply.blocks.insert(0, Block("note", notice))
    return Turn(answer, reply, next_context(answer, known), question)


def _support_turn(search: SearchServices, distress: Distress, context: Context, text: str) -> Turn:
    answer = Answer("support", intent=distress.topic, confidence=distress.score)
    reply = compose.support_reply(search.distress.content, distress.topic)
    return Turn(answer, reply, context, text)  # the conversation's context is left as it was
