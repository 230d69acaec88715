"""One turn: a learner's text and the conversation so far in, the answer, its reply and the next
context out. Telegram, the terminal, `ask` and `eval` all go through here, so what `ask` prints
is what a learner sees.

Order matters: a message is checked for distress before any career, section, context or flow
is used, so a learner in distress never gets career content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.dialogue import compose
from bot.dialogue.replies import Block, Reply
from bot.search.across import Plan, Reading
from bot.search.distress import Distress
from bot.search.engine import SearchServices
from bot.search.ranker import Answer, Context, Ranker
from bot.search.text import STOPWORDS, normalise, words

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
        return replace(context, career=answer.career, section=answer.section)
    if answer.outcome == "list":
        return Context(shown=answer.shown, shown_kind="list")
    if answer.outcome == "compare" and answer.shown:
        section = compose.ASPECT_SECTIONS.get(answer.aspect or "", None)
        return Context(answer.shown[0], section, shown=answer.shown, shown_kind="compare")
    return context


ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "last": -1,
}  # fmt: skip


def _referred(reading: Reading, context: Context) -> Context | None:
    """ "the second one", "the other one": a career from the last list or comparison."""
    if reading.named or not context.shown:
        return None
    tokens = reading.tokens
    for token in tokens:
        if token in ORDINALS and ("one" in tokens or token in ("first", "last")):
            position = ORDINALS[token]
            if -len(context.shown) <= position < len(context.shown):
                return replace(context, career=context.shown[position], section=None)
    if "other" in tokens and len(context.shown) == 2 and context.career in context.shown:
        other = next(c for c in context.shown if c != context.career)
        return replace(context, career=other, section=None)
    return None


def _other_language_word(search: SearchServices, reading: Reading, answer: Answer) -> str | None:
    """Say so when a career was understood only from a word in another language."""
    if answer.outcome != "answer" or answer.career is None:
        return None
    words_used = set(reading.tokens)
    used = [
        word
        for word in search.distress.language.other_languages.get(answer.career, [])
        if set(word.split()) <= words_used
    ]
    if not used:
        return None
    career = search.catalog.get(answer.career)
    own = {w for name in (career.title.lower(), *career.aliases) for w in name.split()}
    for word in used:
        if not set(word.split()) <= own:
            title = search.catalog.get(answer.career).title
            return (
                f"I understood “{word}” as {title}. I can only answer in English for now, "
                "so you're welcome to ask in English too."
            )
    return None


def _one_career(
    search: SearchServices, ranker: Ranker, question: str, context: Context, reading: Reading
) -> tuple[Answer, Reply]:
    if reading.named and reading.asks_pay:
        # "how much money does a chef make": pay, even if it sounds like small talk
        answer = Answer("answer", career=reading.named[0], section="employment", confidence=0.9)
    else:
        answer = ranker.answer(question, context)
    career = answer.career
    if reading.asks_pay and answer.outcome == "answer" and career is not None:
        answer = replace(answer, section="employment", highlights=())
        title = search.catalog.get(career).title
        note = (
            f"I don't have reliable pay figures for {title}. Pay grows with qualifications, "
            "experience, scarce skills and the employer. Here is who hires:"
        )
        return answer, compose.section_reply(search.catalog, career, "employment", note=note)
    return answer, compose.answer_reply(search.catalog, answer)


def _partial_name(search: SearchServices, reading: Reading, context: Context) -> Context | None:
    """ "what about electrical" after a civil engineer: the word plus the last career's head
    noun ("electrical engineer") names the next career."""
    if reading.named or context.career not in search.catalog:
        return None
    head = search.catalog.get(str(context.career)).title.lower().split()[-1]
    for token in reading.tokens:
        if token in STOPWORDS or token == head:
            continue
        for mention in search.ranker.names.find([token, head]):
            whole = mention.start == 0 and mention.end == 2 and mention.exact
            if whole and mention.score >= 0.99 and mention.career != context.career:
                return replace(context, career=mention.career)
    return None


def _across(
    search: SearchServices, reading: Reading, text: str, context: Context
) -> tuple[Answer, Reply] | None:
    """Lists, comparisons and guides: questions about more than one career."""
    across = search.across
    plan = across.plan(text, reading, context.career)
    plural = {"they", "them", "both", "each", "those"} & set(reading.tokens)
    if (
        plan is None
        and context.shown_kind == "compare"
        and len(context.shown) >= 2
        and not reading.named
        and plural
    ):
        plan = Plan("compare", context.shown, aspect=across.aspect(reading))
    if plan is None:
        return None
    if plan.kind == "compare":
        aspect = plan.aspect or "tasks"
        answer = Answer("compare", confidence=1.0, shown=plan.careers, aspect=aspect)
        return answer, compose.compare_reply(search.catalog, list(plan.careers), aspect)
    if plan.kind == "guide" and plan.guide is not None and plan.guide in search.guides:
        answer = Answer("guide", confidence=1.0, guide=plan.guide)
        return answer, compose.guide_reply(search.guides.get(plan.guide))
    if reading.money and not reading.has_facets and not reading.similar:
        answer = Answer("list", confidence=1.0)  # nothing to rank honestly without pay data
        return answer, compose.money_reply()
    suggestions = across.suggest(text, reading, context.career)
    careers = [s.career for s in suggestions]
    reasons = [s.reason for s in suggestions]
    interest = not reading.has_facets or bool(
        {"like", "love", "enjoy", "good"} & set(reading.tokens)
    )
    answer = Answer("list", confidence=1.0, shown=tuple(careers), reasons=tuple(reasons))
    reply = compose.list_reply(
        search.catalog, careers, reasons, offer_quiz=interest, money=reading.money
    )
    return answer, reply


def explain_words(search: SearchServices, reply: Reply) -> None:
    """A "Words:" note for abbreviations the reply uses without spelling them out."""
    if reply.support:
        return  # care first: nothing extra in a message to a learner in distress
    text = "\n".join(block.text for block in reply.blocks)
    missing = search.glossary.unexplained(text)
    if missing:
        meanings = search.glossary.abbreviations
        reply.add(
            "note", "Words: " + "; ".join(f"{short} = {meanings[short]}" for short in missing)
        )


def take_turn(
    search: SearchServices,
    text: str,
    context: Context,
    *,
    max_chars: int = 500,
    ranker: Ranker | None = None,
) -> Turn:
    """`ranker` swaps in a baseline for `eval`; everything else is what a learner gets."""
    with search.computing:
        return _take_turn(search, text, context, max_chars=max_chars, ranker=ranker)


def _take_turn(
    search: SearchServices, text: str, context: Context, *, max_chars: int, ranker: Ranker | None
) -> Turn:
    cleaned = " ".join(text.split())
    if not cleaned:
        answer = Answer("decline", intent="empty")
        return Turn(answer, compose.decline_reply("empty"), context, "")
    ranker = ranker or search.ranker
    question = _focus(search, cleaned, max_chars)
    model_question = search.distress.language.expand(normalise(question))
    # Everything the model may read this turn goes through it in one run; the steps below
    # find their vectors in the embedder's cache.
    search.embedder.encode(
        search.distress.pieces(cleaned)
        + ranker.model_texts(model_question)
        + search.across.model_texts(cleaned)
    )
    # Distress is looked for in the whole message: it is often said last, after the question.
    distress = search.distress.detect(cleaned)
    # A sure crisis always gets the help message; so does worry with nothing else asked.
    # Otherwise the question is answered, with a care note and a number on top.
    if distress is not None and (
        (distress.level == "crisis" and distress.sure) or not QUESTION.search(cleaned)
    ):
        return _support_turn(search, distress, context, cleaned)
    known = Context(
        career=context.career if context.career in search.catalog else None,
        section=context.section,
        shown=tuple(c for c in context.shown if c in search.catalog),
        shown_kind=context.shown_kind,
    )
    # Names and facets are read in the whole message, however long; only the model's input
    # is cut.
    reading = search.across.read(cleaned)
    missing = search.across.not_covered(cleaned, reading)
    if missing is not None:
        distress = distress or search.distress.detect(cleaned, lenient=True)
        if distress is not None:  # "my pastor says it's our secret what he does to me"
            return _support_turn(search, distress, context, cleaned)
        name, near = missing
        answer = Answer("uncovered", intent=name, shown=tuple(near))
        return Turn(answer, compose.uncovered_reply(search.catalog, name, near), known, question)
    across = _across(search, reading, cleaned, known)
    if across is not None:
        answer, reply = across
    else:
        known = _referred(reading, known) or _partial_name(search, reading, known) or known
        both = _two_parts(search, ranker, model_question, known)
        answer, reply = both or _one_career(search, ranker, model_question, known, reading)
        understood = _other_language_word(search, reading, answer)
        if understood:
            reply.blocks.insert(0, Block("note", understood))
    if answer.outcome in ("decline", "clarify"):
        # Nothing about careers found: look again for a quieter sign of distress.
        distress = distress or search.distress.detect(cleaned, lenient=True)
        if distress is not None:
            return _support_turn(search, distress, context, cleaned)  # the worry is the topic
    if distress is not None:
        aside = search.distress.content.aside(distress.topic)
        if aside:
            reply.blocks.insert(0, Block("note", aside))
    if len(cleaned) > max_chars:
        notice = (
            "That was a long message, so I read the parts that name a career or ask something."
        )
        reply.blocks.insert(0, Block("note", notice))
    explain_words(search, reply)
    return Turn(answer, reply, next_context(answer, known), question)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
PART_BREAK = re.compile(r"\?\s*|\s+and\s+(?=(?:what|where|how|which|who|when|do|does|can|is)\b)")


def _focus(search: SearchServices, text: str, max_chars: int) -> str:
    """What the model reads of a long message: the sentences that name a career or ask
    something, latest first, within `max_chars`. Names anywhere still count (see `read`)."""
    if len(text) <= max_chars:
        return text
    sentences = [s for s in SENTENCE_END.split(text) if s.strip()]
    scored = []
    for position, sentence in enumerate(sentences):
        tokens = words(sentence)
        named = bool(search.ranker.names.find(tokens))
        asks = "?" in sentence or bool(QUESTION.search(sentence))
        scored.append((named * 2 + asks, position, sentence))
    kept: list[tuple[int, str]] = []
    budget = max_chars
    for _, position, sentence in sorted(scored, key=lambda s: (-s[0], -s[1])):
        if len(sentence) + 1 <= budget:
            kept.append((position, sentence))
            budget -= len(sentence) + 1
    return " ".join(s for _, s in sorted(kept)) or text[-max_chars:]


def _two_parts(
    search: SearchServices, ranker: Ranker, question: str, context: Context
) -> tuple[Answer, Reply] | None:
    """ "what does a dentist do and where do i study it?": both sections, in one reply."""
    parts = [p.strip() for p in PART_BREAK.split(question) if len(p.strip().split()) >= 2]
    if len(parts) < 2:
        return None
    first = ranker.answer(parts[0], context)
    if first.outcome != "answer" or first.career is None or first.section is None:
        return None
    second = ranker.answer(parts[1], Context(career=first.career))
    if (
        second.outcome != "answer"
        or second.career != first.career
        or second.section is None
        or second.section == first.section
        or min(first.confidence, second.confidence) < 0.4
    ):
        return None
    reply = compose.answer_reply(search.catalog, first)
    reply.blocks += compose.section_reply(search.catalog, first.career, second.section).blocks
    return first, reply
    context = Context(career=first.career, section=None)
    for part in parts[1:]:
        other = ranker.answer(part, context)
        section = other.section
        if (
            other.outcome == "answer"
            and other.career == first.career
            and section is not None
            and section != first.section
            and other.confidence >= 0.4
        ):
            return compose.section_reply(search.catalog, str(first.career), section)
    return None


def _support_turn(search: SearchServices, distress: Distress, context: Context, text: str) -> Turn:
    answer = Answer("support", intent=distress.topic, confidence=distress.score)
    reply = compose.support_reply(search.distress.content, distress.topic)
    return Turn(answer, reply, context, text)  # the conversation's context is left as it was
