"""What the bot does with each update: the parts of the conversation, assembled into PTB
handlers.

Conversation state (which question the patient is answering, and the draft of answers so
far) is PTB's ConversationHandler state and user_data, persisted by
bot/telegram/persistence.py. A conversation left unanswered for a day is dropped. The parts:
start.py (/start, invites), registration.py (self-registration), time_questions.py (when
was the treatment, for both flows), treatment.py (/treatment), commands.py (the other
commands), free_text.py (questions for the conversation core, blocking the bot).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.channel import InboundHandler
from bot.telegram.chat import (
    CONFIRM,
    END,
    HOUR,
    LANGUAGE,
    NAME,
    PRIVATE,
    TYPED,
    WHEN,
    ZONE,
    ZONE_TYPED,
    Context,
    StateCallback,
    Talk,
    clear_draft,
)
from bot.telegram.commands import Commands
from bot.telegram.drafts import DRAFT_KEY, Draft
from bot.telegram.free_text import FreeText
from bot.telegram.registration import Registration
from bot.telegram.start import Start
from bot.telegram.time_questions import DAY_PATTERN, HOUR_PATTERN, TimeQuestions
from bot.telegram.treatment import TreatmentCorrection
from messages.protocol import Protocol
from scheduler.clock import Clock
from scheduler.planning import Planner
from storage.invites import InviteRepository
from storage.telegram import TelegramStore

__all__ = ["CONFIRM", "HOUR", "LANGUAGE", "NAME", "WHEN", "ZONE", "ZONE_TYPED", "TelegramBot"]

log = logging.getLogger(__name__)


class ButtonWithoutData(CallbackQueryHandler[Context, None]):
    """A button press with no data (or none we could answer in a chat).

    PTB passes a callback query without data to every CallbackQueryHandler whatever its
    pattern, so this one comes first: such a press is only acknowledged.
    """

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.callback_query is None:
            return False
        return not update.callback_query.data or update.effective_chat is None


class TelegramBot:
    def __init__(
        self,
        *,
        clock: Clock,
        store: TelegramStore,
        invites: InviteRepository,
        planner: Planner,
        protocol: Protocol,
        inbound: InboundHandler,
        default_language: str,
        emergency_number: str,
    ) -> None:
        self.talk = Talk(
            clock,
            store,
            default_language=default_language,
            first_name_fallback=protocol.first_name_fallback,
        )
        self.questions = TimeQuestions(self.talk)
        # A patient's plan is shown with the protocol their treatment names (a clinic's own
        # version, or the built-in `protocol`).
        protocols = planner.protocols
        self.commands = Commands(self.talk, protocol, protocols, emergency_number=emergency_number)
        self.registration = Registration(self.talk, self.questions, planner)
        self.correction = TreatmentCorrection(self.talk, self.questions, planner, self.commands)
        self.start = Start(
            self.talk,
            protocol,
            protocols,
            invites,
            self.registration,
            self.commands,
            emergency_number=emergency_number,
        )
        self.free_text = FreeText(self.talk, inbound, emergency_number=emergency_number)
        self.questions.then.update(
            register=self.registration.time_chosen, treatment=self.correction.apply
        )

    def handlers(self) -> list[BaseHandler[Update, Context, Any]]:
        commands, registration, questions = self.commands, self.registration, self.questions
        with warnings.catch_warnings():
            # Buttons are tracked per chat, not per message, on purpose: a patient answers
            # one question at a time.
            warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message")
            live = self._live
            conversation: ConversationHandler[Context] = ConversationHandler(
                entry_points=[
                    CommandHandler("start", self.start.start, filters=PRIVATE),
                    CommandHandler("treatment", self.correction.treatment, filters=PRIVATE),
                ],
                states={
                    WHEN: [
                        CallbackQueryHandler(live(questions.day_chosen), pattern=DAY_PATTERN),
                        MessageHandler(TYPED, live(questions.time_typed)),
                    ],
                    HOUR: [
                        CallbackQueryHandler(live(questions.hour_chosen), pattern=HOUR_PATTERN),
                        CallbackQueryHandler(live(questions.other_hour), pattern=r"^t:other$"),
                        MessageHandler(TYPED, live(questions.time_typed)),
                    ],
                    ZONE: [
                        CallbackQueryHandler(
                            live(registration.zone_answer), pattern=r"^r:zone:(ok|change)$"
                        )
                    ],
                    ZONE_TYPED: [MessageHandler(TYPED, live(registration.zone_typed))],
                    LANGUAGE: [
                        CallbackQueryHandler(
                            live(registration.language_chosen), pattern=r"^r:lang:"
                        )
                    ],
                    NAME: [
                        CallbackQueryHandler(
                            live(registration.name_skipped), pattern=r"^r:name:skip$"
                        ),
                        MessageHandler(TYPED, live(registration.name_typed)),
                    ],
                    CONFIRM: [
                        CallbackQueryHandler(live(registration.confirmed), pattern=r"^r:confirm$"),
                        CallbackQueryHandler(live(registration.change_time), pattern=r"^r:change$"),
                        CallbackQueryHandler(registration.cancel, pattern=r"^r:cancel$"),
                    ],
                },
                fallbacks=[CommandHandler("cancel", registration.cancel)],
                allow_reentry=True,
                name="onboarding",
                persistent=True,
            )
        free_text = self.free_text
        return [
            ButtonWithoutData(commands.stale_button),
            conversation,
            CommandHandler("cancel", registration.nothing_to_cancel, filters=PRIVATE),
            CommandHandler("plan", commands.plan, filters=PRIVATE),
            CommandHandler("stop", commands.stop, filters=PRIVATE),
            CommandHandler("resume", commands.resume, filters=PRIVATE),
            CommandHandler("language", commands.language, filters=PRIVATE),
            CommandHandler("delete", commands.delete, filters=PRIVATE),
            CommandHandler("help", commands.help, filters=PRIVATE),
            CallbackQueryHandler(commands.language_set, pattern=r"^lang:(en|es)$"),
            CallbackQueryHandler(commands.delete_answer, pattern=r"^del:(yes|no)$"),
            CallbackQueryHandler(commands.stale_button),
            ChatMemberHandler(free_text.member_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.COMMAND & PRIVATE, commands.help),
            MessageHandler(TYPED, free_text.free_text),
            MessageHandler(PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, free_text.not_text),
        ]

    def _live(self, callback: StateCallback) -> StateCallback:
        """`callback` for a conversation that is still alive.

        A draft unanswered for a day (or lost) ends the conversation, and the update is
        treated as if no conversation were open: the patient starts over from the link.
        """

        async def guarded(update: Update, context: Context) -> int:
            assert context.user_data is not None
            draft = context.user_data.get(DRAFT_KEY)
            if not isinstance(draft, Draft) or draft.expired(self.talk.now()):
                clear_draft(context)
                log.info("telegram: an abandoned conversation was dropped")
                if update.callback_query is not None:
                    await self.commands.stale_button(update, context)
                elif update.message is not None and update.message.text is not None:
                    await self.free_text.free_text(update, context)
                return END
            self.talk.keep(context, draft)
            return await callback(update, context)

        return guarded
