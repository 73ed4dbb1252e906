"""Everything that is not a command: questions for the conversation core, messages without
text, and the patient blocking or unblocking the bot.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import ChatMember, Update

from bot.channel import AlreadyProcessed, InboundHandler, InboundSource
from bot.telegram.chat import Context, Talk, typed
from messages.telegram_texts import text
from storage.telegram import PROVIDER

log = logging.getLogger(__name__)


class FreeText:
    def __init__(self, talk: Talk, inbound: InboundHandler, *, emergency_number: str) -> None:
        self.talk = talk
        self.inbound = inbound
        self.emergency_number = emergency_number

    async def free_text(self, update: Update, context: Context) -> None:
        message = typed(update)
        patient = await self.talk.patient(update)
        language = patient.language if patient else None
        try:
            reply = await self.inbound.handle(
                channel="telegram",
                text=message,
                patient_id=patient.id if patient else None,
                language=language,
                # Recorded with the conversation, in one transaction: a redelivered update
                # (webhook retry, or getUpdates after a crash) is answered once.
                source=InboundSource(PROVIDER, str(update.update_id)),
            )
        except AlreadyProcessed:
            log.info("telegram: update %s was already answered: ignored", update.update_id)
            return
        except Exception:
            log.exception("telegram: the conversation core failed on an inbound message")
            fallback = language or self.talk.guess_language(update, context)
            failed = text("inbound_failed", fallback, emergency=self.emergency_number)
            await self.talk.say(update, context, failed)
            return
        if reply.escalated:
            log.info(
                "telegram: inbound message escalated (patient %s)", patient.id if patient else None
            )
        await self.talk.say(update, context, reply.text)

    async def not_text(self, update: Update, context: Context) -> None:
        language = await self.talk.language(update, context)
        await self.talk.say(update, context, text("only_text", language))

    async def member_changed(self, update: Update, _context: Context) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type != "private":
            return
        status = change.new_chat_member.status
        store = self.talk.store
        if status in (ChatMember.BANNED, ChatMember.LEFT):
            changed = await asyncio.to_thread(store.set_reachable, change.chat.id, False)
            log.info("telegram: bot blocked; %s patient record(s) marked unreachable", changed)
        elif status == ChatMember.MEMBER:
            changed = await asyncio.to_thread(store.set_reachable, change.chat.id, True)
            log.info("telegram: bot unblocked; %s patient record(s) reachable again", changed)
