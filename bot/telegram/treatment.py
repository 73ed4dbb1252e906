"""/treatment: a registered patient corrects the time of their session that has happened (the
one their plan and answers are about, not one booked ahead); the plan moves with it."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import Update

from bot.telegram.chat import END, Context, Talk, clear_draft
from bot.telegram.commands import Commands
from bot.telegram.drafts import Draft
from bot.telegram.time_questions import TimeQuestions
from bot.telegram.views import format_local
from messages.telegram_texts import text
from scheduler.localtime import localize
from scheduler.planning import Planner
from storage.patients import NotFoundError

log = logging.getLogger(__name__)


class TreatmentCorrection:
    def __init__(
        self, talk: Talk, questions: TimeQuestions, planner: Planner, commands: Commands
    ) -> None:
        self.talk = talk
        self.questions = questions
        self.planner = planner
        self.commands = commands

    async def treatment(self, update: Update, context: Context) -> int:
        talk = self.talk
        patient = await talk.patient(update)
        if patient is None or patient.treatment_id is None or patient.performed_at is None:
            language = talk.guess_language(update, context)
            await talk.say(update, context, text("not_registered", language))
            return END
        zone = ZoneInfo(patient.timezone)
        if patient.performed_at > talk.now():
            # Only a session booked ahead: the appointment is the clinic's to move, and
            # a patient's correction is of a treatment that has happened.
            when = format_local(patient.performed_at, zone, patient.language)
            booked = text(
                "treatment_booked",
                patient.language,
                when=when,
                clinic_name=patient.clinic_name,
                clinic_phone=patient.clinic_phone,
            )
            await talk.say(update, context, booked)
            return END
        draft = talk.keep(
            context,
            Draft(
                flow="treatment",
                zone=patient.timezone,
                language=patient.language,
                day_first=patient.clinic_country != "US",
                clinic_id=patient.clinic_id,
                treatment_id=patient.treatment_id,
            ),
        )
        when = format_local(patient.performed_at, zone, patient.language)
        await talk.say(update, context, text("treatment_intro", patient.language, when=when))
        return await self.questions.ask_day(update, context, draft)

    async def apply(self, update: Update, context: Context, draft: Draft) -> int:
        """The new time is accepted: move the plan, then show it."""
        assert draft.local is not None and draft.treatment_id is not None
        zone = ZoneInfo(draft.zone)
        treated = localize(draft.local, zone)
        try:
            await asyncio.to_thread(  # past times only, as the questions asked
                self.planner.reschedule, draft.treatment_id, treated, ahead=timedelta(0)
            )
        except (ValueError, NotFoundError):
            await self.talk.say(update, context, text("time_not_understood", draft.language))
            return await self.questions.ask_day_again(update, context, draft)
        clear_draft(context)
        log.info("telegram: treatment %s rescheduled by the patient", draft.treatment_id)
        when = format_local(treated, zone, draft.language)
        await self.talk.say(update, context, text("treatment_updated", draft.language, when=when))
        patient = await self.talk.patient(update)
        if patient is not None:
            await self.commands.send_plan(update, context, patient)
        return END
