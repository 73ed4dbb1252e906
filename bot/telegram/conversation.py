"""What the bot does with each update: onboarding, the commands, and everything else.

Storage calls run in worker threads (the database API is synchronous). Conversation state
(which question the patient is answering, and the draft of answers so far) is PTB's
ConversationHandler state and user_data, persisted by bot/telegram/persistence.py; no
patient is stored until they confirm. A conversation left unanswered for a day is dropped.
Patient text is cleaned and capped before any handler reads it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from telegram import (
    CallbackQuery,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.channel import InboundHandler
from bot.telegram.drafts import DRAFT_KEY, Draft
from bot.telegram.invites import CLINIC_PREFIX, is_start_parameter
from bot.telegram.timeparse import TimeParseError, TypedTime, parse_typed_time, time_problem
from bot.telegram.views import confirmation_message, find_zone, format_local, plan_message
from messages.inbound_text import TELEGRAM_MAX_CHARS, clean_inbound
from messages.milestones import passed_milestones
from messages.render import RenderContext, render_text
from messages.telegram_texts import LANGUAGE_NAMES, LANGUAGES, language_or_default, text
from scheduler.localtime import localize
from scheduler.planning import NewPatient, treatment_time_problem
from storage.invites import InviteRepository
from storage.patients import ClinicView, NotFoundError
from storage.telegram import ChatPatient, TelegramStore

if TYPE_CHECKING:
    from aftercare.wiring import Core

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
PRIVATE = filters.ChatType.PRIVATE
TYPED = filters.TEXT & ~filters.COMMAND & PRIVATE

# Conversation states.
WHEN, HOUR, ZONE, ZONE_TYPED, LANGUAGE, NAME, CONFIRM = range(7)
END = ConversationHandler.END
HOURS = range(8, 21)  # the hour buttons: clinics' opening hours
MAX_NAME = 40
StateCallback = Callable[[Update, "Context"], Coroutine[Any, Any, int]]


def _keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _typed(update: Update) -> str:
    """What the patient wrote, without control characters and within Telegram's length."""
    assert update.message is not None and update.message.text is not None
    return clean_inbound(update.message.text, TELEGRAM_MAX_CHARS)


class TelegramBot:
    def __init__(
        self,
        core: Core,
        inbound: InboundHandler,
        store: TelegramStore,
        invites: InviteRepository,
    ) -> None:
        self.core = core
        self.inbound = inbound
        self.store = store
        self.invites = invites

    # -- wiring -----------------------------------------------------------------------------

    def handlers(self) -> list[BaseHandler[Update, Context, Any]]:
        with warnings.catch_warnings():
            # Buttons are tracked per chat, not per message, on purpose: a patient answers
            # one question at a time.
            warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message")
            live = self._live
            conversation: ConversationHandler[Context] = ConversationHandler(
                entry_points=[
                    CommandHandler("start", self.start, filters=PRIVATE),
                    CommandHandler("treatment", self.treatment, filters=PRIVATE),
                ],
                states={
                    WHEN: [
                        CallbackQueryHandler(live(self.day_chosen), pattern=r"^t:day:\d$"),
                        MessageHandler(TYPED, live(self.time_typed)),
                    ],
                    HOUR: [
                        CallbackQueryHandler(live(self.hour_chosen), pattern=r"^t:hour:\d{1,2}$"),
                        CallbackQueryHandler(live(self.other_hour), pattern=r"^t:other$"),
                        MessageHandler(TYPED, live(self.time_typed)),
                    ],
                    ZONE: [
                        CallbackQueryHandler(
                            live(self.zone_answer), pattern=r"^r:zone:(ok|change)$"
                        )
                    ],
                    ZONE_TYPED: [MessageHandler(TYPED, live(self.zone_typed))],
                    LANGUAGE: [
                        CallbackQueryHandler(live(self.language_chosen), pattern=r"^r:lang:")
                    ],
                    NAME: [
                        CallbackQueryHandler(live(self.name_skipped), pattern=r"^r:name:skip$"),
                        MessageHandler(TYPED, live(self.name_typed)),
                    ],
                    CONFIRM: [
                        CallbackQueryHandler(live(self.confirmed), pattern=r"^r:confirm$"),
                        CallbackQueryHandler(live(self.change_time), pattern=r"^r:change$"),
                        CallbackQueryHandler(self.cancel, pattern=r"^r:cancel$"),
                    ],
                },
                fallbacks=[CommandHandler("cancel", self.cancel)],
                allow_reentry=True,
                name="onboarding",
                persistent=True,
            )
        return [
            conversation,
            CommandHandler("cancel", self.nothing_to_cancel, filters=PRIVATE),
            CommandHandler("plan", self.plan, filters=PRIVATE),
            CommandHandler("stop", self.stop, filters=PRIVATE),
            CommandHandler("resume", self.resume, filters=PRIVATE),
            CommandHandler("language", self.language, filters=PRIVATE),
            CommandHandler("delete", self.delete, filters=PRIVATE),
            CommandHandler("help", self.help, filters=PRIVATE),
            CallbackQueryHandler(self.language_set, pattern=r"^lang:(en|es)$"),
            CallbackQueryHandler(self.delete_answer, pattern=r"^del:(yes|no)$"),
            CallbackQueryHandler(self.stale_button),
            ChatMemberHandler(self.member_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.COMMAND & PRIVATE, self.help),
            MessageHandler(TYPED, self.free_text),
            MessageHandler(PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.not_text),
        ]

    # -- small helpers ----------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.core.clock.now()

    async def _patient(self, update: Update) -> ChatPatient | None:
        return await asyncio.to_thread(self.store.patient_for_chat, _chat_id(update))

    def _guess_language(self, update: Update, context: Context) -> str:
        chosen = context.chat_data.get("language") if context.chat_data is not None else None
        if chosen in LANGUAGES:
            return str(chosen)
        user = update.effective_user
        return language_or_default(
            user.language_code if user else None, self.core.settings.default_language
        )

    async def _language(self, update: Update, context: Context) -> str:
        patient = await self._patient(update)
        return patient.language if patient else self._guess_language(update, context)

    @staticmethod
    async def _say(
        update: Update, context: Context, message: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        await context.bot.send_message(chat_id=_chat_id(update), text=message, reply_markup=markup)

    @staticmethod
    async def _pressed(update: Update, choice: str | None = None) -> CallbackQuery:
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
    def _draft(context: Context) -> Draft:
        assert context.user_data is not None
        draft = context.user_data.get(DRAFT_KEY)
        if not isinstance(draft, Draft):
            raise LookupError("no conversation in progress")
        return draft

    def _keep(self, context: Context, draft: Draft) -> Draft:
        """Store the draft as of the patient's latest answer."""
        assert context.user_data is not None
        draft = replace(draft, touched_at=self._now())
        context.user_data[DRAFT_KEY] = draft
        return draft

    def _live(self, callback: StateCallback) -> StateCallback:
        """`callback` for a conversation that is still alive.

        A draft unanswered for a day (or lost) ends the conversation, and the update is
        treated as if no conversation were open: the patient starts over from the link.
        """

        async def guarded(update: Update, context: Context) -> int:
            assert context.user_data is not None
            draft = context.user_data.get(DRAFT_KEY)
            if not isinstance(draft, Draft) or draft.expired(self._now()):
                self._clear(context)
                log.info("telegram: an abandoned conversation was dropped")
                if update.callback_query is not None:
                    await self.stale_button(update, context)
                elif update.message is not None and update.message.text is not None:
                    await self.free_text(update, context)
                return END
            self._keep(context, draft)
            return await callback(update, context)

        return guarded

    # -- /start -------------------------------------------------------------------------------

    async def start(self, update: Update, context: Context) -> int:
        argument = context.args[0] if context.args else None
        if argument is not None and not is_start_parameter(argument):
            # Not something a t.me link can carry: no lookup at all.
            await self._say(
                update, context, text("invite_invalid", self._guess_language(update, context))
            )
            return END
        if argument and argument.startswith(CLINIC_PREFIX):
            slug = argument.removeprefix(CLINIC_PREFIX)
            try:
                clinic = await asyncio.to_thread(self.core.patients.clinic, slug)
            except NotFoundError:
                clinic = None
            if clinic is not None:
                return await self._begin_registration(update, context, clinic)
        if argument:
            return await self._redeem(update, context, argument)
        patient = await self._patient(update)
        if patient is not None:
            await self._say(
                update,
                context,
                text("start_registered", patient.language, first_name=self._name(patient)),
            )
        else:
            await self._say(
                update, context, text("start_unknown", self._guess_language(update, context))
            )
        return END

    def _name(self, patient: ChatPatient) -> str:
        fallback = self.core.protocol.first_name_fallback.get(patient.language, "")
        return patient.first_name or fallback

    async def _redeem(self, update: Update, context: Context, token: str) -> int:
        now = self._now()
        guess = self._guess_language(update, context)
        patient_id = await asyncio.to_thread(self.invites.redeem, token, now)
        view = await asyncio.to_thread(self.store.patient, patient_id) if patient_id else None
        if view is None:
            key = "clinic_unknown" if token.startswith(CLINIC_PREFIX) else "invite_invalid"
            await self._say(update, context, text(key, guess))
            return END
        protocol = self.core.protocol
        zone = ZoneInfo(view.timezone)
        passed = (
            passed_milestones(view.performed_at, protocol, zone, now) if view.performed_at else []
        )
        bound = await asyncio.to_thread(
            self.store.bind,
            view.id,
            _chat_id(update),
            now,
            skip=[protocol.welcome.key, *passed] if view.treatment_id else [],
        )
        if not bound:
            await self._say(update, context, text("invite_invalid", guess))
            return END
        log.info("telegram: invite redeemed, patient %s bound", view.id)
        language = view.language
        await self._say(
            update,
            context,
            text(
                "invite_welcome",
                language,
                first_name=self._name(view),
                clinic_name=view.clinic_name,
            ),
        )
        if view.treatment_id is not None and view.performed_at is not None:
            await self._send_plan(update, context, view)
            welcome = render_text(
                protocol,
                protocol.welcome.key,
                "telegram",
                RenderContext(view.first_name, view.clinic_name, view.clinic_phone, language),
                passed=passed,
            )
            await self._say(update, context, welcome)
        return END

    # -- self-registration --------------------------------------------------------------------

    async def _begin_registration(
        self, update: Update, context: Context, clinic: ClinicView
    ) -> int:
        language = self._guess_language(update, context)
        draft = self._keep(
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
        await self._say(update, context, text("reg_intro", language, clinic_name=clinic.name))
        return await self._ask_day(update, context, draft)

    async def _ask_day(self, update: Update, context: Context, draft: Draft) -> int:
        lang = draft.language
        keyboard = _keyboard(
            [
                [
                    (text("btn_today", lang), "t:day:0"),
                    (text("btn_yesterday", lang), "t:day:1"),
                    (text("btn_two_days", lang), "t:day:2"),
                ]
            ]
        )
        await self._say(update, context, text("ask_day", lang), keyboard)
        return WHEN

    def _local_now(self, draft: Draft) -> datetime:
        return self._now().astimezone(ZoneInfo(draft.zone)).replace(tzinfo=None)

    async def day_chosen(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        assert update.callback_query is not None and update.callback_query.data is not None
        back = int(update.callback_query.data.rsplit(":", 1)[1])
        labels = ("btn_today", "btn_yesterday", "btn_two_days")
        await self._pressed(update, text(labels[back], draft.language))
        day = self._local_now(draft).date() - timedelta(days=back)
        return await self._ask_hour(update, context, self._keep(context, replace(draft, day=day)))

    async def _ask_hour(self, update: Update, context: Context, draft: Draft) -> int:
        assert draft.day is not None
        now = self._local_now(draft)
        hours = [h for h in HOURS if datetime.combine(draft.day, time(h)) <= now]
        rows = [
            [(f"{h:02d}:00", f"t:hour:{h}") for h in hours[i : i + 4]]
            for i in range(0, len(hours), 4)
        ]
        if not hours:
            await self._say(update, context, text("ask_hour_typed", draft.language))
            return HOUR
        rows.append([(text("btn_other_time", draft.language), "t:other")])
        await self._say(update, context, text("ask_hour", draft.language), _keyboard(rows))
        return HOUR

    async def hour_chosen(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        assert update.callback_query is not None and update.callback_query.data is not None
        hour = int(update.callback_query.data.rsplit(":", 1)[1])
        await self._pressed(update, f"{hour:02d}:00")
        assert draft.day is not None
        return await self._time_chosen(
            update, context, draft, datetime.combine(draft.day, time(hour))
        )

    async def other_hour(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        await self._pressed(update, text("btn_other_time", draft.language))
        await self._say(update, context, text("ask_hour_typed", draft.language))
        return HOUR

    async def time_typed(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        now = self._local_now(draft)
        try:
            typed = parse_typed_time(_typed(update), now, day_first=draft.day_first)
        except TimeParseError:
            await self._say(update, context, text("time_not_understood", draft.language))
            return HOUR if draft.day is not None else WHEN
        if not typed.day_named and draft.day is not None:
            typed = TypedTime(draft.day, typed.at, day_named=True)
        if typed.at is None:
            return await self._ask_hour(
                update, context, self._keep(context, replace(draft, day=typed.day))
            )
        return await self._time_chosen(update, context, draft, typed.combine())

    async def _time_chosen(
        self, update: Update, context: Context, draft: Draft, local: datetime
    ) -> int:
        problem = self._time_problem(draft.zone, local)
        if problem is not None:
            await self._say(update, context, text(problem, draft.language))
            return await self._ask_day(
                update, context, self._keep(context, replace(draft, day=None))
            )
        draft = self._keep(context, replace(draft, local=local))
        if draft.flow == "treatment":
            return await self._apply_correction(update, context, draft)
        if draft.confirming:
            return await self._ask_confirmation(update, context, draft)
        zone = ZoneInfo(draft.zone)
        when = format_local(localize(local, zone), zone, draft.language)
        keyboard = _keyboard(
            [
                [
                    (text("btn_yes", draft.language), "r:zone:ok"),
                    (text("btn_change", draft.language), "r:zone:change"),
                ]
            ]
        )
        await self._say(
            update, context, text("ask_zone", draft.language, when=when, zone=draft.zone), keyboard
        )
        return ZONE

    def _time_problem(self, zone_name: str, local: datetime) -> str | None:
        try:
            treated = localize(local, ZoneInfo(zone_name))
        except ValueError:
            return "time_gap"
        problem = time_problem(treated, self._now())
        return None if problem is None else f"time_{problem}"

    async def zone_answer(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        assert update.callback_query is not None and update.callback_query.data is not None
        keep = update.callback_query.data.endswith(":ok")
        await self._pressed(update, text("btn_yes" if keep else "btn_change", draft.language))
        if keep:
            return await self._ask_language(update, context, draft)
        await self._say(update, context, text("ask_zone_typed", draft.language))
        return ZONE_TYPED

    async def zone_typed(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        zone = find_zone(_typed(update))
        if zone is None:
            await self._say(update, context, text("zone_unknown", draft.language))
            return ZONE_TYPED
        draft = self._keep(context, replace(draft, zone=zone))
        # The same wall-clock time, now in the patient's own zone: check it again.
        assert draft.local is not None
        problem = self._time_problem(zone, draft.local)
        if problem is not None:
            await self._say(update, context, text(problem, draft.language))
            return await self._ask_day(
                update, context, self._keep(context, replace(draft, day=None))
            )
        return await self._ask_language(update, context, draft)

    async def _ask_language(self, update: Update, context: Context, draft: Draft) -> int:
        keyboard = _keyboard([[(LANGUAGE_NAMES[lang], f"r:lang:{lang}") for lang in LANGUAGES]])
        await self._say(update, context, text("ask_language", draft.language), keyboard)
        return LANGUAGE

    async def language_chosen(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        assert update.callback_query is not None and update.callback_query.data is not None
        language = language_or_default(update.callback_query.data.rsplit(":", 1)[1])
        await self._pressed(update, LANGUAGE_NAMES[language])
        draft = self._keep(context, replace(draft, language=language))
        keyboard = _keyboard([[(text("btn_skip", language), "r:name:skip")]])
        await self._say(update, context, text("ask_name", language), keyboard)
        return NAME

    async def name_typed(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        name = " ".join(_typed(update).split())
        if len(name) > MAX_NAME:
            await self._say(update, context, text("name_too_long", draft.language))
            return NAME
        return await self._ask_confirmation(
            update, context, replace(draft, first_name=name or None)
        )

    async def name_skipped(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        await self._pressed(update, text("btn_skip", draft.language))
        return await self._ask_confirmation(update, context, replace(draft, first_name=None))

    async def _ask_confirmation(self, update: Update, context: Context, draft: Draft) -> int:
        draft = self._keep(context, replace(draft, confirming=True))
        assert draft.local is not None
        zone = ZoneInfo(draft.zone)
        lang = draft.language
        message = confirmation_message(
            self.core.protocol, localize(draft.local, zone), zone, self._now(), lang
        )
        keyboard = _keyboard(
            [
                [(text("btn_confirm", lang), "r:confirm")],
                [
                    (text("btn_change_time", lang), "r:change"),
                    (text("btn_cancel", lang), "r:cancel"),
                ],
            ]
        )
        await self._say(update, context, message, keyboard)
        return CONFIRM

    async def change_time(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        await self._pressed(update, text("btn_change_time", draft.language))
        return await self._ask_day(update, context, self._keep(context, replace(draft, day=None)))

    async def confirmed(self, update: Update, context: Context) -> int:
        draft = self._draft(context)
        lang = draft.language
        await self._pressed(update, text("btn_confirm", lang))
        assert draft.local is not None and draft.clinic_id is not None
        problem = self._time_problem(draft.zone, draft.local)  # time has passed since
        if problem is not None:
            await self._say(update, context, text(problem, lang))
            return await self._ask_day(
                update, context, self._keep(context, replace(draft, day=None))
            )
        treated = localize(draft.local, ZoneInfo(draft.zone))
        try:
            patient_id = await asyncio.to_thread(self._register, draft, _chat_id(update), treated)
        except ValueError:
            await self._say(update, context, text("time_not_understood", lang))
            return await self._ask_day(
                update, context, self._keep(context, replace(draft, day=None))
            )
        log.info("telegram: patient %s self-registered", patient_id)
        self._clear(context)
        name_part = f", {draft.first_name}" if draft.first_name else ""
        await self._say(update, context, text("registered", lang, name_part=name_part))
        return END

    def _register(self, draft: Draft, chat_id: int, treated: datetime) -> int:
        """Store the patient and the plan; a returning patient gets a new treatment."""
        assert draft.clinic_id is not None
        planner = self.core.planner
        now = self._now()
        existing = self.store.patient_at_clinic(chat_id, draft.clinic_id)
        if existing is None:
            registration = planner.register(
                draft.clinic_id,
                NewPatient(
                    external_id=f"tg-{secrets.token_hex(8)}",
                    timezone=draft.zone,
                    language=draft.language,
                    first_name=draft.first_name,
                    telegram_chat_id=chat_id,
                    channel="telegram",
                ),
                treated,
                welcome_now=True,
            )
            self.store.touch(registration.patient_id, now)
            return registration.patient_id
        problem = treatment_time_problem(treated, now, planner.default_protocol)
        if problem:
            raise ValueError(problem)
        with self.core.db.session() as session:
            patient = self.store.renew_at_clinic(session, existing, now)
            patient.timezone = draft.zone
            patient.language = draft.language
            patient.first_name = draft.first_name or patient.first_name
            patient.channel = "telegram"
            patient.paused = False
            patient.telegram_unreachable = False
            patient.updated_at = now
            session.flush()
            # The planner announces the new plan to the engine once this transaction commits.
            planner.add_treatment(session, patient, treated, now, welcome_now=True)
        return existing

    async def cancel(self, update: Update, context: Context) -> int:
        language = await self._language(update, context)
        if update.callback_query is not None:
            await self._pressed(update, text("btn_cancel", language))
        self._clear(context)
        await self._say(update, context, text("cancelled", language))
        return END

    @staticmethod
    def _clear(context: Context) -> None:
        if context.user_data is not None:
            context.user_data.pop(DRAFT_KEY, None)

    async def nothing_to_cancel(self, update: Update, context: Context) -> None:
        await self._say(
            update, context, text("nothing_to_cancel", await self._language(update, context))
        )

    # -- /treatment ---------------------------------------------------------------------------

    async def treatment(self, update: Update, context: Context) -> int:
        patient = await self._patient(update)
        if patient is None or patient.treatment_id is None or patient.performed_at is None:
            await self._say(
                update, context, text("not_registered", self._guess_language(update, context))
            )
            return END
        zone = ZoneInfo(patient.timezone)
        draft = self._keep(
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
        await self._say(update, context, text("treatment_intro", patient.language, when=when))
        return await self._ask_day(update, context, draft)

    async def _apply_correction(self, update: Update, context: Context, draft: Draft) -> int:
        assert draft.local is not None and draft.treatment_id is not None
        zone = ZoneInfo(draft.zone)
        treated = localize(draft.local, zone)
        try:
            await asyncio.to_thread(self.core.planner.reschedule, draft.treatment_id, treated)
        except (ValueError, NotFoundError):
            await self._say(update, context, text("time_not_understood", draft.language))
            return await self._ask_day(
                update, context, self._keep(context, replace(draft, day=None))
            )
        self._clear(context)
        log.info("telegram: treatment %s rescheduled by the patient", draft.treatment_id)
        when = format_local(treated, zone, draft.language)
        await self._say(update, context, text("treatment_updated", draft.language, when=when))
        patient = await self._patient(update)
        if patient is not None:
            await self._send_plan(update, context, patient)
        return END

    # -- commands -----------------------------------------------------------------------------

    async def _send_plan(self, update: Update, context: Context, patient: ChatPatient) -> None:
        assert patient.treatment_id is not None and patient.performed_at is not None
        rows = await asyncio.to_thread(self.store.plan, patient.treatment_id)
        message = plan_message(
            self.core.protocol,
            patient.performed_at,
            rows,
            ZoneInfo(patient.timezone),
            self._now(),
            patient.language,
            paused=patient.paused,
        )
        await self._say(update, context, message)

    async def _registered(self, update: Update, context: Context) -> ChatPatient | None:
        patient = await self._patient(update)
        if patient is None:
            await self._say(
                update, context, text("not_registered", self._guess_language(update, context))
            )
        return patient

    async def plan(self, update: Update, context: Context) -> None:
        patient = await self._registered(update, context)
        if patient is None:
            return
        if patient.treatment_id is None:
            await self._say(update, context, text("not_registered", patient.language))
            return
        await self._send_plan(update, context, patient)

    async def stop(self, update: Update, context: Context) -> None:
        patient = await self._registered(update, context)
        if patient is not None:
            await asyncio.to_thread(self.store.set_paused, _chat_id(update), True, self._now())
            log.info("telegram: patient %s paused reminders", patient.id)
            await self._say(update, context, text("stopped", patient.language))

    async def resume(self, update: Update, context: Context) -> None:
        patient = await self._registered(update, context)
        if patient is not None:
            await asyncio.to_thread(self.store.set_paused, _chat_id(update), False, self._now())
            log.info("telegram: patient %s resumed reminders", patient.id)
            await self._say(update, context, text("resumed", patient.language))

    async def language(self, update: Update, context: Context) -> None:
        language = await self._language(update, context)
        keyboard = _keyboard([[(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in LANGUAGES]])
        await self._say(update, context, text("ask_language", language), keyboard)

    async def language_set(self, update: Update, context: Context) -> None:
        assert update.callback_query is not None and update.callback_query.data is not None
        language = language_or_default(update.callback_query.data.split(":", 1)[1])
        await self._pressed(update, LANGUAGE_NAMES[language])
        await asyncio.to_thread(self.store.set_language, _chat_id(update), language)
        if context.chat_data is not None:
            context.chat_data["language"] = language
        await self._say(update, context, text("language_set", language))

    async def delete(self, update: Update, context: Context) -> None:
        patient = await self._registered(update, context)
        if patient is None:
            return
        lang = patient.language
        keyboard = _keyboard(
            [[(text("btn_delete", lang), "del:yes")], [(text("btn_keep", lang), "del:no")]]
        )
        await self._say(update, context, text("delete_confirm", lang), keyboard)

    async def delete_answer(self, update: Update, context: Context) -> None:
        assert update.callback_query is not None and update.callback_query.data is not None
        language = await self._language(update, context)
        erase = update.callback_query.data == "del:yes"
        await self._pressed(update, text("btn_delete" if erase else "btn_keep", language))
        if not erase:
            await self._say(update, context, text("delete_kept", language))
            return
        erased = await asyncio.to_thread(self.store.erase, _chat_id(update), self._now())
        log.info("telegram: %s patient record(s) erased at the patient's request", erased)
        if context.chat_data is not None:
            context.chat_data.clear()
        self._clear(context)
        await self._say(update, context, text("deleted", language))

    async def help(self, update: Update, context: Context) -> None:
        patient = await self._patient(update)
        language = patient.language if patient else self._guess_language(update, context)
        message = text("help", language, emergency=self.core.settings.emergency_number)
        if patient is not None:
            message += "\n" + text(
                "help_clinic",
                language,
                clinic_name=patient.clinic_name,
                clinic_phone=patient.clinic_phone,
            )
        await self._say(update, context, message)

    async def stale_button(self, update: Update, _context: Context) -> None:
        """A button from a finished conversation: acknowledge it so the spinner stops."""
        if update.callback_query is not None:
            await update.callback_query.answer()

    # -- everything else ---------------------------------------------------------------------

    async def free_text(self, update: Update, context: Context) -> None:
        typed = _typed(update)
        patient = await self._patient(update)
        language = patient.language if patient else None
        try:
            reply = await self.inbound.handle(
                channel="telegram",
                text=typed,
                patient_id=patient.id if patient else None,
                language=language,
            )
        except Exception:
            log.exception("telegram: the conversation core failed on an inbound message")
            fallback = language or self._guess_language(update, context)
            message = text(
                "inbound_failed", fallback, emergency=self.core.settings.emergency_number
            )
            await self._say(update, context, message)
            return
        if reply.escalated:
            log.info(
                "telegram: inbound message escalated (patient %s)", patient.id if patient else None
            )
        await self._say(update, context, reply.text)

    async def not_text(self, update: Update, context: Context) -> None:
        await self._say(update, context, text("only_text", await self._language(update, context)))

    async def member_changed(self, update: Update, _context: Context) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type != "private":
            return
        status = change.new_chat_member.status
        if status in (ChatMember.BANNED, ChatMember.LEFT):
            changed = await asyncio.to_thread(self.store.set_reachable, change.chat.id, False)
            log.info("telegram: bot blocked; %s patient record(s) marked unreachable", changed)
        elif status == ChatMember.MEMBER:
            changed = await asyncio.to_thread(self.store.set_reachable, change.chat.id, True)
            log.info("telegram: bot unblocked; %s patient record(s) reachable again", changed)
