"""Accuracy figures for the whole turn on labelled questions, dialogues and answer kinds.

Every item goes through `take_turn`, the same path a learner's message takes, so distress is
checked first here too. Figures per answer kind follow the contract in ../shared/eval/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.dialogue.replies import render_plain
from bot.dialogue.turn import take_turn
from bot.search.engine import SearchServices
from bot.search.ranker import Answer, Context, Ranker


@dataclass(frozen=True)
class Labelled:
    id: str
    question: str
    career: str | None = None
    sections: tuple[str, ...] = ()
    dialogue: str | None = None
    kind: str | None = None  # expected answer kind, when the item is from the kinds set
    not_kind: str | None = None  # a false alarm: any kind but this one
    careers_any: tuple[str, ...] = ()
    careers_none: tuple[str, ...] = ()
    careers_all: tuple[str, ...] = ()
    reply_any: tuple[str, ...] = ()
    scene: bool = False  # sets the scene for the next turn of a dialogue; not scored
    labelled_ids: frozenset[str] = frozenset()  # careers the labels know about (careers.tsv)


@dataclass
class KindScore:
    total: int = 0
    right: int = 0

    def add(self, right: bool) -> None:
        self.total += 1
        self.right += int(right)

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 0.0


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
    kinds: dict[str, KindScore] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def kind(self, name: str) -> KindScore:
        return self.kinds.setdefault(name, KindScore())

    def figures(self) -> dict[str, float]:
        n = max(self.in_domain, 1)
        figures = {
            "top1": self.top1 / n,
            "top3": self.top3 / n,
            "career": self.career_right / n,
            "mrr": self.reciprocal_rank / n,
            "off_topic_declined": self.declined_off_topic / max(self.off_topic, 1),
            "wrongly_declined": self.wrongly_declined / n,
        }
        for name, score in sorted(self.kinds.items()):
            if score.total:
                figures[name] = score.rate
        return figures


KIND_LABELS = {
    "support_recall": "support recall (distress answered with care)",
    "support_false_alarms": "support false alarms (career talk)",
    "list_right": "list answers right",
    "compare_right": "comparisons naming every career",
    "guide_right": "guide answers right",
    "dialogue_turns_right": "dialogue turns right (career + section)",
    "long_or_two_part_right": "long or two-part messages right",
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


def read_catalogue_ids(path: Path) -> frozenset[str]:
    """Career ids of careers.tsv beside the labelled files: list precision is measured among
    suggestions from that catalogue (the bot may know more careers)."""
    tsv = path.parent / "careers.tsv"
    if not tsv.is_file():
        return frozenset()
    rows = tsv.read_text(encoding="utf-8").splitlines()[1:]
    return frozenset(row.split("\t")[0] for row in rows if row.strip())


def read_kinds(path: Path) -> list[Labelled]:
    """Lines of dev_kinds.jsonl; a `section` line inside a dialogue only sets the scene."""
    items = []
    labelled_ids = read_catalogue_ids(path)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        items.append(
            Labelled(
                raw["id"],
                raw["q"],
                dialogue=raw.get("dialogue"),
                kind=raw.get("kind"),
                not_kind=raw.get("not_kind"),
                careers_any=tuple(raw.get("careers_any") or ()),
                careers_none=tuple(raw.get("careers_none") or ()),
                careers_all=tuple(raw.get("careers_all") or ()),
                reply_any=tuple(raw.get("reply_any") or ()),
                labelled_ids=labelled_ids,
                scene=raw.get("kind") == "section" and raw.get("dialogue") is not None,
            )
        )
    return items


def ranked(answer: Answer) -> list[tuple[str, str]]:
    if answer.outcome != "answer" or answer.career is None or answer.section is None:
        return []
    return [(answer.career, answer.section)] + [(c.career, c.section) for c in answer.alternatives]


def evaluate(
    search: SearchServices, items: Iterable[Labelled], *, ranker: Ranker | None = None
) -> Scores:
    scores = Scores()
    contexts: dict[str, Context] = {}
    for item in items:
        context = contexts.get(item.dialogue, Context()) if item.dialogue else Context()
        turn = take_turn(search, item.question, context, ranker=ranker)
        if item.dialogue:
            contexts[item.dialogue] = turn.context
        if item.scene:
            continue
        if item.kind is not None or item.not_kind is not None:
            _score_kind(scores, item, turn.answer, render_plain(turn.reply))
        else:
            _score_section(scores, item, turn.answer)
    return scores


def _score_section(scores: Scores, item: Labelled, answer: Answer) -> None:
    if item.career is None:
        scores.off_topic += 1
        if answer.outcome != "answer":
            scores.declined_off_topic += 1
        else:
            scores.misses.append(f"{item.id} {item.question!r}: answered {answer.career}")
        return
    scores.in_domain += 1
    # A career question is also a chance for a false alarm.
    scores.kind("support_false_alarms").add(answer.outcome == "support")
    ranking = ranked(answer)
    hits = [i for i, (c, s) in enumerate(ranking) if c == item.career and s in item.sections]
    _score_robustness(scores, item, bool(hits) and hits[0] == 0)
    if not ranking:
        scores.wrongly_declined += 1
        scores.misses.append(f"{item.id} {item.question!r}: declined ({answer.outcome})")
        return
    if ranking[0][0] == item.career:
        scores.career_right += 1
    if hits:
        scores.reciprocal_rank += 1 / (hits[0] + 1)
        scores.top1 += hits[0] == 0
        scores.top3 += hits[0] < 3
    if not hits or hits[0] != 0:
        scores.misses.append(
            f"{item.id} {item.question!r}: got {ranking[0]} want {item.career} {item.sections}"
        )


def _score_robustness(scores: Scores, item: Labelled, right: bool) -> None:
    """The same top-1, for the turns that test how learners really talk."""
    if item.dialogue:
        scores.kind("dialogue_turns_right").add(right)
    if len(item.question) > 300 or re.search(r"\?.+\?| and (what|where|how)\b", item.question):
        scores.kind("long_or_two_part_right").add(right)


def _score_kind(scores: Scores, item: Labelled, answer: Answer, reply: str) -> None:
    got = answer.kind
    if item.not_kind == "support":
        right = got != "support"
        scores.kind("support_false_alarms").add(not right)
    elif item.kind == "support":
        right = got == "support" and _reply_matches(item, reply)
        scores.kind("support_recall").add(right)
    elif item.kind == "list":
        careers = answer.careers
        if item.labelled_ids:  # careers beyond the labelled catalogue are neither right nor wrong
            careers = [c for c in careers if c in item.labelled_ids] or careers
        fitting = [c for c in careers if c in item.careers_any]
        right = (
            got == "list"
            and bool(careers)
            and len(fitting) >= 0.6 * len(careers)
            and not set(careers) & set(item.careers_none)
        )
        scores.kind("list_right").add(right)
    elif item.kind == "compare":
        right = got == "compare" and set(item.careers_all) <= set(answer.careers)
        scores.kind("compare_right").add(right)
    elif item.kind == "guide":
        right = got == "guide" and _reply_matches(item, reply)
        scores.kind("guide_right").add(right)
    else:
        right = got == item.kind
        scores.kind(f"{item.kind}_right").add(right)
    if not right:
        want = item.kind or f"not {item.not_kind}"
        scores.misses.append(
            f"{item.id} {item.question!r}: got {got} {answer.careers} want {want}"
        )


def _reply_matches(item: Labelled, reply: str) -> bool:
    return not item.reply_any or any(
        re.search(pattern, reply, re.IGNORECASE) for pattern in item.reply_any
    )


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
        **KIND_LABELS,
    }
    figures = {name: scores.figures() for name, scores in results.items()}
    for key, label in labels.items():
        if any(key in figures[name] for name in names):
            rows.append((label, *(f"{figures[name].get(key, 0.0):.3f}" for name in names)))
    first = results[names[0]]
    rows.append(
        (
            "questions (in-domain / off-topic)",
            *(f"{first.in_domain} / {first.off_topic}" for _ in names),
        )
    )
    for key, score in sorted(first.kinds.items()):
        rows.append((f"  items for {key}", *(str(score.total) for _ in names)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) for row in rows
    )


def as_json(results: dict[str, Scores]) -> dict[str, Any]:
    return {name: scores.figures() for name, scores in results.items()}
