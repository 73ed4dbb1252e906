"""Self-registration from a clinic's public link: when, which time zone, which language,
which name, then confirm. No patient is stored until they confirm.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update

from bot.telegram.chat import (
    CONFIRM,
    END,
    LANGUAGE,
    NAME,
    ZONE,
    ZONE_TYPED,
    Context,
    Talk,
    button_data,
    chat_id,
    clear_draft,
    keyboard,
    typed,
)
from bot.telegram.drafts import Draft
from bot.telegram.time_questions import TimeQuestions
from bot.telegram.views import confirmation_message, find_zone, format_local
from messages.telegram_texts import LANGUAGE_NAMES, LANGUAGES, language_or_default, text
from scheduler.localtime import localize
from scheduler.planning import NewPatient, Planner, treatment_time_problem
from scheduler.planning import Registration as Stored
from storage.patients import ClinicView
from storage.telegram import ChatDetails

log = logging.getLogger(__name__)

MAX_NAME = 40
# A registration's welcome waits this long for the chat's "All set!" to be sent (it is let
# go as soon as it is): whatever is due may be sent the instant the registration commits,
# and the patient should read the confirmation first. Should the process stop in between,
# the welcome goes when the hold ends. Ample for one sendMessage (PTB's timeouts are 5 s).
CONFIRMATION_HOLD = timedelta(seconds=30)


class Registration:
    def __init__(self, talk: Talk, questions: TimeQuestions, planner: Planner) -> None:
        self.talk = talk
        self.questions = questions
        self.planner = planner  # it knows each clinic's protocol

    async def begin(self, update: Update, context: Context, clinic: ClinicView) -> int:
        language = self.talk.guess_language(update, context)
        draft = self.talk.keep(
            context,
            Draft(
                flow="register",
                zone=clinic.timezone,
                language=language,
                day_first=clinic.country != "US",
                clinic_id=clinic.id,
                clinic_name=clinic.name,
            ),
        )
        await self.talk.say(update, context, text("reg_intro", language, clinic_name=clinic.name))
        return await self.questions.ask_day(update, context, draft)

    async def time_chosen(self, update: Update, context: Context, draft: Draft) -> int:
        """The treatment time is accepted: on to the time zone (or back to the summary)."""
        if draft.confirming:
            return await self.ask_confirmation(update, context, draft)
        assert draft.local is not None
        zone = ZoneInfo(draft.zone)
        when = format_local(localize(draft.local, zone), zone, draft.language)
        buttons = [
            (text("btn_yes", draft.language), "r:zone:ok"),
            (text("btn_change", draft.language), "r:zone:change"),
        ]
        question = text("ask_zone", draft.language, when=when, zone=draft.zone)
        await self.talk.say(update, context, question, keyboard([buttons]))
        return ZONE

    async def zone_answer(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        keep = button_data(update).endswith(":ok")
        await self.talk.pressed(update, text("btn_yes" if keep else "btn_change", draft.language))
        if keep:
            return await self.ask_language(update, context, draft)
        await self.talk.say(update, context, text("ask_zone_typed", draft.language))
        return ZONE_TYPED

    async def zone_typed(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        zone = find_zone(typed(update))
        if zone is None:
            await self.talk.say(update, context, text("zone_unknown", draft.language))
            return ZONE_TYPED
        draft = self.talk.keep(context, replace(draft, zone=zone))
        # The same wall-clock time, now in the patient's own zone: check it again.
        assert draft.local is not None
        problem = self.questions.time_problem(zone, draft.local)
        if problem is not None:
            await self.talk.say(update, context, text(problem, draft.language))
            return await self.questions.ask_day_again(update, context, draft)
        return await self.ask_language(update, context, draft)

    async def ask_language(self, update: Update, context: Context, draft: Draft) -> int:
        buttons = [(LANGUAGE_NAMES[lang], f"r:lang:{lang}") for lang in LANGUAGES]
        await self.talk.say(
            update, context, text("ask_language", draft.language), keyboard([buttons])
        )
        return LANGUAGE

    async def language_chosen(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        language = language_or_default(button_data(update).rsplit(":", 1)[1])
        await self.talk.pressed(update, LANGUAGE_NAMES[language])
        self.talk.keep(context, replace(draft, language=language))
        skip = keyboard([[(text("btn_skip", language), "r:name:skip")]])
        await self.talk.say(update, context, text("ask_name", language), skip)
        return NAME

    async def name_typed(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        name = " ".join(typed(update).split())
        if len(name) > MAX_NAME:
            await self.talk.say(update, context, text("name_too_long", draft.language))
            return NAME
        return await self.ask_confirmation(update, context, replace(draft, first_name=name or None))

    async def name_skipped(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        await self.talk.pressed(update, text("btn_skip", draft.language))
        return await self.ask_confirmation(update, context, replace(draft, first_name=None))

    async def ask_confirmation(self, update: Update, context: Context, draft: Draft) -> int:
        draft = self.talk.keep(context, replace(draft, confirming=True))
        assert draft.local is not None
        zone = ZoneInfo(draft.zone)
        lang = draft.language
        # What the clinic's new treatments get (its own protocol, else the built-in).
        assert draft.clinic_id is not None
        protocol = await asyncio.to_thread(self.planner.clinic_protocol, draft.clinic_id)
        message = confirmation_message(
            protocol, localize(draft.local, zone), zone, self.talk.now(), lang
        )
        buttons = keyboard(
            [
                [(text("btn_confirm", lang), "r:confirm")],
                [
                    (text("btn_change_time", lang), "r:change"),
                    (text("btn_cancel", lang), "r:cancel"),
                ],
            ]
        )
        await self.talk.say(update, context, message, buttons)
        return CONFIRM

    async def change_time(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        await self.talk.pressed(update, text("btn_change_time", draft.language))
        return await self.questions.ask_day_again(update, context, draft)

    async def confirmed(self, update: Update, context: Context) -> int:
        draft = self.talk.draft(context)
        lang = draft.language
        await self.talk.pressed(update, text("btn_confirm", lang))
        assert draft.local is not None and draft.clinic_id is not None
        problem = self.questions.time_problem(draft.zone, draft.local)  # time has passed since
        if problem is not None:
            await self.talk.say(update, context, text(problem, lang))
            return await self.questions.ask_day_again(update, context, draft)
        treated = localize(draft.local, ZoneInfo(draft.zone))
        held_until = self.talk.now() + CONFIRMATION_HOLD
        try:
            registration = await asyncio.to_thread(
                self.register, draft, chat_id(update), treated, held_until
            )
        except ValueError:
            await self.talk.say(update, context, text("time_not_understood", lang))
            return await self.questions.ask_day_again(update, context, draft)
        log.info("telegram: patient %s self-registered", registration.patient_id)
        clear_draft(context)
        name_part = f", {draft.first_name}" if draft.first_name else ""
        try:
            await self.talk.say(update, context, text("registered", lang, name_part=name_part))
        finally:  # sent, or it failed: either way the welcome need not wait any more
            await self.let_welcome_go(registration.treatment_id, held_until)
        return END

    async def let_welcome_go(self, treatment_id: int, held_until: datetime) -> None:
        try:
            await asyncio.to_thread(self.planner.release, treatment_id, held_until)
        except Exception:  # the hold ends by itself; the patient has their "All set!"
            log.exception("telegram: treatment %s: welcome not released early", treatment_id)

    def register(self, draft: Draft, chat: int, treated: datetime, held_until: datetime) -> Stored:
        """Store the patient and the plan, held until `held_until` (CONFIRMATION_HOLD); a
        returning patient gets a new treatment."""
        assert draft.clinic_id is not None
        planner = self.planner
        store = self.talk.store
        now = self.talk.now()
        existing = store.patient_at_clinic(chat, draft.clinic_id)
        if existing is None:
            registration = planner.register(
                draft.clinic_id,
                NewPatient(
                    external_id=f"tg-{secrets.token_hex(8)}",
                    timezone=draft.zone,
                    language=draft.language,
                    first_name=draft.first_name,
                    telegram_chat_id=chat,
                    channel="telegram",
                ),
                treated,
                welcome_now=True,
                held_until=held_until,
            )
            store.touch(registration.patient_id, now)
            return registration
        problem = treatment_time_problem(
            treated, now, planner.clinic_protocol(draft.clinic_id), ahead=timedelta(0)
        )
        if problem:
            raise ValueError(problem)
        # The planner announces the new plan to the engine once this transaction commits.
        return store.renew_registration(
            existing,
            ChatDetails(draft.zone, draft.language, draft.first_name),
            now,
            lambda session, patient: planner.add_treatment(
                session, patient, treated, now, welcome_now=True, held_until=held_until
            ),
        )

    async def cancel(self, update: Update, context: Context) -> int:
        language = await self.talk.language(update, context)
        if update.callback_query is not None:
            await self.talk.pressed(update, text("btn_cancel", language))
        clear_draft(context)
        await self.talk.say(update, context, text("cancelled", language))
        return END

    async def nothing_to_cancel(self, update: Update, context: Context) -> None:
        language = await self.talk.language(update, context)
        await self.talk.say(update, context, text("nothing_to_cancel", language))
