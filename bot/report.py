"""The staff report: what learners asked that the bot could not serve, as a to-do list.

Missing careers by name and count, declined and "which career?" questions grouped by meaning,
👎 answers by career and section, and how often help lines were shown (counts, never texts).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from bot.dialogue.replies import Reply
from bot.search.embedder import Embedder

Format = Literal["md", "csv"]
SAME_MEANING = 0.7  # questions at least this close in meaning are one group


@dataclass
class Report:
    since: datetime
    uncovered: list[tuple[str, int]] = field(default_factory=list)
    unserved: list[tuple[str, int]] = field(default_factory=list)  # example question, count
    disliked: list[tuple[str, str, int]] = field(default_factory=list)
    support: list[tuple[str, int]] = field(default_factory=list)


def parse_since(text: str, now: datetime) -> datetime:
    """ "7d", "24h", "2w" -> the moment that long ago."""
    match = re.fullmatch(r"(\d+)([hdw])", text.strip())
    if match is None:
        raise ValueError(f"--since: expected e.g. 7d, 24h or 2w, not {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    hours = {"h": 1, "d": 24, "w": 24 * 7}[unit] * amount
    return now - timedelta(hours=hours)


def group_by_meaning(questions: list[str], embedder: Embedder | None) -> list[tuple[str, int]]:
    """Greedy grouping: each question joins the first group whose example is close enough."""
    if not questions:
        return []
    if embedder is None:
        counts: dict[str, int] = {}
        for question in questions:
            counts[question] = counts.get(question, 0) + 1
        return sorted(counts.items(), key=lambda item: -item[1])
    vectors = embedder.encode(questions)
    groups: list[tuple[int, int]] = []  # (index of the example, count)
    for i in range(len(questions)):
        for g, (example, count) in enumerate(groups):
            if float(np.dot(vectors[i], vectors[example])) >= SAME_MEANING:
                groups[g] = (example, count + 1)
                break
        else:
            groups.append((i, 1))
    return sorted(((questions[i], n) for i, n in groups), key=lambda item: -item[1])


def render(report: Report, fmt: Format, titles: dict[str, str] | None = None) -> str:
    titles = titles or {}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["what", "item", "count"])
        for name, n in report.uncovered:
            writer.writerow(["missing career", name, n])
        for question, n in report.unserved:
            writer.writerow(["not answered", question, n])
        for career, section, n in report.disliked:
            writer.writerow(["not helpful", f"{titles.get(career, career)} · {section}", n])
        for topic, n in report.support:
            writer.writerow(["help lines shown", topic, n])
        return out.getvalue()
    lines = [f"# {heading(report)}", ""]
    for title, items in sections(report, titles):
        lines += [f"## {title}", *(f"- {item}" for item in items or ["none"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def as_reply(report: Report, titles: dict[str, str]) -> Reply:
    """The same report as a chat message (Telegram's /report, the terminal)."""
    reply = Reply().add("title", heading(report))
    for title, items in sections(report, titles):
        reply.add("title", title)
        for item in items or ["none"]:
            reply.add("bullet", item)
    return reply


def heading(report: Report) -> str:
    return f"What learners missed since {report.since:%Y-%m-%d %H:%M} UTC"


def sections(report: Report, titles: dict[str, str]) -> list[tuple[str, list[str]]]:
    return [
        ("Careers we have no profile for", [f"{n} × {name}" for name, n in report.uncovered]),
        (
            "Questions I could not answer (grouped by meaning)",
            [f"{n} × “{question}”" for question, n in report.unserved],
        ),
        (
            "Answers marked not helpful",
            [f"{n} × {titles.get(c, c)} · {s}" for c, s, n in report.disliked],
        ),
        (
            "Help lines shown (counts only; messages are never stored)",
            [f"{n} × {topic}" for topic, n in report.support],
        ),
    ]
