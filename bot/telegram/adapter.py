"""The Telegram integration as the service runs it: PTB Application, mode, webhook route.

Without PUBLIC_BASE_URL the bot long-polls getUpdates. With it, Telegram POSTs updates to
/telegram/webhook on our own HTTP app (PTB runs without its Updater); every request must
carry the secret we registered with setWebhook. A webhook update is handled before it is
acknowledged, and its id stored only then, so Telegram delivers again what a crash cut off.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

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
from messages.protocol import Protocol as CareProtocol
from messages.telegram_texts import COMMANDS
from scheduler.clock import Clock
from scheduler.planning import Planner
from scheduler.ports import Channel
from storage.db import Database
from storage.invites import InviteRepository
from storage.telegram import ConversationStateStore, TelegramStore

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


class TelegramSettings(Protocol):
    """The settings the adapter reads (aftercare.settings.Settings has them)."""

    @property
    def telegram_bot_token(self) -> str | None: ...
    @property
    def telegram_api_base_url(self) -> str: ...
    @property
    def telegram_webhook_secret(self) -> str | None: ...
    @property
    def public_base_url(self) -> str | None: ...
    @property
    def telegram_rate_per_second(self) -> float: ...
    @property
    def emergency_number(self) -> str: ...
    @property
    def default_language(self) -> str: ...


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    api_base_url: str = "https://api.telegram.org/bot"
    public_base_url: str | None = None  # set: webhook mode; unset: long polling
    webhook_secret: str | None = None  # derived from the token when unset


@dataclass(frozen=True)
class TelegramStores:
    """The storage repositories the bot uses."""

    chats: TelegramStore
    conversations: ConversationStateStore
    invites: InviteRepository

    @classmethod
    def on(cls, db: Database) -> TelegramStores:
        return cls(TelegramStore(db), ConversationStateStore(db), InviteRepository(db))


class TelegramAdapter:
    """A `aftercare.wiring.ChannelAdapter` for the logical channel "telegram"."""

    name = "telegram"

    def __init__(
        self,
        config: TelegramConfig,
        stores: TelegramStores,
        inbound: InboundHandler,
        clock: Clock,
        planner: Planner,
        protocol: CareProtocol,
        *,
        rate_per_second: float,
        emergency_number: str,
        default_language: str = "en",
        poll_timeout: float = 10.0,
    ) -> None:
        self.clock = clock
        self.rate_per_second = rate_per_second
        self.webhook_url = (
            config.public_base_url.rstrip("/") + WEBHOOK_PATH if config.public_base_url else None
        )
        self.secret = webhook_secret(config.token, config.webhook_secret)
        self.poll_timeout = poll_timeout
        self.persistence = DatabasePersistence(stores.conversations, clock)
        builder = (
            Application.builder()
            .token(config.token)
            .base_url(config.api_base_url)
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
        self.store = stores.chats
        self.channel: Channel = TelegramChannel(
            self.application.bot,
            clock,
            mark_unreachable=lambda chat_id: self.store.set_reachable(chat_id, False),
        )
        self.bot = TelegramBot(
            clock=clock,
            store=self.store,
            invites=stores.invites,
            planner=planner,
            protocol=protocol,
            inbound=inbound,
            default_language=default_language,
            emergency_number=emergency_number,
        )
        self.application.add_handlers(self.bot.handlers())
        # After every update's own handlers: its conversation state is committed before the
        # next update, so neither a restart nor a crash loses a patient's progress.
        self.application.add_handler(TypeHandler(Update, self._persist), group=PERSIST_GROUP)
        self.application.add_error_handler(self._on_error)
        # Webhook updates are handled one at a time, in the request, as PTB's own queue
        # would; `_failed` notes whether the one being handled raised.
        self._one_at_a_time = asyncio.Lock()
        self._handling: int | None = None
        self._failed = False

    @classmethod
    def from_settings(
        cls,
        settings: TelegramSettings,
        db: Database,
        inbound: InboundHandler,
        clock: Clock,
        planner: Planner,
        protocol: CareProtocol,
        *,
        poll_timeout: float = 10.0,
    ) -> TelegramAdapter:
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        config = TelegramConfig(
            token=settings.telegram_bot_token,
            api_base_url=settings.telegram_api_base_url,
            public_base_url=settings.public_base_url,
            webhook_secret=settings.telegram_webhook_secret,
        )
        return cls(
            config,
            TelegramStores.on(db),
            inbound,
            clock,
            planner,
            protocol,
            rate_per_second=settings.telegram_rate_per_second,
            emergency_number=settings.emergency_number,
            default_language=settings.default_language,
            poll_timeout=poll_timeout,
        )

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
        if await asyncio.to_thread(self.store.is_processed, update.update_id):
            log.info("telegram webhook: update %s was handled before: ignored", update.update_id)
            return Response(status_code=200)
        # Handled before it is acknowledged: if this process dies first, Telegram gets no
        # answer and delivers the update again, which is then handled afresh.
        if not await self._handle(update):
            return Response(status_code=500)  # nothing recorded: Telegram redelivers
        await asyncio.to_thread(self.store.first_delivery, update.update_id, self.clock.now())
        return Response(status_code=200)

    async def _handle(self, update: Update) -> bool:
        """Handle one update now; False if a handler failed on it."""
        async with self._one_at_a_time:
            self._handling, self._failed = update.update_id, False
            try:
                await self.application.process_update(update)
            finally:
                self._handling = None
            return not self._failed

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

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        if isinstance(error, TelegramError):
            # Telegram refused or could not be reached (a blocked chat, a network error):
            # handling the update again would not help, so it counts as handled.
            log.warning("telegram: update %s failed: %s", update_id, type(error).__name__)
        else:
            if update_id is not None and update_id == self._handling:
                self._failed = True
            log.error("telegram: update %s failed", update_id, exc_info=error)
