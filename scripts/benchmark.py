#!/usr/bin/env python3
"""Speed and memory figures for the answer engine (staff run this; speed goals live here).

Load figures (`--skip-load` leaves them out):
- engine throughput: whole turns (`take_turn`) on distinct questions from many threads at once,
  encoded in shared batches. Goal: at least 300 answers a second.
- the Telegram path: `python -m bot run` in a subprocess, polling a fake Bot API on loopback
  (the one the tests use), with a fresh SQLite database. Ten learners asking in turn (each asks,
  waits for the reply, asks again). Goal: median reply at most 400 ms, p95 at most 800 ms. Then
  200 learners at once. Goal: at least 28 answers a second (Telegram's limit) with no error.

Measures, in one process: the model load and `open_search` start-up, the first answer after
start-up, the per-answer cost of `Ranker.answer` against one bare `Embedder.encode_one` of the
same question (goal: median answer ≤ 1.5 × median encode), peak memory, and the index build time
into a throw-away folder (`--skip-build` to leave it out).

Figures are information: the exit code is 0 whatever they are, unless `--strict` is given and
the answer/encode ratio is above the goal (then 1). Settings or index problems exit with 2.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from bot.catalog import CatalogError
from bot.dialogue.turn import take_turn
from bot.search.embedder import Embedder, ModelMissingError
from bot.search.engine import SearchServices, open_search
from bot.search.index import IndexProblem, build_index
from bot.search.ranker import Context, Ranker
from bot.settings import SettingsError, load_settings

RATIO_GOAL = 1.5
ENGINE_GOAL = 300.0  # answers a second
TELEGRAM_MEDIAN_GOAL_MS, TELEGRAM_P95_GOAL_MS, TELEGRAM_RATE_GOAL = 400.0, 800.0, 28.0
TAILS = (
    "", "please", "in Durban", "after matric", "for grade 11", "in Joburg", "at a college",
    "with maths literacy", "if I am 16", "this year", "part time", "in Limpopo", "quickly",
    "from Soweto", "in the Cape", "as a girl", "without money", "in 2027", "at a TVET", "now",
)  # fmt: skip
SEED = 20261125

T = TypeVar("T")

_NURSE_TASKS = Context(career="registered-nurse", section="tasks")
_DEV_STUDY = Context(career="backend-developer", section="study")
_CHEF_OVERVIEW = Context(career="chef", section="overview")

# (question, conversation context) — varied learner messages: plain, misspelt, follow-ups that
# lean on the context, small talk, off-topic and non-English ones.
QUESTIONS: tuple[tuple[str, Context | None], ...] = (
    ("what does a nurse do", None),
    ("How do I become a pilot?", None),
    ("what subjects do i need for engineering at university", None),
    ("Is there work for electricians in South Africa?", None),
    ("how much maths do you need to be an actuary", None),
    ("wat does a civil enginer do every day", None),
    ("I like animals, what job can I do?", None),
    ("what personality do you need to be a social worker", None),
    ("where can I study to become a teacher", None),
    ("how long does it take to qualify as a doctor", None),
    ("do data scientists work from home", None),
    ("what is a quantity surveyor", None),
    ("I want to fix cars when I finish school, where do I start?", None),
    ("can I be a chef without matric", None),
    ("which careers are good if I love computers and games", None),
    ("what does a UX designer actually design?", None),
    ("skills needed for cybersecurity", None),
    ("pharmacist or dietitian, which one studies longer?", None),
    ("tell me about attorneys", None),
    ("I'm good at drawing, should I do graphic design or architecture?", None),
    ("is physiotherapy a good career for someone who likes sport", None),
    ("hoe word ek 'n verpleegster?", None),
    ("ngifuna ukuba udokotela", None),
    ("and what do they study?", _NURSE_TASKS),
    ("what about the day-to-day work?", _DEV_STUDY),
    ("and for plumbers?", _CHEF_OVERVIEW),
    ("how do I get started?", _CHEF_OVERVIEW),
    ("is it hard?", _NURSE_TASKS),
    ("what else?", _DEV_STUDY),
    ("where would I work?", _CHEF_OVERVIEW),
    ("hi", None),
    ("hello there, how are you?", None),
    ("thanks, that helps a lot!", None),
    ("ok bye", None),
    ("what's the weather like in Durban tomorrow?", None),
    ("can you help me with my maths homework", None),
    ("who won the soccer last night", None),
    ("write me a poem about love", None),
    ("asdfgh", None),
    (
        "I am in grade 11 and I take physical science, life sciences and maths literacy, and I "
        "really want to work in a hospital one day but I don't know which job fits me best",
        None,
    ),
)
FIRST_QUESTION = ("how do I become a plumber", None)  # not the warm-up question of open_search


def _progress(items: Iterable[T], *, total: int, desc: str, enabled: bool) -> Iterable[T]:
    """tqdm on stderr when wanted; the plain iterable otherwise."""
    if enabled:
        return tqdm(items, total=total, desc=desc, file=sys.stderr, leave=False)
    return items


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        kib //= 1024
    return round(kib / 1024, 1)


def _elapsed_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - started) / 1e6


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 3),
        "p95_ms": round(percentile(values, 95), 3),
        "min_ms": round(min(values), 3),
        "max_ms": round(max(values), 3),
        "calls": len(values),
    }


def per_answer(
    embedder: Embedder, ranker: Ranker, rounds: int, *, progress: bool
) -> tuple[list[float], list[float]]:
    """Interleaved timings of encode_one(q) and answer(q) over `rounds` shuffled passes.

    Each question is timed both ways back to back, and which of the two runs first alternates,
    so neither side systematically gets the warmer caches.
    """
    for question, context in QUESTIONS:  # warm-up pass, not timed
        embedder.encode_one(question)
        ranker.answer(question, context)
    shuffler = random.Random(SEED)
    plan: list[tuple[str, Context | None, bool]] = []
    for round_no in range(rounds):
        order = list(QUESTIONS)
        shuffler.shuffle(order)
        plan.extend((q, c, (round_no + i) % 2 == 0) for i, (q, c) in enumerate(order))
    encode_ms: list[float] = []
    answer_ms: list[float] = []

    def time_encode(question: str) -> None:
        started = time.perf_counter_ns()
        embedder.encode_one(question)
        encode_ms.append((time.perf_counter_ns() - started) / 1e6)

    def time_answer(question: str, context: Context | None) -> None:
        embedder.clear_cache()  # a new message from a learner is never in the cache
        started = time.perf_counter_ns()
        ranker.answer(question, context)
        answer_ms.append((time.perf_counter_ns() - started) / 1e6)

    for question, context, encode_first in _progress(
        plan, total=len(plan), desc="timing", enabled=progress
    ):
        if encode_first:
            time_encode(question)
            time_answer(question, context)
        else:
            time_answer(question, context)
            time_encode(question)
    return encode_ms, answer_ms


def distinct_questions(count: int) -> list[tuple[str, Context | None]]:
    """Learner-like questions that are all different, so no answer comes from a cache."""
    mixed = [
        (f"{question} {tail}".strip(), context)
        for tail in TAILS
        for question, context in QUESTIONS
    ]
    return (mixed * (count // len(mixed) + 1))[:count]


def engine_throughput(search: SearchServices, *, workers: int, count: int) -> dict[str, Any]:
    """Whole turns from `workers` threads at once: answers a second, and how batching went."""
    questions = distinct_questions(count)
    embedder = search.embedder
    embedder.clear_cache()
    batcher = embedder._batcher
    batches_before, texts_before = batcher.batches, batcher.texts
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda item: take_turn(search, item[0], item[1] or Context()), questions))
    seconds = time.perf_counter() - started
    batches = batcher.batches - batches_before
    rate = count / seconds
    return {
        "workers": workers,
        "answers": count,
        "answers_per_s": round(rate, 1),
        "texts_per_model_call": round((batcher.texts - texts_before) / max(1, batches), 1),
        "goal": ENGINE_GOAL,
        "verdict": "PASS" if rate >= ENGINE_GOAL else "BELOW GOAL",
    }


def telegram_path(index_dir: Path, *, seconds: float) -> dict[str, Any]:
    """The bot in a subprocess on the fake Bot API: 10 learners in turn, then 200."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.fakebotapi import FakeBotAPI

    token = "123456789:BENCH-token_abcdefghijklmnopqrstuvwx"
    api = FakeBotAPI(token).start()
    replied: dict[int, threading.Event] = {}
    errors: list[str] = []

    def on_request(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage":
            chat = int(params["chat_id"])
            if "went wrong" in str(params.get("text")) or "try again" in str(params.get("text")):
                errors.append(str(params.get("text")))
            if chat in replied:
                replied[chat].set()

    api.on_request = on_request
    with tempfile.TemporaryDirectory(prefix="careerbot-load-") as scratch:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_BASE_URL": api.base_url,
            "DATABASE_URL": f"sqlite:///{scratch}/load.db",
            "INDEX_DIR": str(index_dir),
            "LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
            "PER_CHAT_MESSAGES_PER_MINUTE": "1000",
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            api.wait_for(lambda call: call.method == "getUpdates", timeout=240)
            time.sleep(1)
            questions = [q for q, context in distinct_questions(4000) if context is None]
            load = functools.partial(_closed_loop, api, replied, questions, seconds=seconds)
            # A learner reads the answer before asking again (a second is quick for a human);
            # with no pause at all, Telegram's own limit of about a message a second per chat
            # sets the pace, not the bot.
            few = load(learners=10, first=10_000, pause=1.0)
            many = load(learners=200, first=20_000, pause=0.0)
        finally:
            bot.terminate()
            bot.wait(timeout=60)
            api.stop()
    return {
        "ten_learners": few
        | {
            "goal_ms": [TELEGRAM_MEDIAN_GOAL_MS, TELEGRAM_P95_GOAL_MS],
            "verdict": "PASS"
            if few["median_ms"] <= TELEGRAM_MEDIAN_GOAL_MS
            and few["p95_ms"] <= TELEGRAM_P95_GOAL_MS
            else "ABOVE GOAL",
        },
        "two_hundred_learners": many
        | {
            "goal_answers_per_s": TELEGRAM_RATE_GOAL,
            "verdict": "PASS"
            if many["answers_per_s"] >= TELEGRAM_RATE_GOAL and not errors
            else "BELOW GOAL",
        },
        "errors": len(errors),
    }


def _closed_loop(
    api: Any,
    replied: dict[int, threading.Event],
    questions: list[str],
    *,
    learners: int,
    seconds: float,
    first: int,
    pause: float,
) -> dict[str, Any]:
    """Each learner asks, waits for the reply, pauses, and asks again, for `seconds`."""
    latencies: list[float] = []
    unanswered = 0
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()

    def learner(user: int) -> None:
        nonlocal unanswered
        event = replied.setdefault(user, threading.Event())
        number = user
        while time.monotonic() < stop_at:
            event.clear()
            asked = time.perf_counter()
            api.send_text(user, questions[number % len(questions)])
            number += learners
            if not event.wait(30):
                with lock:
                    unanswered += 1
                return
            with lock:
                latencies.append((time.perf_counter() - asked) * 1000)
            time.sleep(pause)

    started = time.perf_counter()
    threads = [threading.Thread(target=learner, args=(first + n,)) for n in range(learners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "learners": learners,
        "pause_s": pause,
        "answers": len(latencies),
        "answers_per_s": round(len(latencies) / elapsed, 1),
        "median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "unanswered": unanswered,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    knowledge_dir: Path = args.knowledge or settings.knowledge_dir
    index_dir: Path = args.index or settings.index_dir
    progress = not args.json and sys.stderr.isatty()
    figures: dict[str, Any] = {
        "questions": len(QUESTIONS),
        "rounds": args.rounds,
        "peak_rss_mb": {"at_start": peak_rss_mb()},
    }

    # Start-up: what the bot pays before it can answer anyone.
    started = time.perf_counter()
    # Same thread count as the bot (EMBED_THREADS) unless --threads says otherwise.
    embedder = Embedder(threads=args.threads or settings.embed_threads)
    model_s = time.perf_counter() - started
    figures["peak_rss_mb"]["after_model_load"] = peak_rss_mb()
    opened = time.perf_counter()
    services = open_search(knowledge_dir, index_dir, embedder=embedder, warm=True)
    open_s = time.perf_counter() - opened
    figures["startup_s"] = {
        "model_load": round(model_s, 3),
        "open_search_warm": round(open_s, 3),
        "total": round(model_s + open_s, 3),
    }
    figures["peak_rss_mb"]["after_startup"] = peak_rss_mb()
    figures["first_answer_ms"] = round(
        _elapsed_ms(lambda: services.ranker.answer(*FIRST_QUESTION)), 3
    )
    figures["model_runs_at_once"] = embedder.threads

    # Per-answer cost in a warm process.
    encode_ms, answer_ms = per_answer(embedder, services.ranker, args.rounds, progress=progress)
    encode = summary(encode_ms)
    answer = summary(answer_ms)
    ratio = answer["median_ms"] / encode["median_ms"]
    figures["encode_one"] = encode
    figures["answer"] = answer
    figures["ratio"] = {
        "median_answer_over_median_encode": round(ratio, 3),
        "p95_answer_over_p95_encode": round(answer["p95_ms"] / encode["p95_ms"], 3),
        "goal": RATIO_GOAL,
        "verdict": "PASS" if ratio <= RATIO_GOAL else "ABOVE GOAL",
    }
    figures["first_answer_over_median"] = round(
        figures["first_answer_ms"] / answer["median_ms"], 2
    )
    figures["peak_rss_mb"]["before_build"] = peak_rss_mb()
    if not args.skip_load:
        figures["engine_throughput"] = engine_throughput(
            services, workers=args.workers, count=args.load_answers
        )
        figures["telegram_path"] = telegram_path(index_dir, seconds=args.load_seconds)

    # Index build, last, so its large batch encode does not disturb the timings above.
    if args.skip_build:
        figures["build_s"] = None
    else:
        with tempfile.TemporaryDirectory(prefix="careerbot-bench-") as scratch:
            built = time.perf_counter()
            build_index(knowledge_dir, Path(scratch), embedder, progress=progress)
            figures["build_s"] = round(time.perf_counter() - built, 3)
    figures["peak_rss_mb"]["at_end"] = peak_rss_mb()
    return figures


def report(figures: dict[str, Any]) -> str:
    startup = figures["startup_s"]
    encode, answer, ratio = figures["encode_one"], figures["answer"], figures["ratio"]
    rss = figures["peak_rss_mb"]
    build = "skipped" if figures["build_s"] is None else f"{figures['build_s']:.2f} s"
    lines = [
        f"Index build (temp dir):      {build}",
        f"Start-up:                    {startup['total']:.2f} s "
        f"(model load {startup['model_load']:.2f} s + open_search warm "
        f"{startup['open_search_warm']:.2f} s)",
        f"First answer after start-up: {figures['first_answer_ms']:.1f} ms "
        f"({figures['first_answer_over_median']:.2f}× the warm median)",
        f"Per call, {figures['questions']} questions × {figures['rounds']} rounds, "
        f"model runs at once {figures['model_runs_at_once']}:",
        f"  encode_one(q):  median {encode['median_ms']:7.2f} ms   p95 {encode['p95_ms']:7.2f} ms"
        f"   (min {encode['min_ms']:.2f}, max {encode['max_ms']:.2f})",
        f"  answer(q):      median {answer['median_ms']:7.2f} ms   p95 {answer['p95_ms']:7.2f} ms"
        f"   (min {answer['min_ms']:.2f}, max {answer['max_ms']:.2f})",
        f"  ratio median(answer)/median(encode): "
        f"{ratio['median_answer_over_median_encode']:.2f}× "
        f"(goal ≤ {ratio['goal']}×)  {ratio['verdict']}",
        f"  ratio p95(answer)/p95(encode):       {ratio['p95_answer_over_p95_encode']:.2f}×",
        *load_report(figures),
        f"Peak RSS: after model load {rss['after_model_load']:.0f} MB, after start-up "
        f"{rss['after_startup']:.0f} MB, before build {rss['before_build']:.0f} MB, "
        f"at end {rss['at_end']:.0f} MB",
    ]
    return "\n".join(lines)


def load_report(figures: dict[str, Any]) -> list[str]:
    if "engine_throughput" not in figures:
        return []
    engine, path = figures["engine_throughput"], figures["telegram_path"]
    few, many = path["ten_learners"], path["two_hundred_learners"]
    return [
        f"Engine: {engine['answers_per_s']:.0f} answers/s from {engine['workers']} threads "
        f"({engine['texts_per_model_call']} texts per model call; goal ≥ {ENGINE_GOAL:.0f})  "
        f"{engine['verdict']}",
        f"Telegram path, 10 learners in turn ({few['pause_s']:.0f} s to read): "
        f"median {few['median_ms']} ms, "
        f"p95 {few['p95_ms']} ms (goal ≤ {TELEGRAM_MEDIAN_GOAL_MS:.0f} / "
        f"{TELEGRAM_P95_GOAL_MS:.0f} ms)  {few['verdict']}",
        f"Telegram path, 200 learners: {many['answers_per_s']} answers/s, median "
        f"{many['median_ms']} ms, {many['unanswered']} unanswered, {path['errors']} errors "
        f"(goal ≥ {TELEGRAM_RATE_GOAL:.0f}/s, no error)  {many['verdict']}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Speed and memory figures for the answer engine.")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the questions")
    parser.add_argument("--skip-build", action="store_true", help="do not time an index build")
    parser.add_argument("--json", action="store_true", help="print all figures as one JSON object")
    parser.add_argument(
        "--strict", action="store_true", help=f"exit 1 when the ratio is above {RATIO_GOAL}×"
    )
    parser.add_argument(
        "--threads", type=int, help="model runs at once (default: EMBED_THREADS, as the bot)"
    )
    parser.add_argument("--skip-load", action="store_true", help="no throughput or Telegram load")
    parser.add_argument("--workers", type=int, default=16, help="threads for engine throughput")
    parser.add_argument("--load-answers", type=int, default=1200, help="answers for throughput")
    parser.add_argument("--load-seconds", type=float, default=20.0, help="per Telegram load run")
    parser.add_argument("--knowledge", type=Path, help="content folder (default: KNOWLEDGE_DIR)")
    parser.add_argument("--index", type=Path, help="index folder (default: INDEX_DIR)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    try:
        figures = run(args)
    except (SettingsError, CatalogError, IndexProblem, ModelMissingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    above = figures["ratio"]["verdict"] != "PASS"
    return 1 if args.strict and above else 0


if __name__ == "__main__":
    sys.exit(main())
