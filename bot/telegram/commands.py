"""The commands a patient can send at any time: /plan, /stop, /resume, /language, /delete,
/help, and the buttons they offer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from telegram import Update

from bot.telegram.chat import Context, Talk, button_data, chat_id, clear_draft, keyboard
from bot.telegram.views import plan_message
from messages.protocol import Protocol
from messages.telegram_texts import LANGUAGE_NAMES, LANGUAGES, language_or_default, text
from storage.telegram import ChatPatient

log = logging.getLogger(__name__)


class Commands:
    def __init__(
        self,
        talk: Talk,
        protocol: Protocol,
        protocols: Mapping[str, Protocol],
        *,
        emergency_number: str,
    ) -> None:
        self.talk = talk
        self.protocol = protocol  # the built-in, for a treatment whose key names nothing
        self.protocols = protocols
        self.emergency_number = emergency_number

    async def send_plan(self, update: Update, context: Context, patient: ChatPatient) -> None:
        """The latest session that has happened (or the one booked ahead) and the next."""
        now = self.talk.now()
        plan = await asyncio.to_thread(self.talk.store.plan, patient.id, now)
        if plan is None:
            await self.talk.say(update, context, text("not_registered", patient.language))
            return
        message = plan_message(
            self.protocols.get(plan.protocol, self.protocol),
            plan.performed_at,
            plan.rows,
            ZoneInfo(patient.timezone),
            now,
            patient.language,
            paused=patient.paused,
            next_session=plan.next_session,
        )
        await self.talk.say(update, context, message)

    async def _registered(self, update: Update, context: Context) -> ChatPatient | None:
        patient = await self.talk.patient(update)
        if patient is None:
            language = self.talk.guess_language(update, context)
            await self.talk.say(update, context, text("not_registered", language))
        return patient

    async def plan(self, update: Update, context: Context) -> None:
        patient = await self._registered(update, context)
        if patient is None:
            return
        if patient.treatment_id is None:
            await self.talk.say(update, context, text("not_registered", patient.language))
            return
        await self.send_plan(update, context, patient)

    async def stop(self, update: Update, context: Context) -> None:
        await self._pause(update, context, paused=True)

    async def resume(self, update: Update, context: Context) -> None:
        await self._pause(update, context, paused=False)

    async def _pause(self, update: Update, context: Context, *, paused: bool) -> None:
        patient = await self._registered(update, context)
        if patient is None:
            return
        store, now = self.talk.store, self.talk.now()
        await asyncio.to_thread(store.set_paused, chat_id(update), paused, now)
        log.info("telegram: patient %s %s reminders", patient.id, "paused" if paused else "resumed")
        await self.talk.say(
            update, context, text("stopped" if paused else "resumed", patient.language)
        )

    async def language(self, update: Update, context: Context) -> None:
        language = await self.talk.language(update, context)
        buttons = keyboard([[(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in LANGUAGES]])
        await self.talk.say(update, context, text("ask_language", language), buttons)

    async def language_set(self, update: Update, context: Context) -> None:
        language = language_or_default(button_data(update).split(":", 1)[1])
        await self.talk.pressed(update, LANGUAGE_NAMES[language])
        await asyncio.to_thread(self.talk.store.set_language, chat_id(update), language)
        if context.chat_data is not None:
            context.chat_data["language"] = language
        await self.talk.say(update, context, text("language_set", language))

    async def delete(self, update: Update, context: Context) -> None:
        patient = await self._registered(update, context)
        if patient is None:
            return
        lang = patient.language
        buttons = keyboard(
            [[(text("btn_delete", lang), "del:yes")], [(text("btn_keep", lang), "del:no")]]
        )
        await self.talk.say(update, context, text("delete_confirm", lang), buttons)

    async def delete_answer(self, update: Update, context: Context) -> None:
        erase = button_data(update) == "del:yes"
        language = await self.talk.language(update, context)
        await self.talk.pressed(update, text("btn_delete" if erase else "btn_keep", language))
        if not erase:
            await self.talk.say(update, context, text("delete_kept", language))
            return
        erased = await asyncio.to_thread(self.talk.store.erase, chat_id(update), self.talk.now())
        log.info("telegram: %s patient record(s) erased at the patient's request", erased)
        if context.chat_data is not None:
            context.chat_data.clear()
        clear_draft(context)
        await self.talk.say(update, context, text("deleted", language))

    async def help(self, update: Update, context: Context) -> None:
        patient = await self.talk.patient(update)
        language = patient.language if patient else self.talk.guess_language(update, context)
        message = text("help", language, emergency=self.emergency_number)
        if patient is not None:
            message += "\n" + text(
                "help_clinic",
                language,
                clinic_name=patient.clinic_name,
                clinic_phone=patient.clinic_phone,
            )
        await self.talk.say(update, context, message)

    @staticmethod
    async def stale_button(update: Update, _context: Context) -> None:
        """A button from a finished conversation (or one no conversation offers): acknowledge
        it so the spinner stops."""
        if update.callback_query is not None:
            await update.callback_query.answer()
