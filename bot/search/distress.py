"""Recognising a learner in distress, before anything else is done with a message.

A message is compared in meaning with the distress examples of knowledge/support.yaml and with
messages that are *not* distress (career talk that sounds like it, and every intent example).
It counts as distress when it is close to a distress example and clearly closer to it than to
anything harmless. Long messages are also judged clause by clause, so "i like maths but honestly
i just want to die" is caught by its second half. Shorthand is expanded first ("kms", "wanna").
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.search.embedder import Embedder
from bot.search.text import normalise, words
from bot.support import Language, Level, SupportContent

# Clause boundaries: sentence ends and the joins learners use to tack a second thought on.
CLAUSE_BREAK = re.compile(
    r"[.!?;:\n]+|,|\b(?:but|and|because|so|also|though|tbh|honestly|anyway|coz|cuz|bt|n)\b"
)
MIN_CLAUSE_WORDS = 3
MAX_PIECES = 10
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DistressWeights:
    """Thresholds on cosine similarity, tuned on tests/data and checked on the shared dev set."""

    floor: float = 0.50  # at least this close to some distress example
    margin: float = 0.04  # and this much closer to it than to any harmless message
    strong: float = 0.72  # this close counts even if a harmless message is about as close
    crisis_slack: float = 0.03  # a crisis topic this near the best one wins: err on safety
    crisis_sure: float = 0.58  # a crisis example this close wins whatever else matched
    # A linear model over the same examples generalises to phrasings no example is near.
    model_alone: float = 0.75  # its probability that flags a message by itself
    model_near: float = 0.6  # ...or together with a distress example at least `near` close
    near: float = 0.45
    model_veto: float = 0.2  # below this, a near example is taken for a coincidence
    harmless_lead: float = 0.15  # the model is overruled when a harmless text is this much closer
    l2: float = 1e-3
    sure: float = 0.55  # an example this close makes it certain, even inside a career question
    # When the message is about nothing the bot can answer, a weaker sign is enough.
    lenient_model: float = 0.45
    lenient_near: float = 0.42


@dataclass(frozen=True)
class Distress:
    level: Level
    topic: str
    score: float  # similarity to the closest distress example
    example: str  # which example it matched (for tests and logs, never stored)
    sure: bool  # close to an example, not only the linear model's reading of it


class DistressDetector:
    def __init__(
        self,
        content: SupportContent,
        language: Language,
        embedder: Embedder,
        harmless: list[str],
        weights: DistressWeights | None = None,
    ) -> None:
        self.content = content
        self.language = language
        self.embedder = embedder
        self.weights = weights or DistressWeights()
        self._examples: list[tuple[str, str]] = [
            (name, self._prepare(example))
            for name, topic in content.topics.items()
            for example in topic.examples
        ]
        self._harmless = list(
            dict.fromkeys(self._prepare(text) for text in [*content.false_alarms, *harmless])
        )
        vectors = embedder.encode([text for _, text in self._examples] + self._harmless)
        self._distress_vectors = vectors[: len(self._examples)]
        self._harmless_vectors = vectors[len(self._examples) :]
        self._coef, self._bias = _fit_logistic(
            vectors,
            np.r_[np.ones(len(self._examples)), np.zeros(len(self._harmless))],
            self.weights.l2,
        )
        self._topic_of = np.array([name for name, _ in self._examples])
        self._crisis = np.array(
            [content.topics[name].level == "crisis" for name, _ in self._examples]
        )

    def _prepare(self, text: str) -> str:
        return " ".join(self.language.expand(normalise(text)).split())

    def pieces(self, text: str) -> list[str]:
        """The whole message and its clauses (the last ones first kept when there are many)."""
        prepared = self._prepare(text)
        if not prepared:
            return []
        clauses = [c.strip() for c in CLAUSE_BREAK.split(prepared)]
        clauses = [c for c in clauses if len(c.split()) >= MIN_CLAUSE_WORDS and c != prepared]
        # Neighbouring clauses together keep "i dont want to live" + "like this" readable.
        pairs = [f"{a} {b}" for a, b in itertools.pairwise(clauses)]
        # A piece with the same words as one before it ("are you ok?" and "are you ok") reads
        # the same: it would cost a model run and add nothing.
        seen: set[tuple[str, ...]] = set()
        found = []
        for piece in [prepared, *clauses, *pairs]:
            key = tuple(words(piece))
            if key not in seen:
                seen.add(key)
                found.append(piece)
        return found[:1] + found[1:][-(MAX_PIECES - 1) :]

    def scores(self, text: str) -> tuple[list[str], Matrix, Matrix, Matrix]:
        """Per piece: similarity to every distress example, to the closest harmless text, and
        the linear model's probability of distress."""
        pieces = self.pieces(text)
        if not pieces:
            empty = np.zeros(0, dtype=np.float32)
            return pieces, np.zeros((0, len(self._examples)), dtype=np.float32), empty, empty
        vectors = self.embedder.encode(pieces)
        distress = vectors @ self._distress_vectors.T
        harmless = (vectors @ self._harmless_vectors.T).max(axis=1)
        probability = 1 / (1 + np.exp(-(vectors @ self._coef + self._bias)))
        return pieces, distress, harmless, probability.astype(np.float32)

    def detect(self, text: str, *, lenient: bool = False) -> Distress | None:
        """`lenient` for a message the bot found nothing else in: better a kind word too many."""
        _, distress, harmless, probability = self.scores(text)
        if not len(distress):
            return None
        w = self.weights
        best = distress.max(axis=1)
        near_example = (best >= w.floor) & ((best - harmless >= w.margin) | (best >= w.strong))
        model_says = (probability >= w.model_alone) | (
            (probability >= w.model_near) & (best >= w.near)
        )
        flagged = (near_example & (probability >= w.model_veto)) | (
            model_says & (harmless - best < w.harmless_lead)
        )
        if lenient:
            flagged |= (
                (probability >= w.lenient_model) & (best >= w.lenient_near) & (best > harmless)
            )
        if not flagged.any():
            return None
        candidates = distress[flagged]
        top = float(candidates.max())
        crisis = float(candidates[:, self._crisis].max(initial=-1.0))
        if crisis >= min(top - w.crisis_slack, w.crisis_sure):
            candidates = np.where(self._crisis, candidates, -1.0)
        closest = candidates.max(axis=0)
        index = int(closest.argmax())
        score = float(closest[index])
        topic = str(self._topic_of[index])
        return Distress(
            level=self.content.topics[topic].level,
            topic=topic,
            score=round(score, 3),
            example=self._examples[index][1],
            sure=score >= w.sure,
        )


def _fit_logistic(
    vectors: Matrix, labels: npt.NDArray[np.float64], l2: float, steps: int = 3000
) -> tuple[npt.NDArray[np.float64], float]:
    """Class-balanced logistic regression by gradient descent: a few hundred rows, a second."""
    x = vectors.astype(np.float64)
    positive = labels.mean()
    weight = np.where(labels == 1, 0.5 / positive, 0.5 / (1 - positive))
    coef, bias = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        error = (1 / (1 + np.exp(-(x @ coef + bias))) - labels) * weight
        coef -= 2.0 * (x.T @ error / len(labels) + l2 * coef)
        bias -= 2.0 * float(error.mean())
    return coef, bias
