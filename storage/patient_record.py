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

from storage.clinic_protocols import version_id
from storage.db import Database
from storage.invites import new_invite
from storage.models import (
    CheckinAnswer,
    ClinicProtocol,
    Escalation,
    Invite,
    Patient,
    Reminder,
    Treatment,
)
from storage.patient_search import reading
from storage.patient_status import StatusFacts, facts_of
from storage.patients import erase_patients
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
SESSION_LIMIT: Final = 50  # a series is 3 to 6 sessions; years of them still fit


@dataclass(frozen=True)
class SessionLine:
    """One of the patient's sessions (treatments), cancelled ones too."""

    id: int
    performed_at: datetime
    registered_at: datetime
    appointment_id: str | None
    protocol: str  # the key of the protocol it was planned with
    cancelled_at: datetime | None
    protocol_version: int | None = None  # that key's clinic version number (None: built-in)
    service: str | None = None  # the booking's service, as the export wrote it


@dataclass(frozen=True)
class PlannedMessage:
    """One reminder of the current plan (or of the session booked next)."""

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
    treatment: SessionLine | None  # the current plan's session (see current_session)
    reminders: list[PlannedMessage]  # the current plan's
    sessions: list[SessionLine]  # newest first
    upcoming: SessionLine | None  # the next session booked ahead
    upcoming_plan: list[PlannedMessage]  # its reminders, when it is not the current plan
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


def current_session(sessions: list[SessionLine], now: datetime) -> SessionLine | None:
    """The session whose plan is current: the latest that has happened by `now`, else
    the next one booked (cancelled ones never). Pure; `sessions` newest first."""
    happened = (s for s in sessions if s.cancelled_at is None and s.performed_at <= now)
    return next(happened, None) or next_session(sessions, now)


def next_session(sessions: list[SessionLine], now: datetime) -> SessionLine | None:
    """The nearest session booked ahead of `now` and not cancelled. Pure."""
    ahead = [s for s in sessions if s.cancelled_at is None and s.performed_at > now]
    return ahead[-1] if ahead else None


def _sessions(session: Session, patient_id: int) -> list[SessionLine]:
    treatments = list(
        session.scalars(
            select(Treatment)
            .where(Treatment.patient_id == patient_id)
            .order_by(Treatment.performed_at.desc(), Treatment.id.desc())
            .limit(SESSION_LIMIT)
        )
    )
    row_ids = {version_id(t.protocol) for t in treatments} - {None}
    numbers: dict[int, int] = {}
    if row_ids:
        found = session.execute(
            select(ClinicProtocol.id, ClinicProtocol.version).where(ClinicProtocol.id.in_(row_ids))
        )
        numbers = {row_id: number for row_id, number in found}
    return [
        SessionLine(
            t.id,
            t.performed_at,
            t.registered_at,
            t.appointment_id,
            t.protocol,
            t.cancelled_at,
            numbers.get(version_id(t.protocol) or 0),
            t.service,
        )
        for t in treatments
    ]


def _plans(
    session: Session, patient_id: int, treatment_ids: list[int]
) -> dict[int, list[PlannedMessage]]:
    """The reminders of these treatments, each list in due order."""
    found: dict[int, list[PlannedMessage]] = {tid: [] for tid in treatment_ids}
    if not treatment_ids:
        return found
    for r in session.scalars(
        select(Reminder)
        # By patient first: the only index that starts with treatment_id leaves
        # staff replies out (migration 0010), so it cannot serve this query.
        .where(Reminder.patient_id == patient_id, Reminder.treatment_id.in_(treatment_ids))
        .order_by(Reminder.due_at, Reminder.id)
    ):
        found[r.treatment_id].append(
            PlannedMessage(
                r.id, r.milestone, r.channel, r.status, r.delivery_status, r.due_at, r.sent_at
            )
        )
    return found


def _record(session: Session, patient: Patient, now: datetime) -> PatientRecord:
    sessions = _sessions(session, patient.id)
    treatment = current_session(sessions, now)
    upcoming = next_session(sessions, now)
    shown = [s.id for s in (treatment, upcoming) if s is not None]
    plans = _plans(session, patient.id, list(dict.fromkeys(shown)))
    checkins: list[CheckinLine] = []
    if treatment is not None:
        checkins = [
            CheckinLine(a.milestone, a.answer, a.answered_at, a.escalation_id)
            for a in session.scalars(
                select(CheckinAnswer)
                .where(CheckinAnswer.treatment_id == treatment.id)
                .order_by(CheckinAnswer.answered_at, CheckinAnswer.id)
            )
        ]
    happened = treatment if treatment is not None and treatment.performed_at <= now else None
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
        facts=facts_of(
            patient,
            happened.performed_at if happened else None,
            upcoming.performed_at if upcoming else None,
        ),
        treatment=treatment,
        reminders=plans[treatment.id] if treatment else [],
        sessions=sessions,
        upcoming=upcoming,
        upcoming_plan=plans[upcoming.id] if upcoming and upcoming != treatment else [],
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
