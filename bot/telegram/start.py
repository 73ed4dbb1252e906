"""/start: a patient's own invite (bind the chat, show the plan and the welcome), a clinic's
public link (begin self-registration), or no link at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from telegram import Update

from bot.telegram.chat import END, Context, Talk, chat_id
from bot.telegram.commands import Commands
from bot.telegram.invites import CLINIC_PREFIX, is_start_parameter
from bot.telegram.registration import Registration
from messages.milestones import passed_milestones, welcome_timeline
from messages.protocol import Protocol
from messages.render import RenderContext, render_text
from messages.telegram_texts import text
from storage.invites import InviteRepository

log = logging.getLogger(__name__)


class Start:
    def __init__(
        self,
        talk: Talk,
        protocol: Protocol,
        protocols: Mapping[str, Protocol],
        invites: InviteRepository,
        registration: Registration,
        commands: Commands,
        *,
        emergency_number: str,
    ) -> None:
        self.talk = talk
        self.protocol = protocol  # the built-in, for a treatment whose key names nothing
        self.protocols = protocols
        self.invites = invites
        self.registration = registration
        self.commands = commands
        self.emergency_number = emergency_number

    async def start(self, update: Update, context: Context) -> int:
        talk = self.talk
        argument = context.args[0] if context.args else None
        if argument is not None and not is_start_parameter(argument):
            # Not something a t.me link can carry: no lookup at all.
            language = talk.guess_language(update, context)
            await talk.say(update, context, text("invite_invalid", language))
            return END
        if argument and argument.startswith(CLINIC_PREFIX):
            slug = argument.removeprefix(CLINIC_PREFIX)
            clinic = await asyncio.to_thread(talk.store.clinic, slug)
            if clinic is not None:
                return await self.registration.begin(update, context, clinic)
        if argument:
            return await self.redeem(update, context, argument)
        patient = await talk.patient(update)
        if patient is not None:
            greeting = text("start_registered", patient.language, first_name=talk.name(patient))
            await talk.say(update, context, greeting)
        else:
            language = talk.guess_language(update, context)
            await talk.say(update, context, text("start_unknown", language))
        return END

    async def redeem(self, update: Update, context: Context, token: str) -> int:
        talk = self.talk
        now = talk.now()
        guess = talk.guess_language(update, context)
        patient_id = await asyncio.to_thread(self.invites.redeem, token, now)
        view = await asyncio.to_thread(talk.store.patient, patient_id, now) if patient_id else None
        if view is None:
            key = "clinic_unknown" if token.startswith(CLINIC_PREFIX) else "invite_invalid"
            await talk.say(update, context, text(key, guess))
            return END
        zone = ZoneInfo(view.timezone)
        # The session that has happened (else the one booked ahead): a welcome shown now is
        # that session's, and one booked ahead gets its own when its time comes.
        plan = await asyncio.to_thread(talk.store.plan, view.id, now)
        protocol = (
            self.protocol if plan is None else self.protocols.get(plan.protocol, self.protocol)
        )
        treated_at = plan.performed_at if plan is not None and plan.performed_at <= now else None
        passed = passed_milestones(treated_at, protocol, zone, now) if treated_at else []
        bound = await asyncio.to_thread(
            talk.store.bind,
            view.id,
            chat_id(update),
            now,
            skip=[protocol.welcome.key, *passed] if treated_at else [],
            treatment_id=plan.treatment_id if plan is not None else None,
        )
        if not bound:
            await talk.say(update, context, text("invite_invalid", guess))
            return END
        log.info("telegram: invite redeemed, patient %s bound", view.id)
        language = view.language
        greeting = text(
            "invite_welcome", language, first_name=talk.name(view), clinic_name=view.clinic_name
        )
        await talk.say(update, context, greeting)
        if plan is not None:
            await self.commands.send_plan(update, context, view)
        if treated_at is not None:
            welcome = render_text(
                protocol,
                protocol.welcome.key,
                "telegram",
                RenderContext(
                    view.first_name,
                    view.clinic_name,
                    view.clinic_phone,
                    language,
                    emergency_number=self.emergency_number,
                ),
                passed=passed,
                # A late welcome names dates in the patient's zone ("until Thu 5 Mar").
                timeline=welcome_timeline(treated_at, protocol, zone, now),
            )
            await talk.say(update, context, welcome)
        return END
