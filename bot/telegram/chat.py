"""What every part of the Telegram conversation shares: the states, who is writing and in
which language, saying something, answering a button, and the draft of answers so far.

Storage calls run in worker threads (the database API is synchronous). Patient text is
cleaned and capped before any handler reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes, ConversationHandler, filters

from bot.telegram.drafts import DRAFT_KEY, Draft
from messages.inbound_text import TELEGRAM_MAX_CHARS, clean_inbound
from messages.telegram_texts import LANGUAGES, language_or_default
from scheduler.clock import Clock
from storage.telegram import ChatPatient, TelegramStore

Context = ContextTypes.DEFAULT_TYPE
# New messages in a private chat. Edited messages are ignored on purpose: the bot does not
# subscribe to them (see adapter.ALLOWED_UPDATES), and answering an edit of an old message
# as if it were new would repeat an answer or move a conversation the patient has left.
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
TYPED = filters.TEXT & ~filters.COMMAND & PRIVATE

# Conversation states (stored as integers by bot/telegram/persistence.py: never renumber).
WHEN, HOUR, ZONE, ZONE_TYPED, LANGUAGE, NAME, CONFIRM = range(7)
END = ConversationHandler.END

StateCallback = Callable[[Update, Context], Coroutine[Any, Any, int]]  # as PTB types it
# The step after a treatment time is chosen, for one flow ("register" or "treatment").
FlowStep = Callable[[Update, Context, Draft], Awaitable[int]]


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def typed(update: Update) -> str:
    """What the patient wrote, without control characters and within Telegram's length."""
    assert update.message is not None and update.message.text is not None
    return clean_inbound(update.message.text, TELEGRAM_MAX_CHARS)


def button_data(update: Update) -> str:
    """The pressed button's data; the handlers' patterns have checked its form."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return update.callback_query.data


def clear_draft(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)


class Talk:
    """The helpers every handler uses, with the few objects they need."""

    def __init__(
        self,
        clock: Clock,
        store: TelegramStore,
        *,
        default_language: str,
        first_name_fallback: Mapping[str, str],
    ) -> None:
        self.clock = clock
        self.store = store
        self.default_language = default_language
        self._first_name_fallback = first_name_fallback

    def now(self) -> datetime:
        return self.clock.now()

    async def patient(self, update: Update) -> ChatPatient | None:
        """The patient this chat speaks as, with their current session (the latest that has
        happened, else the one booked ahead)."""
        return await asyncio.to_thread(self.store.patient_for_chat, chat_id(update), self.now())

    def guess_language(self, update: Update, context: Context) -> str:
        chosen = context.chat_data.get("language") if context.chat_data is not None else None
        if chosen in LANGUAGES:
            return str(chosen)
        user = update.effective_user
        return language_or_default(user.language_code if user else None, self.default_language)

    async def language(self, update: Update, context: Context) -> str:
        patient = await self.patient(update)
        return patient.language if patient else self.guess_language(update, context)

    def name(self, patient: ChatPatient) -> str:
        return patient.first_name or self._first_name_fallback.get(patient.language, "")

    @staticmethod
    async def say(
        update: Update, context: Context, message: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        await context.bot.send_message(chat_id=chat_id(update), text=message, reply_markup=markup)

    @staticmethod
    async def pressed(update: Update, choice: str | None = None) -> CallbackQuery:
        """Answer a button press and take the buttons away, noting what was chosen."""
        query = update.callback_query
        assert query is not None
        await query.answer()
        message = query.message
        if isinstance(message, Message) and message.text is not None:
            body = message.text_html + (f"\n» <b>{choice}</b>" if choice else "")
            await query.edit_message_text(body, reply_markup=None)
        return query

    @staticmethod
    def draft(context: Context) -> Draft:
        assert context.user_data is not None
        draft = context.user_data.get(DRAFT_KEY)
        if not isinstance(draft, Draft):
            raise LookupError("no conversation in progress")
        return draft

    def keep(self, context: Context, draft: Draft) -> Draft:
        """Store the draft as of the patient's latest answer."""
        assert context.user_data is not None
        draft = replace(draft, touched_at=self.now())
        context.user_data[DRAFT_KEY] = draft
        return draft
