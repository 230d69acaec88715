"""Command line: check | ask | eval | chat | run | migrate | report | health. One entry point,
thin."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from bot.catalog import CatalogError, content_problems, load_catalog

if TYPE_CHECKING:
    from bot.dialogue.turn import Turn
    from bot.search.ranker import RankerWeights
from bot.search.embedder import ModelMissingError
from bot.search.index import IndexProblem
from bot.settings import Settings, SettingsError, load_settings, safe_url

log = logging.getLogger("bot")


def _cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.catalog import review_problems
    from bot.guides import load_guides
    from bot.quizzes import load_interest_quiz
    from bot.readability import grade_level
    from bot.search.intents import load_intents
    from bot.support import load_language, load_support
    from bot.vocabulary import load_glossary, load_review, load_uncovered, load_vocabulary

    knowledge = args.knowledge or settings.knowledge_dir
    catalog = load_catalog(knowledge)
    guides = load_guides(knowledge, catalog)
    intents = load_intents(knowledge / "intents.yaml")
    quiz = load_interest_quiz(knowledge / "quizzes" / "interests.yaml")
    support = load_support(knowledge / "support.yaml")
    language = load_language(knowledge / "language.yaml")
    warnings = [
        f"{career.path}: {problem}" for career in catalog for problem in content_problems(career)
    ]
    today = datetime.now(UTC).date()
    review = load_review(knowledge / "review.yaml")
    glossary = load_glossary(knowledge / "glossary.yaml")
    load_uncovered(knowledge / "uncovered.yaml")
    load_vocabulary(knowledge / "vocabulary.yaml")
    warnings += [
        f"{path}: {problem}"
        for path, problems in review_problems(catalog, review, today).items()
        for problem in problems
    ]
    for guide in guides:
        if (today - guide.last_verified).days > review.reverify_after_days:
            warnings.append(f"{guide.path}: last_verified {guide.last_verified}: re-check")
    if args.reading:
        for career in sorted(catalog, key=lambda c: grade_level(c.overview)):
            print(f"{grade_level(career.overview):5.1f}  {career.id}")
    warnings += [f"{knowledge / 'support.yaml'}: {problem}" for problem in support.stale(today)]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    words = sum(career.word_count for career in catalog)
    sections = sum(len(career.sections) for career in catalog)
    distress_examples = sum(len(topic.examples) for topic in support.topics.values())
    print(
        f"OK: {len(catalog)} careers in {len(catalog.fields)} fields, {sections} sections, "
        f"{words} words; {len(guides)} guides; {sum(map(len, intents.values()))} intent examples; "
        f"{len(quiz.statements)} quiz statements; {len(support.helplines)} help lines, "
        f"{distress_examples} distress examples in {len(support.topics)} topics; "
        f"{len(language.shorthand)} shorthand words; {len(glossary.abbreviations)} abbreviations"
        + (f"; {len(warnings)} warnings" if warnings else "")
    )
    return 1 if warnings and args.strict else 0


def _answer_json(turn: Turn, item_id: object = None) -> dict[str, object]:
    """One answer as the answer-kinds contract of ../shared/eval/README.md describes it."""
    from bot.dialogue.replies import render_plain

    answer = turn.answer
    section = answer.outcome == "answer"
    out: dict[str, object] = {} if item_id is None else {"id": item_id}
    out.update(
        {
            "kind": answer.kind,
            "careers": answer.careers,
            "career": answer.career if section else None,
            "section": answer.section if section else None,
            "confidence": round(float(answer.confidence), 3) if section else 0.0,
            "alternatives": [
                {"career": a.career, "section": a.section, "confidence": a.confidence}
                for a in answer.alternatives
            ]
            if section
            else [],
            "reply": render_plain(turn.reply),
        }
    )
    if answer.outcome == "support":
        out["topic"] = answer.intent
    if answer.outcome == "list":
        out["reasons"] = list(answer.reasons)
    if answer.outcome == "compare":
        out["section"] = answer.aspect  # the asked aspect, as the contract says
    if answer.outcome == "guide":
        out["guide"] = answer.guide
    return out


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.terminal import format_reply
    from bot.dialogue.turn import take_turn
    from bot.search.engine import open_search
    from bot.search.ranker import Context

    if not args.file and not args.question:
        print("error: give a QUESTION or --file QUESTIONS.jsonl", file=sys.stderr)
        return 2
    items: list[dict[str, Any]] = []
    if args.file:  # read and check the whole file before the model loads
        try:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: can't read {args.file}: {error}", file=sys.stderr)
            return 2
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                item["q"] = str(item["q"])
                if item.get("dialogue") is not None:
                    item["dialogue"] = json.dumps(item["dialogue"], sort_keys=True)
            except (json.JSONDecodeError, KeyError, TypeError):
                print(
                    f'error: {args.file}:{number}: expected {{"id": ..., "q": ...}}',
                    file=sys.stderr,
                )
                return 2
            items.append(item)
    search = open_search(
        settings.knowledge_dir, settings.index_dir, threads=settings.embed_threads
    )
    limit = settings.max_question_chars
    if args.file:
        contexts: dict[str, Context] = {}
        for item in items:
            dialogue = item.get("dialogue")
            context = contexts.get(dialogue, Context()) if dialogue is not None else Context()
            turn = take_turn(search, item["q"], context, max_chars=limit)
            if dialogue is not None:
                contexts[dialogue] = turn.context
            print(json.dumps(_answer_json(turn, item.get("id")), ensure_ascii=False), flush=True)
        return 0
    turn = take_turn(search, " ".join(args.question), Context(), max_chars=limit)
    if args.json:
        print(json.dumps(_answer_json(turn), ensure_ascii=False))
    else:
        print(format_reply(turn.reply))
    return 0


def _cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.evaluation import (
        as_json,
        evaluate,
        format_table,
        read_dialogues,
        read_kinds,
        read_questions,
    )
    from bot.search.engine import open_search

    items = read_questions(args.questions)
    if args.dialogues:
        items += read_dialogues(args.dialogues)
    if args.kinds:
        items += read_kinds(args.kinds)
    try:
        weights = _weights(args.weight or [])
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    search = open_search(settings.knowledge_dir, settings.index_dir)
    ours = search.with_mode("hybrid", weights) if args.weight else None
    results = {
        "hybrid (ours)": evaluate(search, items, ranker=ours),
        "lexical only": evaluate(search, items, ranker=search.with_mode("lexical")),
        "dense only": evaluate(search, items, ranker=search.with_mode("dense")),
    }
    if args.json:
        print(json.dumps(as_json(results), indent=2))
    else:
        print(format_table(results))
        if args.verbose:
            for miss in results["hybrid (ours)"].misses:
                print("  miss:", miss)
    return 0


def _weights(pairs: list[str]) -> RankerWeights:
    """ "content=6" ... -> RankerWeights with those values changed (for sweeps)."""
    from dataclasses import fields, replace

    from bot.search.ranker import RankerWeights

    known = {f.name for f in fields(RankerWeights)}
    changes: dict[str, float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in known:
            raise ValueError(f"--weight {pair}: unknown weight; known: {', '.join(sorted(known))}")
        try:
            changes[name] = float(value)
        except ValueError:
            raise ValueError(f"--weight {pair}: {value!r} is not a number") from None
    return replace(RankerWeights(), **changes)


def _cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.terminal import chat
    from bot.services import build_services

    services = build_services(settings)
    try:
        return chat(services.dialogue, user=args.user)
    finally:
        services.close()


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels import telegram
    from bot.services import build_services

    if settings.telegram_bot_token is None:
        print(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram, then run "
            "TELEGRAM_BOT_TOKEN=123456:ABC... python -m bot run (or try `python -m bot chat`).",
            file=sys.stderr,
        )
        return 2
    webhook = args.webhook or bool(settings.webhook_url)
    if webhook and (not settings.webhook_url or settings.webhook_secret is None):
        print("Webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    services = build_services(settings)
    log.info(
        "services ready in %.1fs; starting %s",
        time.perf_counter() - started,
        "webhook" if webhook else "long polling",
    )
    telegram.run(services, webhook=webhook)
    return 0


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """The deploy step before replicas start (they also migrate, under a lock, if needed)."""
    from bot.storage import db

    db.upgrade(settings.database_url)
    print(f"database schema is current ({safe_url(settings.database_url)})")
    return 0


def _cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.report import parse_since, render
    from bot.services import build_services

    try:
        since = parse_since(args.since, datetime.now(UTC))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    services = build_services(settings)
    try:
        dialogue = services.dialogue
        report = dialogue.report(since, services.search.embedder)
        print(render(report, args.format, dialogue.titles()), end="")
    finally:
        services.close()
    return 0


def _cmd_health(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.telegram import HEARTBEAT_FILE

    try:
        age = time.time() - float(HEARTBEAT_FILE.read_text())
    except (OSError, ValueError):
        print("unhealthy: no heartbeat yet", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"unhealthy: last heartbeat {age:.0f}s ago", file=sys.stderr)
        return 1
    print(f"healthy: heartbeat {age:.0f}s ago")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Career-advice chat bot.")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate knowledge/ and print a summary")
    check.add_argument("--knowledge", type=Path, help="content folder (default: KNOWLEDGE_DIR)")
    check.add_argument("--strict", action="store_true", help="fail on editorial warnings too")
    check.add_argument(
        "--reading", action="store_true", help="print each overview's reading level (grade)"
    )
    check.set_defaults(handler=_cmd_check)

    ask = commands.add_parser("ask", help="answer a question as the bot would")
    ask.add_argument("question", nargs="*", help="the question")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.add_argument("--file", type=Path, help="JSONL of {id, q, dialogue?}; implies --json")
    ask.set_defaults(handler=_cmd_ask)

    evaluate = commands.add_parser("eval", help="accuracy on labelled questions vs baselines")
    evaluate.add_argument("questions", type=Path)
    evaluate.add_argument("--dialogues", type=Path)
    evaluate.add_argument("--kinds", type=Path, help="JSONL of answer-kind items (dev_kinds)")
    evaluate.add_argument(
        "--weight", action="append", metavar="NAME=VALUE", help="change a RankerWeights value"
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--verbose", "-v", action="store_true", help="list the misses")
    evaluate.set_defaults(handler=_cmd_eval)

    chat = commands.add_parser("chat", help="chat in the terminal (stdin/stdout)")
    chat.add_argument("--user", help="name for this terminal learner (default: login name)")
    chat.set_defaults(handler=_cmd_chat)

    run = commands.add_parser("run", help="run the Telegram bot (long polling or --webhook)")
    run.add_argument("--webhook", action="store_true", help="run PTB's webhook server")
    run.set_defaults(handler=_cmd_run)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=_cmd_migrate)

    report = commands.add_parser("report", help="what learners asked that we could not serve")
    report.add_argument("--since", default="7d", help="how far back: 24h, 7d, 2w (default 7d)")
    report.add_argument("--format", choices=("md", "csv"), default="md")
    report.set_defaults(handler=_cmd_report)

    health = commands.add_parser("health", help="exit 0 if the running bot is alive")
    health.add_argument("--max-age", type=float, default=120.0)
    health.set_defaults(handler=_cmd_health)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    from bot.logs import configure_logging

    secrets = [
        secret.get_secret_value()
        for secret in (settings.telegram_bot_token, settings.webhook_secret)
        if secret is not None
    ]
    quiet = args.command in ("ask", "eval", "check", "chat", "health", "report")
    configure_logging("WARNING" if quiet else settings.log_level, secrets)
    try:
        result: int = args.handler(settings, args)
        return result
    except (CatalogError, IndexProblem, ModelMissingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except DBAPIError as error:  # one line for the operator, not a driver traceback
        reason = str(error.orig or error).strip().splitlines()[0]
        print(
            f"error: cannot use the database {safe_url(settings.database_url)}: {reason}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `python -m bot ask ... | head`: the reader left, nothing to report
        return 0


if __name__ == "__main__":
    sys.exit(main())
