"""The Telegram channel: sends reminders through the Bot API and classifies what goes wrong.

The engine's lane limiter keeps the bot under Telegram's ~30 messages/s overall; this
channel adds Telegram's other limit, about one message per second in any one chat.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from scheduler.clock import Clock
from scheduler.ports import OutboundMessage, SendResult

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = timedelta(seconds=1)
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")


class ChatSpacing:
    """Sends to one chat are spaced at least `interval` apart; other chats do not wait."""

    def __init__(self, clock: Clock, interval: timedelta = PER_CHAT_INTERVAL) -> None:
        self._clock = clock
        self._interval = interval
        self._next: dict[int, datetime] = {}

    async def wait(self, chat_id: int) -> None:
        now = self._clock.now()
        if len(self._next) > 10_000:  # forget chats whose slot is long past
            self._next = {chat: at for chat, at in self._next.items() if at > now}
        slot = max(now, self._next.get(chat_id, now))
        self._next[chat_id] = slot + self._interval  # reserved before waiting
        wait = (slot - now).total_seconds()
        if wait > 0:
            await self._clock.sleep(wait)


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB gives an int of seconds or a timedelta, depending on its settings."""
    with warnings.catch_warnings():
        # Reading it announces the future switch to timedelta, which is handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    name = "telegram"

    def __init__(
        self,
        bot: Bot,
        clock: Clock,
        mark_unreachable: Callable[[int], object] | None = None,
        spacing: ChatSpacing | None = None,
    ) -> None:
        self._bot = bot
        self._mark_unreachable = mark_unreachable  # sync, storage: run in a worker thread
        self._spacing = spacing or ChatSpacing(clock)

    async def send(self, message: OutboundMessage) -> SendResult:
        if not _CHAT_ID.fullmatch(message.address):
            return SendResult.permanent("not a Telegram chat id", unreachable=True)
        chat_id = int(message.address)
        await self._spacing.wait(chat_id)
        try:
            sent = await self._bot.send_message(
                chat_id=chat_id,
                text=message.text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        # BadRequest and TimedOut are NetworkErrors: the specific cases come first.
        except Forbidden:
            await self._unreachable(chat_id, message)
            return SendResult.permanent(
                "bot blocked by the user or account deactivated",
                error_code="403",
                unreachable=True,
            )
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            return SendResult.transient(
                f"flood control: retry in {seconds:g} s", error_code="429", retry_after=seconds
            )
        except BadRequest as exc:
            gone = "chat not found" in exc.message.lower()
            if gone:
                await self._unreachable(chat_id, message)
            return SendResult.permanent(
                f"Telegram refused the message: {exc.message[:200]}",
                error_code="400",
                unreachable=gone,
            )
        except TimedOut:
            return SendResult.transient("Telegram timed out", error_code="timeout")
        except NetworkError as exc:
            return SendResult.transient(f"network error: {type(exc).__name__}", error_code="net")
        except ChatMigrated:
            return SendResult.permanent("chat migrated to a supergroup", error_code="400")
        except InvalidToken:
            log.error("the Telegram bot token was refused; reminders wait until it is fixed")
            return SendResult.transient("invalid bot token", error_code="401")
        except TelegramError as exc:
            return SendResult.transient(f"Telegram error: {type(exc).__name__}")
        return SendResult.sent(str(sent.message_id))

    async def _unreachable(self, chat_id: int, message: OutboundMessage) -> None:
        log.info("telegram: patient %s cannot be reached any more", message.patient_id)
        if self._mark_unreachable is not None:
            await asyncio.to_thread(self._mark_unreachable, chat_id)
