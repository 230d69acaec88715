"""Where a question becomes a (career, section) answer.

Evidence is combined from four places: names in the question (exact or fuzzy), the question's
embedding against sections, bullets and intent examples, and BM25 over the sections. The intent
examples decide *what* is asked (tasks, study, small talk, off-topic); names and content decide
*which career*. Follow-ups borrow what the question leaves out from the conversation context.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

import bm25s
import numpy as np
import numpy.typing as npt

from bot.catalog import SECTION_KINDS, Catalog
from bot.search.embedder import Embedder
from bot.search.index import LoadedIndex, career_names
from bot.search.intents import INTENTS, SMALL_TALK_INTENTS
from bot.search.names import Mention, NameMatcher
from bot.search.text import normalise, tokenize, words

Vector = npt.NDArray[np.float32]

Mode = Literal["hybrid", "lexical", "dense"]
Outcome = Literal[
    "answer", "smalltalk", "decline", "clarify", "support", "list", "compare", "guide", "uncovered"
]
# The answer kinds of `ask --json` (see ../shared/eval/README.md), by outcome.
KIND_OF_OUTCOME = {"answer": "section", "uncovered": "clarify"}

# Weights and thresholds, tuned on our own questions (tests/) and checked on the dev set.
LOW_CONFIDENCE = 0.45  # below this an answer says "I'm not completely sure"
LIST_PAGE = 5  # careers a list shows at a time


@dataclass(frozen=True)
class RankerWeights:
    """Every weight and threshold of the one-career ranker, in one place `eval` can sweep
    (`python -m bot eval ... --weight content=6`). Tuned on tests/data, checked on the dev set."""

    # What is asked: intents from the example questions.
    intent_temperature: float = 0.03  # softmax over intent similarities
    intent_lexical: float = 0.08  # BM25 over the examples, added to their similarity
    small_talk_min: float = 0.45  # below: "small talk" is a guess (likely another language)
    off_topic_section_mass: float = 0.15  # a named career still declines off-topic under this
    # Which career.
    mention: float = 2.0  # a name in the question
    lexical_career: float = 0.3  # BM25 over the sections
    dense_section: float = 0.6  # the closest section...
    dense_name: float = 0.4  # ...and the names row, in the dense career score
    ambiguous_names: float = 0.8  # several exact names: less sure
    dense_career_min: float = 0.42  # closeness that names a career without its name
    dense_career_gap: float = 0.02  # ...ahead of the runner-up by this much
    context_keeps_below: float = 0.55  # a follow-up stays with the last career under this
    carried_confidence: float = 0.9
    # Which section.
    content: float = 8.0  # bullets that match the question pull their section
    follow_up_mass: float = 0.35  # less section intent than this: a follow-up or an overview
    # Alternatives ("did you mean").
    rival_share: float = 0.8  # another career's confidence relative to the answer
    did_you_mean_share: float = 0.6  # offered when this close to the answer (if unsure: all)


@dataclass(frozen=True)
class Context:
    """What the conversation was last about; the dialogue layer stores it per learner."""

    career: str | None = None
    section: str | None = None
    shown: tuple[str, ...] = ()  # careers of the last list or comparison, for "the second one"
    shown_kind: str | None = None  # "list" or "compare"


@dataclass(frozen=True)
class Candidate:
    career: str
    section: str
    confidence: float


@dataclass
class Answer:
    outcome: Outcome
    career: str | None = None
    section: str | None = None
    confidence: float = 0.0
    alternatives: list[Candidate] = field(default_factory=list)
    did_you_mean: list[Candidate] = field(default_factory=list)  # alternatives the reply offers
    intent: str | None = None  # greeting/thanks/goodbye for small talk
    highlights: tuple[int, ...] = ()  # positions of the bullets that best match the question
    shown: tuple[str, ...] = ()  # the careers of a list or a comparison, in order
    reasons: tuple[str, ...] = ()  # why each listed career fits
    guide: str | None = None
    aspect: str | None = None  # what a comparison puts side by side

    @property
    def kind(self) -> str:
        return KIND_OF_OUTCOME.get(self.outcome, self.outcome)

    @property
    def careers(self) -> list[str]:
        if self.outcome == "list":
            return list(self.shown[:LIST_PAGE])
        if self.outcome == "compare":
            return list(self.shown)
        return [self.career] if self.outcome == "answer" and self.career else []

    @property
    def low_confidence(self) -> bool:
        return self.outcome == "answer" and self.confidence < LOW_CONFIDENCE


def _softmax(scores: npt.NDArray[np.float64], temperature: float) -> npt.NDArray[np.float64]:
    shifted = (scores - scores.max()) / temperature
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(), dtype=np.float64)


class Ranker:
    def __init__(
        self,
        catalog: Catalog,
        index: LoadedIndex,
        embedder: Embedder,
        mode: Mode = "hybrid",
        *,
        other_names: dict[str, list[str]] | None = None,
        weights: RankerWeights | None = None,
    ) -> None:
        """`other_names`: career words in other languages and common misspellings (content)."""
        self.catalog = catalog
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.weights = weights or RankerWeights()
        names = career_names(catalog)
        for career, extra in (other_names or {}).items():
            if career in names:
                names[career] = tuple(dict.fromkeys([*names[career], *extra]))
        self.names = NameMatcher(names)
        self.career_ids = [career.id for career in catalog]
        self._career_pos = {career: i for i, career in enumerate(self.career_ids)}
        self._kind_pos = {kind: i for i, kind in enumerate(SECTION_KINDS)}
        rows = index.rows
        self._name_rows = np.array([i for i, r in enumerate(rows) if r.kind == "name"])
        self._name_careers = [self._career_pos[rows[i].career or ""] for i in self._name_rows]
        self._section_rows = np.full((len(self.career_ids), len(SECTION_KINDS)), -1)
        self._bullet_rows: dict[tuple[str, str], list[int]] = {}
        self._example_rows: dict[str, list[int]] = {intent: [] for intent in INTENTS}
        for i, row in enumerate(rows):
            if row.kind == "section" and row.career and row.section:
                self._section_rows[self._career_pos[row.career], self._kind_pos[row.section]] = i
            elif row.kind == "bullet" and row.career and row.section:
                self._bullet_rows.setdefault((row.career, row.section), []).append(i)
            elif row.kind == "example" and row.section in self._example_rows:
                self._example_rows[row.section].append(i)
        # Names and sections are scored for every career; bullets only for the chosen one.
        self._head_rows = np.array(
            [i for i, r in enumerate(rows) if r.kind in ("name", "section")]
        )
        self._head_vectors = index.vectors[self._head_rows]
        self._career_bullets: dict[str, list[int]] = {}
        for (career, _), bullet_rows in self._bullet_rows.items():
            self._career_bullets.setdefault(career, []).extend(bullet_rows)
        # The examples intent by intent in one matrix: a question's intent is read from them.
        self._example_order = [i for intent in INTENTS for i in self._example_rows[intent]]
        self._example_vectors = index.vectors[self._example_order]
        starts = np.cumsum([0] + [len(self._example_rows[intent]) for intent in INTENTS])
        self._example_spans = [slice(a, b) for a, b in itertools.pairwise(starts)]
        self._bm25_pos = np.array(
            [
                self._career_pos[c] * len(SECTION_KINDS) + self._kind_pos[k]
                for c, k in index.bm25_keys
            ]
        )
        # The intent examples' own small BM25: one document per intent, cheap to build here.
        # Words that say *what kind* of thing is asked ("study", "become", "skills"); the rest of
        # a question's words are its content, used to point at the bullets that mention them.
        self._cue_words = {
            token
            for intent in INTENTS
            for ex in self._examples_text(intent)
            for token in tokenize(ex)
        }
        self._bullet_tokens = {
            key: [set(tokenize(self.index.rows[i].text.split(":", 1)[-1])) for i in rows]
            for key, rows in self._bullet_rows.items()
        }
        self._intent_bm25 = bm25s.BM25()
        self._intent_bm25.index(
            [
                [t for ex in self._examples_text(intent) for t in tokenize(ex)] or ["_"]
                for intent in INTENTS
            ],
            show_progress=False,
        )

    def _examples_text(self, intent: str) -> list[str]:
        return [self.index.rows[i].text for i in self._example_rows[intent]]

    # ------------------------------------------------------------------ evidence
    def _read(self, question: str) -> tuple[str, list[str], list[Mention], list[str]]:
        """The question's text and words, the career names in it, and its other words."""
        text = normalise(question)
        tokens = words(text)
        mentions: list[Mention] = self.names.find(tokens) if self.mode != "dense" else []
        named_tokens = {i for m in mentions for i in range(m.start, m.end)}
        stripped = [t for i, t in enumerate(tokens) if i not in named_tokens]
        return text, tokens, mentions, stripped

    @staticmethod
    def _model_texts(text: str, tokens: list[str], stripped: list[str]) -> list[str]:
        if stripped and len(stripped) < len(tokens):
            return [text, " ".join(stripped)]
        return [text]  # no name to strip, or nothing but a name: one sequence is enough

    def model_texts(self, question: str) -> list[str]:
        """What `answer` gives the model for this question (a turn encodes it all at once)."""
        if self.mode == "lexical":
            return []
        text, tokens, _, stripped = self._read(question)
        return self._model_texts(text, tokens, stripped) if tokens else []

    def _similarities(self, texts: list[str]) -> tuple[Vector, Vector, Vector]:
        """The first text's vector and its cosine similarity to every name and section row (the
        rest of the rows are 0 until `_score_bullets`), and the last text's similarity to the
        intent examples; one encode for both texts.

        Plain matrix products over just the rows needed, not a FAISS search: every name and
        section is needed (they are pooled per career), and on a few thousand rows a product
        is the faster way to get them all.
        """
        queries = self.embedder.encode(texts)
        sims = np.zeros(len(self.index.rows), dtype=np.float32)
        sims[self._head_rows] = self._head_vectors @ queries[0]
        return queries[0], sims, self._example_vectors @ queries[-1]

    def _score_bullets(self, sims: Vector, question: Vector, career_id: str) -> None:
        rows = self._career_bullets.get(career_id, [])
        if rows:
            sims[rows] = self.index.vectors[rows] @ question

    def _section_lexical(self, tokens: list[str]) -> npt.NDArray[np.float64]:
        """BM25 per (career, section), scaled to [0, 1]."""
        out = np.zeros(len(self.career_ids) * len(SECTION_KINDS))
        if tokens:
            raw = self.index.bm25.get_scores(tokens)
            out[self._bm25_pos] = raw
            top = out.max()
            if top > 0:
                out /= top
        return out.reshape(len(self.career_ids), len(SECTION_KINDS))

    def _intent_scores(
        self, example_sims: Vector | None, stripped_tokens: list[str]
    ) -> npt.NDArray[np.float64]:
        scores = np.zeros(len(INTENTS))
        if example_sims is not None:
            for i, span in enumerate(self._example_spans):
                values = np.sort(example_sims[span])[-3:]
                scores[i] = float(values.mean())
        if stripped_tokens and self.mode != "dense":
            lexical = self._intent_bm25.get_scores(stripped_tokens)
            if lexical.max() > 0:
                weight = self.weights.intent_lexical if example_sims is not None else 1.0
                scores += weight * lexical / lexical.max()
        return scores

    # ------------------------------------------------------------------ decision
    def answer(self, question: str, context: Context | None = None) -> Answer:
        w = self.weights
        context = context or Context()
        text, tokens, mentions, stripped = self._read(question)
        if not tokens:
            return Answer("decline", intent="empty")
        stripped_tokens = tokenize(" ".join(stripped))

        # The question as asked finds careers and content; without the career's name it shows
        # what kind of thing is asked. Both go through the model in one batch.
        sims = example_sims = question_vector = None
        if self.mode != "lexical":
            question_vector, sims, example_sims = self._similarities(
                self._model_texts(text, tokens, stripped)
            )
        lexical = (
            self._section_lexical(tokenize(text))
            if self.mode != "dense"
            else np.zeros((len(self.career_ids), len(SECTION_KINDS)))
        )
        intent_scores = self._intent_scores(example_sims, stripped_tokens)
        temperature = w.intent_temperature if sims is not None else 0.3
        intent_probs = _softmax(intent_scores, temperature)
        if not stripped:  # only a career's name: like "and for nurses?"
            intent_probs = np.zeros(len(INTENTS))
            intent_probs[INTENTS.index("follow_up")] = 1.0
        top_intent = INTENTS[int(intent_probs.argmax())]
        section_probs = intent_probs[: len(SECTION_KINDS)]
        section_mass = float(section_probs.sum())

        # Career evidence.
        mention_score = np.zeros(len(self.career_ids))
        for mention in mentions:
            pos = self._career_pos[mention.career]
            mention_score[pos] = max(mention_score[pos], mention.score)
        if sims is not None:
            section_sims = sims[self._section_rows]
            name_sims = np.zeros(len(self.career_ids))
            name_sims[self._name_careers] = sims[self._name_rows]
            dense_career = w.dense_section * section_sims.max(axis=1) + w.dense_name * name_sims
        else:
            section_sims = np.zeros((len(self.career_ids), len(SECTION_KINDS)))
            dense_career = np.zeros(len(self.career_ids))
        lexical_career = lexical.max(axis=1)
        career_score = w.mention * mention_score + dense_career + w.lexical_career * lexical_career
        order = np.argsort(-career_score)
        named = mention_score.max() > 0

        if not named:
            if top_intent in SMALL_TALK_INTENTS:
                if intent_scores.max() < w.small_talk_min:  # e.g. another language: say so
                    return Answer("decline", intent="unclear")
                return Answer("smalltalk", intent=top_intent, confidence=float(intent_probs.max()))
            if top_intent == "off_topic":
                return Answer("decline", intent="off_topic", confidence=float(intent_probs.max()))
        elif top_intent == "off_topic" and section_mass < w.off_topic_section_mass:
            return Answer("decline", intent="off_topic", confidence=float(intent_probs.max()))

        # Which career.
        carried = False
        if named:
            career_pos = int(order[0])
            career_conf = float(min(1.0, mention_score[career_pos]))
            if len(mentions) > 1 and sum(1 for m in mentions if m.score >= 0.99) > 1:
                career_conf *= w.ambiguous_names
        else:
            best = int(order[0])
            runner = float(dense_career[order[1]]) if len(order) > 1 else 0.0
            strong = (
                sims is not None
                and dense_career[best] >= w.dense_career_min
                and dense_career[best] - runner > w.dense_career_gap
            )
            wants_section = top_intent in SECTION_KINDS or top_intent == "follow_up"
            if (
                context.career in self._career_pos
                and wants_section
                and (not strong or dense_career[best] < w.context_keeps_below)
            ):
                career_pos = self._career_pos[context.career]
                career_conf = w.carried_confidence
                carried = True
            elif strong:
                career_pos = best
                gap = float(dense_career[best] - runner)
                career_conf = float(
                    1
                    / (1 + math.exp(-(dense_career[best] - 0.5) / 0.04))
                    * min(1.0, 0.5 + 5 * gap)
                )
            elif self.mode == "lexical" and lexical_career.max() > 0 and section_mass > 0.3:
                career_pos = int(np.argmax(lexical_career))
                career_conf = 0.4
            else:
                return Answer(
                    "clarify" if wants_section else "decline",
                    intent=top_intent,
                )
        career_id = self.career_ids[career_pos]

        # Which section.
        bullet_best = np.zeros(len(SECTION_KINDS))
        if sims is not None and question_vector is not None:
            self._score_bullets(sims, question_vector, career_id)
            for kind, pos in self._kind_pos.items():
                rows = self._bullet_rows.get((career_id, kind), [])
                if rows:
                    bullet_best[pos] = float(sims[rows].max())
        content = bullet_best - bullet_best.mean() if sims is not None else lexical[career_pos]
        kind_scores = np.log(section_probs / max(section_mass, 1e-9) + 1e-6)
        kind_scores += w.content * content
        if sims is None:
            kind_scores = np.log(section_probs + 1e-6) + 0.5 * lexical[career_pos]
        follow_up = top_intent == "follow_up" or section_mass < w.follow_up_mass
        if follow_up and context.section in self._kind_pos and not carried:
            section = context.section
            kind_probs = np.zeros(len(SECTION_KINDS))
            kind_probs[self._kind_pos[section]] = 0.85
        elif section_mass < w.follow_up_mass and not carried:
            section = "overview"
            kind_probs = _softmax(kind_scores, 1.0)
            kind_probs = 0.5 * kind_probs
            kind_probs[0] += 0.5
        else:
            kind_probs = _softmax(kind_scores, 1.0)
            section = SECTION_KINDS[int(kind_probs.argmax())]
        confidence = career_conf * float(kind_probs[self._kind_pos[section]])

        # A career carried over from the conversation has no rivals worth offering.
        rivals = order[:1] if carried else order
        alternatives = self._alternatives(
            career_pos, career_conf, kind_probs, career_score, rivals, section, confidence
        )
        content_words = {t for t in stripped_tokens if t not in self._cue_words and len(t) > 2}
        highlights = (
            self._highlights(sims, career_id, section, content_words) if sims is not None else ()
        )
        confidence = round(confidence, 3)
        return Answer(
            "answer",
            career=career_id,
            section=section,
            confidence=confidence,
            alternatives=alternatives,
            did_you_mean=self._did_you_mean(alternatives, confidence),
            intent=top_intent,
            highlights=highlights,
        )

    def _alternatives(
        self,
        career_pos: int,
        career_conf: float,
        kind_probs: npt.NDArray[np.float64],
        career_score: npt.NDArray[np.float64],
        order: npt.NDArray[np.intp],
        section: str,
        confidence: float,
    ) -> list[Candidate]:
        career_id = self.career_ids[career_pos]
        pool: list[Candidate] = []
        for kind, pos in self._kind_pos.items():
            if kind != section:
                pool.append(
                    Candidate(career_id, kind, round(career_conf * float(kind_probs[pos]), 3))
                )
        if len(order) > 1:
            top = float(career_score[career_pos])
            for other in order[:4]:
                if int(other) == career_pos:
                    continue
                ratio = float(career_score[other]) / top if top > 0 else 0.0
                pool.append(
                    Candidate(
                        self.career_ids[other],
                        section,
                        round(confidence * ratio * self.weights.rival_share, 3),
                    )
                )
        pool.sort(key=lambda c: -c.confidence)
        return [c for c in pool[:3] if c.confidence > 0]

    def _did_you_mean(self, alternatives: list[Candidate], confidence: float) -> list[Candidate]:
        """The alternatives worth offering beside the answer: all of them when the answer itself
        is unsure, otherwise those nearly as likely as it."""
        if confidence < LOW_CONFIDENCE:
            return alternatives
        share = self.weights.did_you_mean_share
        return [alt for alt in alternatives if alt.confidence >= share * confidence]

    def _highlights(
        self,
        sims: npt.NDArray[np.float32],
        career_id: str,
        section: str,
        content_words: set[str],
    ) -> tuple[int, ...]:
        """Bullets that mention what the question is about, or stand out from their section in
        meaning; best first, at most two. A generic question marks nothing."""
        rows = self._bullet_rows.get((career_id, section), [])
        if len(rows) < 3:
            return ()
        values = sims[rows]
        ranked = [int(i) for i in np.argsort(-values)]
        if content_words:
            tokens = self._bullet_tokens[(career_id, section)]
            mentioning = [
                i
                for i in ranked
                if any(
                    t.startswith(w) or w.startswith(t)
                    for w in content_words
                    for t in tokens[i]
                    if len(t) > 3
                )
            ]
            if mentioning:
                return tuple(mentioning[:2])
        spread = values - values.mean()
        return tuple(i for i in ranked[:2] if spread[i] >= 0.1)
