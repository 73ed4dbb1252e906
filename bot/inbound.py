"""The conversation core as the channels see it: load who wrote, answer, record, alert."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.alerts import StaffAlert, StaffAlerter
from bot.channel import AlreadyProcessed, InboundReply, InboundSource
from messages.checkins import ANSWER_WINDOW, checkin_reply, parse_answer
from messages.conversation import ALERTING, PatientContext, Reply, reply
from messages.inbound_text import SMS_MAX_CHARS, TELEGRAM_MAX_CHARS, clean_inbound
from messages.protocol import Channel as Rendering
from messages.protocol import Protocol
from scheduler.clock import Clock
from storage.checkins import CheckinAnswerRow, SentCheckin
from storage.conversations import ConversationRepository, Recorded, Sender

log = logging.getLogger(__name__)

ALERT_QUIET_PERIOD = timedelta(hours=1)


class Conversations:
    """Implements bot.channel.InboundHandler."""

    def __init__(
        self,
        repository: ConversationRepository,
        clock: Clock,
        protocols: Mapping[str, Protocol],
        default_protocol: Protocol,
        alerter: StaffAlerter,
        *,
        emergency_number: str,
        default_language: str = "en",
        alert_quiet_period: timedelta = ALERT_QUIET_PERIOD,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._protocols = protocols
        self._default_protocol = default_protocol
        self._alerter = alerter
        self._emergency_number = emergency_number
        self._default_language = default_language
        self._quiet = alert_quiet_period

    def _protocol(self, sender: Sender) -> Protocol:
        return self._protocols.get(sender.protocol or "", self._default_protocol)

    def _context(self, sender: Sender) -> PatientContext:
        try:
            zone = ZoneInfo(sender.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        protocol = self._protocol(sender)
        return PatientContext(
            first_name=sender.first_name,
            language=sender.language,
            timezone=zone,
            treated_at=sender.treated_at,
            clinic_name=sender.clinic_name,
            clinic_phone=sender.clinic_phone,
            protocol=protocol,
        )

    def _answer(
        self,
        sender: Sender | None,
        text: str,
        now: datetime,
        rendering: Rendering,
        language: str | None,
    ) -> Reply:
        """Matching costs CPU in proportion to the text: run in a worker thread."""
        return reply(
            self._context(sender) if sender is not None else None,
            text,
            now,
            rendering,
            language=language,
            emergency_number=self._emergency_number,
            default_language=self._default_language,
        )

    def _checkin_answer(
        self, sender: Sender, number: int, checkin: SentCheckin, now: datetime, rendering: Rendering
    ) -> Reply:
        return checkin_reply(
            number,
            checkin.milestone,
            self._context(sender),
            now,
            rendering,
            emergency_number=self._emergency_number,
        )

    async def _open_checkin(
        self, sender: Sender | None, text: str, now: datetime
    ) -> tuple[int, SentCheckin] | None:
        """The answer and the check-in it answers, when the message is a bare 1, 2 or 3 and
        a check-in was sent to the patient within the answer window; else None, and the
        message is an ordinary one ("1" out of the blue is a question like any other)."""
        number = parse_answer(text) if sender is not None else None
        if sender is None or number is None:
            return None
        milestones = self._protocol(sender).checkins
        if not milestones:
            return None
        checkin = await asyncio.to_thread(
            self._repository.latest_checkin, sender.patient_id, milestones, now - ANSWER_WINDOW
        )
        return (number, checkin) if checkin is not None else None

    async def handle(
        self,
        *,
        channel: str,
        text: str,
        patient_id: int | None,
        language: str | None = None,
        source: InboundSource | None = None,
    ) -> InboundReply:
        rendering: Rendering = "telegram" if channel == "telegram" else "sms"
        # The channels clean what they receive; cleaning again here costs little and keeps
        # NUL bytes (which PostgreSQL refuses) out of storage whatever the channel.
        text = clean_inbound(text, TELEGRAM_MAX_CHARS if channel == "telegram" else SMS_MAX_CHARS)
        now = self._clock.now()
        sender = (
            await asyncio.to_thread(self._repository.sender, patient_id, now)
            if patient_id is not None
            else None
        )
        open_checkin = await self._open_checkin(sender, text, now)
        if sender is not None and open_checkin is not None:
            number, checkin = open_checkin
            answer = await asyncio.to_thread(
                self._checkin_answer, sender, number, checkin, now, rendering
            )
        else:
            answer = await asyncio.to_thread(self._answer, sender, text, now, rendering, language)
        alerting = answer.category in ALERTING
        recorded = await asyncio.to_thread(
            self._repository.record,
            patient_id=sender.patient_id if sender else None,
            clinic_id=sender.clinic_id if sender else None,
            channel=channel,
            inbound_text=text,
            reply_text=answer.text,
            topic=answer.topic,
            language=answer.language,
            category=answer.category,
            at=now,
            alert_quiet_period=self._quiet,
            inbound_id=(source.provider, source.message_id) if source else None,
            alert=alerting,
            checkin=CheckinAnswerRow(open_checkin[1], open_checkin[0]) if open_checkin else None,
        )
        if recorded is None:
            raise AlreadyProcessed(source)
        log.info(
            "conversation %s: patient %s, topic %s, escalation %s",
            recorded.conversation_id,
            sender.patient_id if sender else "unknown",
            answer.topic,
            recorded.escalation_id,
        )
        # After the commit: a crash before this line leaves the escalation on record (and
        # marked alerted), never a message that is neither stored nor retried.
        if sender is not None and answer.category is not None and alerting:
            await self._alert(sender, answer.category, recorded)
        return InboundReply(answer.text, answer.topic, answer.escalate, answer.language)

    async def _alert(self, sender: Sender, category: str, recorded: Recorded) -> None:
        assert recorded.escalation_id is not None
        if not recorded.alert_due:
            log.info(
                "escalation %s: clinic %s already alerted about patient %s within %s",
                recorded.escalation_id,
                sender.clinic_id,
                sender.patient_id,
                self._quiet,
            )
            return
        alert = StaffAlert(
            escalation_id=recorded.escalation_id,
            category=category,
            patient_id=sender.patient_id,
            clinic_id=sender.clinic_id,
            clinic_slug=sender.clinic_slug,
            staff_telegram_chat_id=sender.staff_telegram_chat_id,
            staff_sms_number=sender.staff_sms_number,
        )
        try:
            delivered = await self._alerter.alert(alert)
        except Exception:  # the patient still gets their answer; the next message retries
            log.exception("escalation %s: staff alert raised", recorded.escalation_id)
            delivered = False
        if not delivered:
            await asyncio.to_thread(self._repository.alert_failed, recorded.escalation_id)
