"""python-telegram-bot adapter: parse the update, call the dialogue off the event loop, send.

Handlers are registered in one place (`build_application`) in a deliberate order: de-duplication
first, then commands, text, buttons, other media, and the error handler last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiolimiter import AsyncLimiter
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
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.ext import Application as PTBApplication
from telegram.request import BaseRequest

from bot.catalog import CatalogError
from bot.dialogue.commands import COMMANDS, learner_commands
from bot.dialogue.replies import Reply, render_html_messages
from bot.search.index import IndexProblem
from bot.services import Services
from bot.storage import queries

log = logging.getLogger(__name__)

Application = PTBApplication[Any, Any, Any, Any, Any, Any]
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
# Only what the bot handles: other update types would cost a database write each for nothing.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
HEARTBEAT_FILE = Path(tempfile.gettempdir()) / "careerbot.heartbeat"  # read by `bot health`


class PerChatRateLimiter(AIORateLimiter):
    """PTB's limiter (overall + per group, retries on 429) plus a per-private-chat limit."""

    def __init__(self, *, per_chat_rate: float = 1.0, max_retries: int = 3) -> None:
        super().__init__(max_retries=max_retries)
        self._per_chat_rate = per_chat_rate
        self._chat_limiters: dict[int, AsyncLimiter] = {}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id) if chat_id is not None else None
        if isinstance(chat_id, int) and chat_id > 0 and endpoint.startswith(("send", "edit")):
            limiter = self._chat_limiters.pop(chat_id, None)
            if limiter is None:
                limiter = AsyncLimiter(max(1.0, 3 * self._per_chat_rate), 3)
            self._chat_limiters[chat_id] = limiter  # most recent last
            while len(self._chat_limiters) > PRUNE_ABOVE:  # bounded: drop the longest quiet
                self._chat_limiters.pop(next(iter(self._chat_limiters)))
            async with limiter:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


PRUNE_ABOVE = 10_000  # learners tracked before quiet ones are forgotten (flood guard, limiter)


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


async def send_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    query = update.callback_query
    if query is not None:
        with contextlib.suppress(BadRequest):  # an old query can't be answered any more
            await query.answer(reply.toast)
    if not reply.blocks:
        return
    messages = render_html_messages(reply)
    markup = keyboard(reply)
    target = query.message if query is not None else None
    if reply.replace and isinstance(target, Message) and len(messages) == 1:
        try:
            await target.edit_text(messages[0], reply_markup=markup)
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            log.info("could not edit the message (%s); sending a new one", error)
    for number, text in enumerate(messages):
        last = number == len(messages) - 1
        await context.bot.send_message(
            chat.id,
            text,
            reply_markup=markup if last else None,
        )


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


async def drop_duplicates(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A redelivered update (retry, or a second replica) is answered once."""
    services = _services(context)

    def mark() -> bool:
        with services.sessions.begin() as session:
            return queries.mark_update_processed(session, update_id=update.update_id)

    if not await asyncio.to_thread(mark):
        log.info("update %s was already handled; skipping", update.update_id)
        raise ApplicationHandlerStop


async def _command(update: Update, context: ContextTypes.DEFAULT_TYPE, *, staff: bool) -> None:
    message = update.effective_message
    key = user_key(update)
    if message is None or message.text is None or key is None:
        return
    # PTB splits on any whitespace, so "/ready\nnurse" gives args ["nurse"].
    command = message.text.split(maxsplit=1)[0].lstrip("/").split("@")[0]
    argument = " ".join(context.args or [])
    dialogue = _services(context).dialogue
    reply = await asyncio.to_thread(dialogue.on_command, key, command, argument, staff=staff)
    await send_reply(update, context, reply)


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, staff=False)


async def on_staff_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats and /report, registered only for ADMIN_USER_IDS."""
    await _command(update, context, staff=True)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    key = user_key(update)
    user = update.effective_user
    if message is None or message.text is None or key is None or user is None:
        return
    verdict = context.bot_data["flood"].allow(user.id)
    if verdict is False:
        return
    if verdict is None:
        await send_reply(
            update, context, Reply().add("text", "That's a lot of messages 🙂 Give me a minute.")
        )
        return
    services = _services(context)
    # Cap before the model: the dialogue reads at most max_question_chars, never the whole blob.
    text = message.text[: services.settings.max_question_chars * 4]
    await context.bot.send_chat_action(message.chat_id, "typing")
    reply = await asyncio.to_thread(services.dialogue.on_text, key, text)
    await send_reply(update, context, reply)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    key = user_key(update)
    if query is None or key is None:
        return
    dialogue = _services(context).dialogue
    reply = await asyncio.to_thread(dialogue.on_action, key, query.data or "")
    await send_reply(update, context, reply)


async def on_other_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    key = user_key(update)
    if message is not None and message.caption and key is not None:
        # A photo captioned "what does a nurse do?" is a question like any other.
        services = _services(context)
        text = message.caption[: services.settings.max_question_chars * 4]
        reply = await asyncio.to_thread(services.dialogue.on_text, key, text)
        await send_reply(update, context, reply)
        return
    reply = Reply().add(
        "text", "I can only read text messages. Type your question about a career, or try /help."
    )
    await send_reply(update, context, reply)


async def on_group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups we answer only commands, and point to a private chat (learners' privacy)."""
    reply = Reply().add(
        "text",
        f"I answer career questions in a private chat: open @{context.bot.username} and say hi.",
    )
    await send_reply(update, context, reply)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, Forbidden):  # the learner blocked the bot: nothing to send them
        log.info("learner blocked the bot; not replying (%s)", error)
        return
    if isinstance(error, Conflict):
        log.warning("another instance is polling with this token; stop it (%s)", error)
        return
    log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, APOLOGY)


async def purge_old_questions(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = _services(context)

    def purge() -> int:
        with services.sessions.begin() as session:
            return queries.delete_old_questions(
                session, older_than_days=services.settings.log_retention_days
            )

    deleted = await asyncio.to_thread(purge)
    if deleted:
        log.info("retention: deleted %d old question log entries", deleted)


async def reload_index(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pick up a build staff made with `make index`, within seconds, without a restart."""
    services = _services(context)
    if not services.index_changed():
        return
    try:
        search = await asyncio.to_thread(services.reload_search)
    except (CatalogError, IndexProblem) as error:  # keep answering with the build we have
        log.warning("new index not loaded, still using %s: %s", services.search.index.path, error)
        return
    log.info("index reloaded: now using %s", search.index.path)


async def heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
    with contextlib.suppress(OSError):
        await asyncio.to_thread(HEARTBEAT_FILE.write_text, str(time.time()))


async def post_init(application: Application) -> None:
    with contextlib.suppress(TelegramError):
        await application.bot.set_my_commands(
            [BotCommand(c.name, c.summary) for c in learner_commands()]
        )
    if application.job_queue is not None:
        application.job_queue.run_repeating(purge_old_questions, interval=6 * 3600, first=5)
        application.job_queue.run_repeating(heartbeat, interval=30, first=0)
        application.job_queue.run_repeating(reload_index, interval=5, first=5)
    log.info("bot @%s is ready", application.bot.username)


async def post_shutdown(application: Application) -> None:
    services: Services = application.bot_data["services"]
    services.close()
    log.info("stopped cleanly; database connections closed")


def build_application(
    services: Services, *, request: BaseRequest | None = None, rate_limit: bool = True
) -> Application:
    settings = services.settings
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
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
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        builder = builder.rate_limiter(PerChatRateLimiter())  # type: ignore[arg-type]
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        timeout = settings.telegram_timeout_seconds
        builder = builder.connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout)
        builder = builder.get_updates_connect_timeout(timeout).get_updates_read_timeout(timeout)
    application: Application = builder.build()
    application.bot_data["services"] = services
    application.bot_data["flood"] = FloodGuard(settings.per_chat_messages_per_minute)

    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, drop_duplicates), group=-1)
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
