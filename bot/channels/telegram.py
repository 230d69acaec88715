"""python-telegram-bot adapter: receive durably, answer each learner in order, send at pace.

The path of an update, and where each guarantee lives:
1. `DurableQueue.put` stores it in the inbox before PTB acknowledges it to Telegram (the next
   getUpdates offset, or the webhook's 200); a redelivered update stops here.
2. `LearnerOrderedProcessor` runs different learners at once and one learner's updates in order.
3. A handler runs the dialogue in a worker thread (`TurnRunner`); the dialogue commits the
   learner's state together with the reply to send (`inbox.settle`).
4. `deliver` sends the reply; `PacedRateLimiter` keeps Telegram's limits (per chat, and one
   budget for all replicas) and marks each message sent just before it goes out.
5. After a crash, `resume_unfinished` answers what was stored but not answered and sends what
   was answered but not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

from aiolimiter import AsyncLimiter
from pydantic import TypeAdapter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.ext import Application as PTBApplication
from telegram.request import BaseRequest

from bot.catalog import CatalogError
from bot.dialogue.commands import COMMANDS, learner_commands
from bot.dialogue.core import Settle
from bot.dialogue.replies import Reply, render_html_messages
from bot.search.index import IndexProblem
from bot.services import Services
from bot.storage import inbox, queries, retention
from bot.storage.ratelimit import LocalPace, SharedPace

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
TRY_AGAIN = "Sorry, I can't reach my notes right now. Please try again in a minute."
# Only what the bot handles: other update types would cost a database write each for nothing.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
HEARTBEAT_FILE = Path(tempfile.gettempdir()) / "careerbot.heartbeat"  # read by `bot health`
PRUNE_ABOVE = 10_000  # learners tracked before quiet ones are forgotten (flood guard, limiter)
MAX_CONCURRENT_UPDATES = 4096
REPLY_JSON = TypeAdapter(Reply)
DatabaseDown = (DBAPIError, PoolTimeout, TimeoutError)  # unreachable, locked or too slow
T = TypeVar("T")


class BotData:
    """What every handler needs, set once in `build_application` (typed, unlike a dict)."""

    services: Services
    flood: FloodGuard
    turns: TurnRunner
    queue: DurableQueue
    started_at: datetime


Context: TypeAlias = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)
Application: TypeAlias = PTBApplication[
    ExtBot[Any], Context, dict[Any, Any], dict[Any, Any], BotData, Any
]


class DurableQueue(asyncio.Queue[object]):
    """PTB's update queue, made durable: an update is in the inbox before `put` returns, and
    PTB acknowledges it to Telegram only after that."""

    def __init__(self) -> None:
        super().__init__()
        self.services: Services | None = None
        self.volatile: set[int] = set()  # received while the database was away: not stored

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not await self._store(item):
            log.info("update %s was received before; answered once", item.update_id)
            return
        await super().put(item)

    async def replay(self, update: Update) -> None:
        """An update already in the inbox, left unanswered by a crash."""
        await super().put(update)

    async def _store(self, update: Update) -> bool:
        services = self.services
        if services is None:  # not wired yet: nothing to store into
            return True
        payload = json.loads(update.to_json())
        owner = services.settings.replica_id

        def store() -> bool:
            with services.sessions.begin() as session:
                return inbox.store(
                    session, update_id=update.update_id, payload=payload, owner=owner
                )

        try:
            return await in_thread(services, store)
        except DatabaseDown as error:
            log.warning("database unavailable, update %s not stored: %s", update.update_id,
                        _one_line(error))  # fmt: skip
            self.volatile.add(update.update_id)
            while len(self.volatile) > PRUNE_ABOVE:
                self.volatile.pop()
            return True  # still answered: the learner is told to try again


class LearnerOrderedProcessor(BaseUpdateProcessor):
    """Different learners are served at once; one learner's updates run in the order they came,
    so a conversation's state is never written by two turns together. The bound is high: a
    waiting update costs a slot but no thread (turns are bounded by `TurnRunner`)."""

    def __init__(self, max_concurrent_updates: int, finish: Callable[[object], Awaitable[None]]):
        super().__init__(max_concurrent_updates)
        self._finish = finish
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = defaultdict(int)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            await self._finish(update)
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] += 1
        try:
            async with lock:
                await coroutine
                await self._finish(update)
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:  # bounded: no lock kept for a quiet learner
                del self._waiting[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class BeforeSend:
    """Passed to the rate limiter with a reply message: it runs once the message may go, just
    before it is written to Telegram, and records it as sent (so a crash never sends it twice)."""

    def __init__(self, record: Callable[[], Awaitable[None]]) -> None:
        self.record = record


class PacedRateLimiter(AIORateLimiter):
    """Telegram's limits: about one message a second per private chat (short bursts allowed),
    and one pace for the whole bot shared by every replica. "Typing…" spends neither."""

    def __init__(self, pace: LocalPace | SharedPace, *, max_retries: int = 3) -> None:
        super().__init__(overall_max_rate=0, overall_time_period=0, max_retries=max_retries)
        self.pace = pace
        self._chat_limiters: dict[int, AsyncLimiter] = {}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        before = rate_limit_args if isinstance(rate_limit_args, BeforeSend) else None
        if endpoint.startswith(("send", "edit")) and endpoint != "sendChatAction":
            chat_id = data.get("chat_id")
            with contextlib.suppress(TypeError, ValueError):
                chat_id = int(chat_id) if chat_id is not None else None
            async with contextlib.AsyncExitStack() as stack:
                if isinstance(chat_id, int) and chat_id > 0:
                    await stack.enter_async_context(self._chat_limiter(chat_id))
                await self._wait_for_pace()
                if before is not None:
                    await before.record()
                return await super().process_request(callback, args, kwargs, endpoint, data, None)
        return await super().process_request(callback, args, kwargs, endpoint, data, None)

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chat_limiters.pop(chat_id, None) or AsyncLimiter(3, 3)
        self._chat_limiters[chat_id] = limiter  # most recent last
        while len(self._chat_limiters) > PRUNE_ABOVE:  # bounded: drop the longest quiet
            self._chat_limiters.pop(next(iter(self._chat_limiters)))
        return limiter

    async def _wait_for_pace(self) -> None:
        if isinstance(self.pace, SharedPace):
            try:
                delay = await asyncio.to_thread(self.pace.reserve)
            except DatabaseDown as error:  # the budget is unreadable: keep this replica's pace
                log.warning("shared send budget unavailable (%s); pacing locally",
                            _one_line(error))  # fmt: skip
                delay = self._fallback.reserve()
        else:
            delay = self.pace.reserve()
        if delay > 0:
            await asyncio.sleep(delay)

    @functools.cached_property
    def _fallback(self) -> LocalPace:
        return LocalPace(self.pace.per_second)


class TurnRunner:
    """Runs dialogue turns in worker threads, so the event loop keeps receiving and sending;
    several turns at once let the model encode questions that arrive together in one batch."""

    def __init__(self, threads: int, timeout: float) -> None:
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="turn")
        self.timeout = timeout

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.executor, functools.partial(function, *args, **kwargs))
        return await asyncio.wait_for(future, self.timeout)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


async def in_thread(services: Services, work: Callable[[], T]) -> T:
    """Database work from the event loop: in a thread, and never longer than the database
    timeout (a cut-off database raises TimeoutError here instead of holding the loop up)."""
    return await asyncio.wait_for(
        asyncio.to_thread(work), services.settings.database_timeout_seconds + 1
    )


def _one_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip() or type(cause).__name__
    return text.splitlines()[0][:200]


class FloodGuard:
    """Incoming messages per learner per minute; beyond it we answer once and skip the model."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[int, deque[float]] = defaultdict(deque)
        self._warned: set[int] = set()

    def allow(self, user_id: int) -> bool | None:
        """True to answer, None to warn once, False to drop silently (logged)."""
        now = time.monotonic()
        if len(self._seen) > PRUNE_ABOVE:  # memory stays bounded: forget quiet learners
            for quiet in [
                u for u, times in self._seen.items() if not times or now - times[-1] > 60
            ]:
                del self._seen[quiet]
                self._warned.discard(quiet)
        seen = self._seen[user_id]
        while seen and now - seen[0] > 60:
            seen.popleft()
        if len(seen) < self.per_minute:
            seen.append(now)
            self._warned.discard(user_id)
            return True
        if user_id in self._warned:
            log.info("flood guard: dropped a message from learner %s (over %s/min)", user_id,
                     self.per_minute)  # fmt: skip
            return False
        self._warned.add(user_id)
        return None


def user_key(update: Update) -> str | None:
    user = update.effective_user
    return f"tg:{user.id}" if user else None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in reply.buttons
        ]
    )


# ---------------------------------------------------------------------- answering
def _settler(context: Context, update: Update) -> Settle | None:
    """Record, in the turn's own transaction, that this update is answered and what to send."""
    if update.update_id in context.bot_data.queue.volatile:
        return None

    def settle(session: Any, reply: Reply) -> None:
        stored = REPLY_JSON.dump_python(reply, mode="json") if reply.blocks else None
        inbox.settle(session, update_id=update.update_id, reply=stored)

    return settle


async def answer(
    update: Update, context: Context, turn: Callable[..., Reply], *args: Any, typing: bool = False
) -> None:
    """Run one dialogue turn off the event loop and deliver its reply."""
    data = context.bot_data
    chat = update.effective_chat
    after = data.services.settings.typing_after_seconds if typing and chat else None
    async with _typing_if_slow(context.bot, chat.id if chat else 0, after=after):
        reply = await data.turns.run(turn, *args, settle=_settler(context, update))
    await deliver(context.bot, data.services, update, reply)


@contextlib.asynccontextmanager
async def _typing_if_slow(
    bot: ExtBot[Any], chat_id: int, *, after: float | None
) -> AsyncIterator[None]:
    """The typing indicator, only when an answer is slow: no round trip before the work."""
    if after is None:
        yield
        return

    async def show() -> None:
        await asyncio.sleep(after)
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, "typing")
            await asyncio.sleep(4.5)  # Telegram shows it for about 5 seconds

    task = asyncio.create_task(show())
    try:
        yield
    finally:
        task.cancel()


async def deliver(
    bot: ExtBot[Any], services: Services, update: Update, reply: Reply, *, already_sent: int = 0
) -> None:
    """Send a reply's messages in order, each recorded as sent just before it goes out."""
    chat = update.effective_chat
    if chat is None:
        return
    query = update.callback_query
    if query is not None and not already_sent:
        with contextlib.suppress(BadRequest):  # an old query can't be answered any more
            await query.answer(reply.toast)
    if not reply.blocks:
        return
    messages = render_html_messages(reply)
    markup = keyboard(reply)

    def before(number: int) -> BeforeSend:
        async def record() -> None:
            def mark() -> None:
                with services.sessions.begin() as session:
                    inbox.mark_sent(
                        session,
                        update_id=update.update_id,
                        sent=number + 1,
                        last=number == len(messages) - 1,
                    )

            with contextlib.suppress(*DatabaseDown):  # the learner still gets the answer
                await in_thread(services, mark)

        return BeforeSend(record)

    async def send(number: int, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> None:
        record = before(number)
        if bot.rate_limiter is None:  # nothing to wait for: record now, then send
            await record.record()
            await method(**kwargs)
        else:  # the limiter records once the message may go, after any wait
            await method(**kwargs, rate_limit_args=record)

    target = query.message if query is not None else None
    if reply.replace and isinstance(target, Message) and len(messages) == 1 and not already_sent:
        try:
            await send(
                0,
                bot.edit_message_text,
                text=messages[0],
                chat_id=chat.id,
                message_id=target.message_id,
                reply_markup=markup,
            )
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            log.info("could not edit the message (%s); sending a new one", error)
    for number, text in enumerate(messages):
        if number < already_sent:
            continue
        last = number == len(messages) - 1
        await send(
            number,
            bot.send_message,
            chat_id=chat.id,
            text=text,
            reply_markup=markup if last else None,
        )


async def send_reply(update: Update, context: Context, reply: Reply) -> None:
    """A reply the dialogue did not produce (flood notice, group pointer, media)."""
    await deliver(context.bot, context.bot_data.services, update, reply)


# ---------------------------------------------------------------------- handlers
async def _command(update: Update, context: Context, *, staff: bool) -> None:
    message = update.effective_message
    key = user_key(update)
    if message is None or message.text is None or key is None:
        return
    # PTB splits on any whitespace, so "/ready\nnurse" gives args ["nurse"].
    command = message.text.split(maxsplit=1)[0].lstrip("/").split("@")[0]
    argument = " ".join(context.args or [])
    dialogue = context.bot_data.services.dialogue
    await answer(update, context, functools.partial(dialogue.on_command, staff=staff),
                 key, command, argument)  # fmt: skip


async def on_command(update: Update, context: Context) -> None:
    await _command(update, context, staff=False)


async def on_staff_command(update: Update, context: Context) -> None:
    """/stats and /report, registered only for ADMIN_USER_IDS."""
    await _command(update, context, staff=True)


async def on_text(update: Update, context: Context) -> None:
    message = update.effective_message
    key = user_key(update)
    user = update.effective_user
    if message is None or key is None or user is None:
        return
    text = message.text or message.caption
    if text is None:
        return
    verdict = context.bot_data.flood.allow(user.id)
    if verdict is False:
        return
    if verdict is None:
        await send_reply(
            update, context, Reply().add("text", "That's a lot of messages 🙂 Give me a minute.")
        )
        return
    services = context.bot_data.services
    # Cap before the model: the dialogue reads at most max_question_chars, never the whole blob.
    text = text[: services.settings.max_question_chars * 4]
    await answer(update, context, services.dialogue.on_text, key, text, typing=True)


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    key = user_key(update)
    if query is None or key is None:
        return
    dialogue = context.bot_data.services.dialogue
    await answer(update, context, dialogue.on_action, key, query.data or "")


async def on_other_media(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is not None and message.caption:
        # A photo captioned "what does a nurse do?" is a question like any other.
        await on_text(update, context)
        return
    reply = Reply().add(
        "text", "I can only read text messages. Type your question about a career, or try /help."
    )
    await send_reply(update, context, reply)


async def on_group_message(update: Update, context: Context) -> None:
    """In groups we answer only commands, and point to a private chat (learners' privacy)."""
    reply = Reply().add(
        "text",
        f"I answer career questions in a private chat: open @{context.bot.username} and say hi.",
    )
    await send_reply(update, context, reply)


async def on_error(update: object, context: Context) -> None:
    error = context.error
    if isinstance(error, Forbidden):  # the learner blocked the bot: nothing to send them
        log.info("learner blocked the bot; marked inactive, not replying (%s)", error)
        key = user_key(update) if isinstance(update, Update) else None
        if key is not None:
            await _mark_blocked(context.bot_data.services, key)
        return
    if isinstance(error, Conflict):
        log.warning("another instance is polling with this token; stop it (%s)", error)
        return
    if isinstance(error, inbox.AlreadySettled):
        log.info("update %s was answered by another worker; this turn rolled back", error)
        return
    if isinstance(error, DatabaseDown):
        log.warning("database unavailable or too slow; told the learner to try again: %s",
                    _one_line(error))  # fmt: skip
        text = TRY_AGAIN
    else:
        log.error("error while handling an update", exc_info=error)
        text = APOLOGY
    if isinstance(update, Update) and update.effective_chat is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, text)


async def _mark_blocked(services: Services, key: str) -> None:
    def mark() -> None:
        with services.sessions.begin() as session:
            queries.mark_blocked(session, user_key=key)

    with contextlib.suppress(*DatabaseDown):
        await in_thread(services, mark)


# ---------------------------------------------------------------------- the inbox after a crash
async def finish_update(application: Application, update: object) -> None:
    """An update whose handling ended without an answer to send is done (ignored, dropped by
    the flood guard, or failed with the learner told): it is not replayed."""
    if not isinstance(update, Update):
        return
    services = application.bot_data.services

    def close() -> None:
        with services.sessions.begin() as session:
            inbox.close(session, update_id=update.update_id)

    with contextlib.suppress(*DatabaseDown):
        await in_thread(services, close)


async def resume_unfinished(context: Context) -> None:
    """Answer what a crash left unanswered and send what it left unsent; at start this
    replica's own, later any replica's whose lease ran out."""
    data = context.bot_data
    settings = data.services.settings

    def claim() -> list[inbox.Unfinished]:
        with data.services.sessions.begin() as session:
            return inbox.claim_unfinished(
                session,
                owner=settings.replica_id,
                started_at=data.started_at,
                lease_seconds=settings.inbox_lease_seconds,
            )

    try:
        unfinished = await in_thread(data.services, claim)
    except DatabaseDown as error:
        log.warning("could not read the inbox: %s", _one_line(error))
        return
    if unfinished:
        log.info("resuming %d updates left unfinished by a restart", len(unfinished))
    for item in unfinished:
        update = Update.de_json(item.payload, context.bot)
        if item.state == "new" or item.reply is None:
            await data.queue.replay(update)
            continue
        reply = REPLY_JSON.validate_python(item.reply)
        context.application.create_task(
            deliver(context.bot, data.services, update, reply, already_sent=item.sent),
            update=update,
        )


async def purge_old_rows(context: Context) -> None:
    services = context.bot_data.services
    settings = services.settings
    purged = await asyncio.to_thread(
        retention.purge, services.sessions, log_retention_days=settings.log_retention_days
    )
    if purged.questions or purged.updates:
        log.info("retention: deleted %d old questions and %d finished updates",
                 purged.questions, purged.updates)  # fmt: skip


async def reload_index(context: Context) -> None:
    """Pick up a build staff made with `make index`, within seconds, without a restart."""
    services = context.bot_data.services
    if not services.index_changed():
        return
    try:
        search = await asyncio.to_thread(services.reload_search)
    except (CatalogError, IndexProblem) as error:  # keep answering with the build we have
        log.warning("new index not loaded, still using %s: %s", services.search.index.path, error)
        return
    log.info("index reloaded: now using %s", search.index.path)


async def heartbeat(context: Context) -> None:
    with contextlib.suppress(OSError):
        await asyncio.to_thread(HEARTBEAT_FILE.write_text, str(time.time()))


async def post_init(application: Application) -> None:
    with contextlib.suppress(TelegramError):
        await application.bot.set_my_commands(
            [BotCommand(c.name, c.summary) for c in learner_commands()]
        )
    if application.job_queue is not None:
        jobs = application.job_queue
        jobs.run_once(resume_unfinished, when=0)
        jobs.run_repeating(resume_unfinished, interval=30, first=30)
        jobs.run_repeating(purge_old_rows, interval=6 * 3600, first=5)
        jobs.run_repeating(heartbeat, interval=30, first=0)
        jobs.run_repeating(reload_index, interval=5, first=5)
    log.info("bot @%s is ready", application.bot.username)


async def post_shutdown(application: Application) -> None:
    application.bot_data.turns.close()
    application.bot_data.services.close()
    log.info("stopped cleanly; database connections closed")


def build_application(
    services: Services, *, request: BaseRequest | None = None, rate_limit: bool = True
) -> Application:
    settings = services.settings
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    queue = DurableQueue()
    finish: Callable[[object], Awaitable[None]] = lambda update: finish_update(  # noqa: E731
        application, update
    )
    builder = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        # Every reply is HTML from our own renderer, without link previews.
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .update_queue(queue)
        .concurrent_updates(LearnerOrderedProcessor(MAX_CONCURRENT_UPDATES, finish))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        shared = settings.shared_send_budget
        if shared is None:
            shared = settings.uses_postgresql
        pace: LocalPace | SharedPace = (
            SharedPace(services.sessions, settings.send_per_second)
            if shared
            else LocalPace(settings.send_per_second)
        )
        builder = builder.rate_limiter(PacedRateLimiter(pace))  # type: ignore[arg-type]
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        timeout = settings.telegram_timeout_seconds
        builder = builder.connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout)
        builder = builder.get_updates_connect_timeout(timeout).get_updates_read_timeout(timeout)
        builder = builder.connection_pool_size(64)
    application: Application = builder.build()
    queue.services = services
    data = application.bot_data
    data.services = services
    data.flood = FloodGuard(settings.per_chat_messages_per_minute)
    data.turns = TurnRunner(settings.dialogue_threads, settings.answer_timeout_seconds)
    data.queue = queue
    data.started_at = datetime.now(UTC)

    private = filters.ChatType.PRIVATE
    application.add_handler(
        CommandHandler(
            [c.name for c in learner_commands()],
            on_command,
            filters=private & filters.UpdateType.MESSAGE,
        )
    )
    if settings.admin_user_ids:
        admins = filters.User(user_id=settings.admin_user_ids)
        staff = [c.name for c in COMMANDS if c.staff]
        application.add_handler(CommandHandler(staff, on_staff_command, filters=private & admins))
    application.add_handler(
        MessageHandler(
            private & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, on_text
        )
    )
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(
        MessageHandler(
            private & filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL,
            on_other_media,
        )
    )
    application.add_handler(  # any other /command: the dialogue says it doesn't know it
        MessageHandler(private & filters.UpdateType.MESSAGE & filters.COMMAND, on_command)
    )
    application.add_handler(
        MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, on_group_message)
    )
    # Edited messages, channel posts and group chatter are ignored on purpose.
    application.add_error_handler(on_error)
    return application


def run(services: Services, *, webhook: bool = False) -> None:
    application = build_application(services)
    settings = services.settings
    if webhook:
        if not settings.webhook_url or settings.webhook_secret is None:
            raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
        path = "telegram"
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=f"{settings.webhook_url.rstrip('/')}/{path}",
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0.0, timeout=10)
