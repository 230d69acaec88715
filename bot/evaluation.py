"""Accuracy figures for the answer engine on labelled questions and dialogues."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.search.ranker import Answer, Context, Ranker


@dataclass(frozen=True)
class Labelled:
    id: str
    question: str
    career: str | None
    sections: tuple[str, ...]
    dialogue: str | None = None


@dataclass
class Scores:
    in_domain: int = 0
    off_topic: int = 0
    top1: int = 0
    top3: int = 0
    career_right: int = 0
    reciprocal_rank: float = 0.0
    declined_off_topic: int = 0
    wrongly_declined: int = 0
    misses: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        n = max(self.in_domain, 1)
        return {
            "top1": self.top1 / n,
            "top3": self.top3 / n,
            "career": self.career_right / n,
            "mrr": self.reciprocal_rank / n,
            "off_topic_declined": self.declined_off_topic / max(self.off_topic, 1),
            "wrongly_declined": self.wrongly_declined / n,
        }


def read_questions(path: Path) -> list[Labelled]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            items.append(
                Labelled(raw["id"], raw["q"], raw.get("career"), tuple(raw.get("sections") or ()))
            )
    return items


def read_dialogues(path: Path) -> list[Labelled]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            for turn_number, turn in enumerate(raw["turns"]):
                items.append(
                    Labelled(
                        f"{raw['dialogue']}.{turn_number}",
                        turn["q"],
                        turn.get("career"),
                        tuple(turn.get("sections") or ()),
                        dialogue=raw["dialogue"],
                    )
                )
    return items


def ranked(answer: Answer) -> list[tuple[str, str]]:
    if answer.outcome != "answer" or answer.career is None or answer.section is None:
        return []
    return [(answer.career, answer.section)] + [(c.career, c.section) for c in answer.alternatives]


def next_context(answer: Answer, context: Context) -> Context:
    """How a conversation's context moves on after an answer (shared with the dialogue layer)."""
    if answer.outcome == "answer" and answer.career:
        return Context(career=answer.career, section=answer.section)
    return context


def evaluate(ranker: Ranker, items: Iterable[Labelled]) -> Scores:
    scores = Scores()
    contexts: dict[str, Context] = {}
    for item in items:
        context = contexts.get(item.dialogue, Context()) if item.dialogue else Context()
        answer = ranker.answer(item.question, context)
        if item.dialogue:
            contexts[item.dialogue] = next_context(answer, context)
        if item.career is None:
            scores.off_topic += 1
            if answer.outcome != "answer":
                scores.declined_off_topic += 1
            else:
                scores.misses.append(f"{item.id} {item.question!r}: answered {answer.career}")
            continue
        scores.in_domain += 1
        ranking = ranked(answer)
        if not ranking:
            scores.wrongly_declined += 1
            scores.misses.append(f"{item.id} {item.question!r}: declined ({answer.outcome})")
            continue
        if ranking[0][0] == item.career:
            scores.career_right += 1
        hits = [i for i, (c, s) in enumerate(ranking) if c == item.career and s in item.sections]
        if hits:
            scores.reciprocal_rank += 1 / (hits[0] + 1)
            scores.top1 += hits[0] == 0
            scores.top3 += hits[0] < 3
        if not hits or hits[0] != 0:
            scores.misses.append(
                f"{item.id} {item.question!r}: got {ranking[0]} want {item.career} {item.sections}"
            )
    return scores


def format_table(results: dict[str, Scores]) -> str:
    names = list(results)
    rows = [("", *names)]
    labels = {
        "top1": "top-1 (career + section)",
        "top3": "top-3",
        "career": "career right",
        "mrr": "MRR",
        "off_topic_declined": "off-topic declined",
        "wrongly_declined": "in-domain wrongly declined",
    }
    figures = {name: scores.figures() for name, scores in results.items()}
    for key, label in labels.items():
        rows.append((label, *(f"{figures[name][key]:.3f}" for name in names)))
    first = results[names[0]]
    rows.append(
        (
            "questions (in-domain / off-topic)",
            *(f"{first.in_domain} / {first.off_topic}" for _ in names),
        )
    )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) for row in rows
    )


def as_json(results: dict[str, Scores]) -> dict[str, Any]:
    return {name: scores.figures() for name, scores in results.items()}
