"""One patient as the clinic's staff see and change them on their page.

Every read and write is scoped to a clinic: another clinic's patient is answered as
missing. Writes take an `audit` hook, called inside the same transaction, so the audit
entry and the change are committed together (or not at all).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.invites import new_invite
from storage.models import CheckinAnswer, Escalation, Invite, Patient, Reminder
from storage.patient_search import reading
from storage.patient_status import StatusFacts, facts_of
from storage.patients import current_treatment, erase_patients
from storage.reading import read_only_engine
from storage.values import CHANNELS, ReminderStatus

Audit = Callable[[Session], None]
ChannelProblem = Literal[
    "missing",
    "unknown",
    "erased",
    "no_phone",
    "opted_out",
    "sms_unreachable",
    "no_telegram",
    "telegram_unreachable",
]
ESCALATION_LIMIT: Final = 50


@dataclass(frozen=True)
class TreatmentFacts:
    id: int
    performed_at: datetime
    registered_at: datetime
    protocol: str


@dataclass(frozen=True)
class PlannedMessage:
    """One reminder of the current treatment."""

    id: int
    milestone: str
    channel: str
    status: str
    delivery_status: str | None
    due_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class EscalationLine:
    id: int
    category: str
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class CheckinLine:
    milestone: str
    answer: int  # 1 as expected, 2 not sure, 3 worried
    answered_at: datetime
    escalation_id: int | None


@dataclass(frozen=True)
class PatientRecord:
    id: int
    clinic_id: int
    external_id: str
    first_name: str | None
    phone: str | None
    telegram_linked: bool
    channel: str
    language: str
    timezone: str
    created_at: datetime
    erased_at: datetime | None
    facts: StatusFacts
    treatment: TreatmentFacts | None
    reminders: list[PlannedMessage]
    escalations: list[EscalationLine]
    checkins: list[CheckinLine]
    invite_open_until: datetime | None  # the newest unused invite link, while it works

    def reachable_on(self, channel: str) -> bool:
        return channel_problem(self.facts, channel) is None


def channel_problem(facts: StatusFacts, channel: str) -> ChannelProblem | None:
    """Why reminders cannot go to the patient on `channel`, or None. Pure."""
    if channel not in CHANNELS:
        return "unknown"
    if facts.erased:
        return "erased"
    if channel == "sms":
        if not facts.has_phone:
            return "no_phone"
        if facts.sms_opted_out:
            return "opted_out"
        if facts.sms_unreachable:
            return "sms_unreachable"
        return None
    if not facts.telegram_linked:
        return "no_telegram"
    if facts.telegram_unreachable:
        return "telegram_unreachable"
    return None


class PatientRecords:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._reader = read_only_engine(db)

    def get(self, clinic_id: int, external_id: str, now: datetime) -> PatientRecord | None:
        with reading(self._reader) as session:
            patient = _patient(session, clinic_id, external_id)
            if patient is None:
                return None
            return _record(session, patient, now)

    # -- changes ------------------------------------------------------------------------

    def set_paused(
        self, clinic_id: int, patient_id: int, paused: bool, now: datetime, audit: Audit
    ) -> bool:
        """Pause or resume the patient's reminders; False for an erased or unknown patient.
        While paused, reminders that fall due are skipped (scheduler.decisions), not held."""
        with self._db.session() as session:
            patient = _owned(session, clinic_id, patient_id)
            if patient is None or patient.erased_at is not None:
                return False
            patient.paused = paused
            patient.updated_at = now
            audit(session)
            return True

    def set_channel(
        self, clinic_id: int, patient_id: int, channel: str, now: datetime, audit: Audit
    ) -> ChannelProblem | None:
        """Send the patient's reminders on `channel` from now on, the pending ones too;
        refused (with the reason) when that channel cannot reach them."""
        with self._db.session() as session:
            patient = _owned(session, clinic_id, patient_id)
            if patient is None:
                return "missing"
            problem = channel_problem(facts_of(patient, None), channel)
            if problem is not None:
                return problem
            patient.channel = channel
            patient.updated_at = now
            session.execute(
                update(Reminder)
                .where(Reminder.patient_id == patient_id, Reminder.status == ReminderStatus.PENDING)
                .values(channel=channel)
                .execution_options(synchronize_session=False)
            )
            audit(session)
            return None

    def new_invite(
        self, clinic_id: int, patient_id: int, now: datetime, ttl: timedelta, audit: Audit
    ) -> str | None:
        """A new Telegram invite token (earlier ones stay valid until they expire); None
        for an erased or unknown patient, or one whose Telegram is already linked."""
        with self._db.session() as session:
            patient = _owned(session, clinic_id, patient_id)
            if patient is None or patient.erased_at is not None:
                return None
            if patient.telegram_chat_id is not None:
                return None
            token = new_invite(session, patient.id, now, ttl)
            audit(session)
            return token

    def erase(self, clinic_id: int, patient_id: int, now: datetime, audit: Audit) -> int | None:
        """The API's erasure (storage.patients.erase_patients); returns reminders cancelled,
        None for an unknown patient. Erasing twice changes nothing more."""
        with self._db.session() as session:
            patient = _owned(session, clinic_id, patient_id)
            if patient is None:
                return None
            cancelled = erase_patients(session, [patient.id], now)
            audit(session)
            return cancelled


def _patient(session: Session, clinic_id: int, external_id: str) -> Patient | None:
    return session.scalar(
        select(Patient).where(Patient.clinic_id == clinic_id, Patient.external_id == external_id)
    )


def _owned(session: Session, clinic_id: int, patient_id: int) -> Patient | None:
    patient = session.scalar(select(Patient).where(Patient.id == patient_id).with_for_update())
    return patient if patient is not None and patient.clinic_id == clinic_id else None


def _record(session: Session, patient: Patient, now: datetime) -> PatientRecord:
    treatment = current_treatment(session, patient.id)
    reminders: list[PlannedMessage] = []
    checkins: list[CheckinLine] = []
    current = None
    if treatment is not None:
        reminders = [
            PlannedMessage(
                r.id, r.milestone, r.channel, r.status, r.delivery_status, r.due_at, r.sent_at
            )
            for r in session.scalars(
                select(Reminder)
                # By patient first: the only index that starts with treatment_id leaves
                # staff replies out (migration 0010), so it cannot serve this query.
                .where(Reminder.patient_id == patient.id, Reminder.treatment_id == treatment.id)
                .order_by(Reminder.due_at, Reminder.id)
            )
        ]
        checkins = [
            CheckinLine(a.milestone, a.answer, a.answered_at, a.escalation_id)
            for a in session.scalars(
                select(CheckinAnswer)
                .where(CheckinAnswer.treatment_id == treatment.id)
                .order_by(CheckinAnswer.answered_at, CheckinAnswer.id)
            )
        ]
        current = TreatmentFacts(
            treatment.id, treatment.performed_at, treatment.registered_at, treatment.protocol
        )
    escalations = [
        EscalationLine(e.id, e.category, e.created_at, e.resolved_at)
        for e in session.scalars(
            select(Escalation)
            .where(Escalation.patient_id == patient.id, Escalation.clinic_id == patient.clinic_id)
            .order_by(Escalation.created_at.desc(), Escalation.id.desc())
            .limit(ESCALATION_LIMIT)
        )
    ]
    return PatientRecord(
        id=patient.id,
        clinic_id=patient.clinic_id,
        external_id=patient.external_id,
        first_name=patient.first_name,
        phone=patient.phone,
        telegram_linked=patient.telegram_chat_id is not None,
        channel=patient.channel,
        language=patient.language,
        timezone=patient.timezone,
        created_at=patient.created_at,
        erased_at=patient.erased_at,
        facts=facts_of(patient, treatment.performed_at if treatment else None),
        treatment=current,
        reminders=reminders,
        escalations=escalations,
        checkins=checkins,
        invite_open_until=session.scalar(
            select(Invite.expires_at)
            .where(
                Invite.patient_id == patient.id, Invite.used_at.is_(None), Invite.expires_at > now
            )
            .order_by(Invite.expires_at.desc())
            .limit(1)
        ),
    )
