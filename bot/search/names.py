"""Which career a question names: titles, aliases and near-misses ("pharmasist")."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.search.text import STOPWORDS, stem, words

MAX_NAME_WORDS = 4
FUZZY_MIN_LENGTH = 5
FUZZY_MIN_RATIO = 86.0


@dataclass(frozen=True)
class Mention:
    career: str
    score: float  # 1.0 for an exact name, less for a fuzzy one
    start: int  # token span in the question
    end: int
    name: str
    exact: bool = True  # False for a near-miss spelling


class NameMatcher:
    def __init__(self, names: dict[str, tuple[str, ...]]) -> None:
        self._exact: dict[str, set[str]] = {}
        for career, career_names in names.items():
            for name in career_names:
                for variant in self._variants(name):
                    self._exact.setdefault(variant, set()).add(career)
        # A question's phrase never has a hyphen, so "stage-actor" is never closer to it than
        # "stage actor": near-misses are looked for among the other spellings only.
        self._fuzzy_keys = [
            key for key in self._exact if len(key.replace(" ", "")) >= 6 and "-" not in key
        ]
        # One turn reads the same words several times (ranker, comparisons, guides).
        self._find_remembered = functools.lru_cache(maxsize=4096)(self._find)

    @staticmethod
    def _variants(name: str) -> set[str]:
        tokens = [stem(token) for token in words(name)]
        joined = " ".join(tokens)
        return {joined, joined.replace(" ", ""), joined.replace(" ", "-")} - {""}

    def find(self, tokens: list[str]) -> list[Mention]:
        """Longest exact names first, then fuzzy ones, never overlapping."""
        return list(self._find_remembered(tuple(tokens)))

    def _find(self, tokens: tuple[str, ...]) -> tuple[Mention, ...]:
        stemmed = [stem(token) for token in tokens]
        candidates: list[Mention] = []
        fuzzy: list[tuple[str, int, int]] = []  # phrases no name matches exactly
        for size in range(min(MAX_NAME_WORDS, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                phrase = " ".join(stemmed[start : start + size])
                careers = self._exact.get(phrase) or self._exact.get(phrase.replace(" ", ""))
                if careers:
                    for career in careers:
                        score = 1.0 / len(careers)
                        candidates.append(Mention(career, score, start, start + size, phrase))
                elif len(phrase.replace(" ", "")) >= FUZZY_MIN_LENGTH and not (
                    tokens[start] in STOPWORDS or tokens[start + size - 1] in STOPWORDS
                ):  # "an engineer" is not a typo of "qa engineer"
                    fuzzy.append((phrase, start, start + size))
        if fuzzy and self._fuzzy_keys:  # every phrase against every name in one call
            ratios = process.cdist(
                [phrase for phrase, _, _ in fuzzy],
                self._fuzzy_keys,
                scorer=fuzz.ratio,
                score_cutoff=FUZZY_MIN_RATIO,
            )
            for (_, start, end), row in zip(fuzzy, ratios, strict=True):
                best = int(row.argmax())
                ratio = float(row[best])
                if ratio < FUZZY_MIN_RATIO:
                    continue
                key = self._fuzzy_keys[best]
                closeness = (ratio - FUZZY_MIN_RATIO) / (100 - FUZZY_MIN_RATIO)
                for career in self._exact[key]:
                    candidates.append(
                        Mention(career, 0.5 + 0.4 * closeness, start, end, key, exact=False)
                    )
        chosen: list[Mention] = []
        taken: set[int] = set()
        for mention in sorted(candidates, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
            span = set(range(mention.start, mention.end))
            if span & taken and not any(
                c.start == mention.start and c.end == mention.end for c in chosen
            ):
                continue
            chosen.append(mention)
            taken |= span
        return tuple(chosen)
