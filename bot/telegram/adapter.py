"""The Telegram integration as the service runs it: PTB Application, mode, webhook route.

Without PUBLIC_BASE_URL the bot long-polls getUpdates. With it, Telegram POSTs updates to
/telegram/webhook on our own HTTP app (PTB runs without its Updater); every request must
carry the secret we registered with setWebhook.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import BotCommand, BotCommandScopeAllPrivateChats, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, Defaults, TypeHandler

from bot.channel import InboundHandler
from bot.http_body import BodyTooLarge, read_body
from bot.telegram.channel import TelegramChannel
from bot.telegram.conversation import TelegramBot
from bot.telegram.persistence import DatabasePersistence
from bot.telegram.webhook_input import MAX_BODY_BYTES, InvalidUpdate, parse_update
from messages.telegram_texts import COMMANDS
from scheduler.ports import Channel
from storage.invites import InviteRepository
from storage.telegram import ConversationStateStore, TelegramStore

if TYPE_CHECKING:
    from aftercare.wiring import Core

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
PERSIST_GROUP = 1  # runs after the bot's own handlers (group 0)


def webhook_secret(token: str, configured: str | None) -> str:
    """The configured secret, or one derived from the token: stable across restarts and
    instances, so any instance accepts what Telegram sends."""
    if configured:
        return configured
    return hmac.new(token.encode(), b"aftercare-telegram-webhook", hashlib.sha256).hexdigest()


class TelegramAdapter:
    name = "telegram"

    def __init__(self, core: Core, inbound: InboundHandler, *, poll_timeout: float = 10.0) -> None:
        settings = core.settings
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.core = core
        self.rate_per_second = settings.telegram_rate_per_second
        self.webhook_url = (
            settings.public_base_url.rstrip("/") + WEBHOOK_PATH
            if settings.public_base_url
            else None
        )
        self.secret = webhook_secret(settings.telegram_bot_token, settings.telegram_webhook_secret)
        self.poll_timeout = poll_timeout
        self.persistence = DatabasePersistence(ConversationStateStore(core.db), core.clock)
        builder = (
            Application.builder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_base_url)
            .defaults(
                Defaults(
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            )
            .job_queue(None)
            .persistence(self.persistence)
        )
        if self.webhook_url is not None:
            builder = builder.updater(None)
        self.application: Application[Any, ContextTypes.DEFAULT_TYPE, Any, Any, Any, Any] = (
            builder.build()
        )
        self.store = TelegramStore(core.db)
        self.channel: Channel = TelegramChannel(
            self.application.bot,
            core.clock,
            mark_unreachable=lambda chat_id: self.store.set_reachable(chat_id, False),
        )
        self.bot = TelegramBot(core, inbound, self.store, InviteRepository(core.db))
        self.application.add_handlers(self.bot.handlers())
        # After every update's own handlers: its conversation state is committed before the
        # next update, so neither a restart nor a crash loses a patient's progress.
        self.application.add_handler(TypeHandler(Update, self._persist), group=PERSIST_GROUP)
        self.application.add_error_handler(self._on_error)

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    def routes(self) -> Sequence[BaseRoute]:
        if self.webhook_url is None:
            return []
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    async def start(self) -> None:
        app = self.application
        # getMe (fails fast on a wrong token), then the stored conversations are loaded.
        await app.initialize()
        await self._set_commands()
        if self.webhook_url is not None:
            await app.bot.set_webhook(
                self.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
            )
        else:
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=timedelta(seconds=self.poll_timeout), allowed_updates=ALLOWED_UPDATES
            )
        await app.start()
        log.info("Telegram channel started (%s) as @%s", self.mode, app.bot.username)

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def _set_commands(self) -> None:
        bot = self.application.bot
        scope = BotCommandScopeAllPrivateChats()
        for language, commands in COMMANDS.items():
            menu = [BotCommand(command, description) for command, description in commands]
            await bot.set_my_commands(menu, scope=scope, language_code=language)
        # Users whose Telegram is in another language get the English menu.
        await bot.set_my_commands(
            [BotCommand(c, d) for c, d in COMMANDS["en"]], scope=scope, language_code=None
        )

    async def webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram webhook: request without the right secret refused")
            return Response(status_code=403)
        if not self.application.running:
            return Response(status_code=503)  # Telegram retries later
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            log.warning("telegram webhook: body over %s bytes refused", MAX_BODY_BYTES)
            return Response(status_code=413)
        try:
            update = await asyncio.to_thread(self._decode, body)
        except InvalidUpdate as problem:
            log.warning("telegram webhook: bad request refused (%s)", problem)
            return Response(status_code=400)
        fresh = await asyncio.to_thread(
            self.store.first_delivery, update.update_id, self.core.clock.now()
        )
        if fresh:
            await self.application.update_queue.put(update)
        return Response(status_code=200)

    def _decode(self, body: bytes) -> Update:
        """Runs in a worker thread: a megabyte of JSON takes milliseconds to check."""
        data = parse_update(body)
        try:
            return Update.de_json(data, self.application.bot)
        except Exception as exc:  # PTB raises whatever a malformed field happens to cause
            raise InvalidUpdate(f"not a Telegram update ({type(exc).__name__})") from None

    async def _persist(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is not None:
            # PTB marks the user only after the last group; mark now to write at once.
            context.application.mark_data_for_update_persistence(user_ids=user.id)
        await context.application.update_persistence()
        await self.persistence.drop_abandoned()

    @staticmethod
    async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        if isinstance(error, TelegramError):
            log.warning("telegram: update %s failed: %s", update_id, type(error).__name__)
        else:
            log.error("telegram: update %s failed", update_id, exc_info=error)
