"""Registering a treatment: plan its reminders and store them with it, atomically."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from messages.protocol import Protocol
from scheduler.clock import Clock
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import PlannedReminder, plan
from storage.bulk import ReminderInsert, insert_reminders
from storage.db import Database
from storage.models import Base, Patient, Reminder, ReminderStatus, Treatment
from storage.patients import DuplicateError, NotFoundError

PATIENTS = Base.metadata.tables["patient"]
TREATMENTS = Base.metadata.tables["treatment"]

# Clocks disagree a little; a treatment "in the future" by less than this is accepted.
CLOCK_SKEW = timedelta(minutes=5)


def treatment_time_problem(treated_at: datetime, now: datetime, protocol: Protocol) -> str | None:
    """Why a treatment time cannot be registered, or None. Pure."""
    if treated_at.tzinfo is None:
        return "treatment time needs a time zone"
    if treated_at > now + CLOCK_SKEW:
        return "treatment time is in the future"
    last = protocol.timed[-1]
    if treated_at + last.offset.nominal + last.window.nominal < now:
        return f"treatment is older than the protocol's last milestone ({last.key}, {last.offset})"
    return None


@dataclass(frozen=True)
class NewPatient:
    external_id: str
    timezone: str
    language: str = "en"
    first_name: str | None = None
    phone: str | None = None
    telegram_chat_id: int | None = None
    channel: str | None = None  # preferred; derived from the addresses when None

    def preferred_channel(self) -> str:
        if self.channel:
            return self.channel
        return "telegram" if self.telegram_chat_id is not None and not self.phone else "sms"


@dataclass(frozen=True)
class Registration:
    patient_id: int
    treatment_id: int
    planned: list[PlannedReminder]


class Planner:
    def __init__(
        self,
        db: Database,
        protocols: Mapping[str, Protocol],
        default_protocol: Protocol,
        quiet: QuietHours | None,
        clock: Clock,
        on_planned: Callable[[datetime], None] | None = None,
    ) -> None:
        self.db = db
        self.protocols = protocols
        self.default_protocol = default_protocol
        self.quiet = quiet
        self.clock = clock
        self.on_planned = on_planned  # lets a running engine wake earlier

    def protocol(self, name: str | None) -> Protocol:
        return self.protocols.get(name or "", self.default_protocol)

    def register(
        self,
        clinic_id: int,
        patient: NewPatient,
        treated_at: datetime,
        *,
        welcome_now: bool = False,
    ) -> Registration:
        now = self.clock.now()
        protocol = self.default_protocol
        problem = treatment_time_problem(treated_at, now, protocol)
        if problem:
            raise ValueError(problem)
        with self.db.session() as session:
            exists = session.scalar(
                select(Patient.id).where(
                    Patient.clinic_id == clinic_id, Patient.external_id == patient.external_id
                )
            )
            if exists is not None:
                raise DuplicateError(f"patient {patient.external_id!r} already exists")
            row = Patient(
                clinic_id=clinic_id,
                external_id=patient.external_id,
                first_name=patient.first_name,
                phone=patient.phone,
                telegram_chat_id=patient.telegram_chat_id,
                timezone=patient.timezone,
                language=patient.language,
                channel=patient.preferred_channel(),
                sms_opted_out=False,
                sms_unreachable=False,
                telegram_unreachable=False,
                paused=False,
                created_at=now,
            )
            session.add(row)
            session.flush()
            registration = self.add_treatment(
                session, row, treated_at, now, welcome_now=welcome_now
            )
        self._notify(registration.planned)
        return registration

    def register_batch(
        self, clinic_id: int, items: Sequence[tuple[NewPatient, datetime]]
    ) -> list[Registration]:
        """Many new patients in one transaction: three bulk inserts instead of 2n+1 statements.

        Treatment times must already be valid (`treatment_time_problem`); the clinic's import
        validates every row before it gets here.
        """
        now = self.clock.now()
        protocol = self.default_protocol
        zones: dict[str, ZoneInfo] = {}
        with self.db.session() as session:
            # Core statements on the tables: the ORM's bulk path costs more than SQLite does.
            connection = session.connection()
            patient_ids = list(
                connection.scalars(
                    insert(PATIENTS).returning(PATIENTS.c.id, sort_by_parameter_order=True),
                    [_patient_row(clinic_id, patient, now) for patient, _ in items],
                )
            )
            treatment_ids = list(
                connection.scalars(
                    insert(TREATMENTS).returning(TREATMENTS.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "patient_id": pid,
                            "performed_at": treated_at,
                            "registered_at": now,
                            "protocol": protocol.name,
                        }
                        for pid, (_, treated_at) in zip(patient_ids, items, strict=True)
                    ],
                )
            )
            registrations = []
            rows: list[ReminderInsert] = []
            for pid, tid, (patient, treated_at) in zip(
                patient_ids, treatment_ids, items, strict=True
            ):
                zone = zones.get(patient.timezone) or zones.setdefault(
                    patient.timezone, ZoneInfo(patient.timezone)
                )
                planned = plan(treated_at, protocol, zone, self.quiet, now)
                rows.extend(
                    reminder_insert(tid, pid, patient.preferred_channel(), p) for p in planned
                )
                registrations.append(Registration(pid, tid, planned))
            insert_reminders(session, rows)
        self._notify([p for r in registrations for p in r.planned[:1]])
        return registrations

    def add_treatment(
        self,
        session: Session,
        patient: Patient,
        treated_at: datetime,
        now: datetime,
        *,
        welcome_now: bool = False,
    ) -> Registration:
        """Inside the caller's transaction, so a patient is never stored without its plan."""
        protocol = self.default_protocol
        planned = plan(
            treated_at,
            protocol,
            ZoneInfo(patient.timezone),
            self.quiet,
            now,
            welcome_now=welcome_now,
        )
        treatment = Treatment(
            patient_id=patient.id,
            performed_at=treated_at,
            registered_at=now,
            protocol=protocol.name,
        )
        session.add(treatment)
        session.flush()
        insert_reminders(
            session,
            [reminder_insert(treatment.id, patient.id, patient.channel, p) for p in planned],
        )
        return Registration(patient.id, treatment.id, planned)

    def reschedule(self, treatment_id: int, treated_at: datetime) -> list[PlannedReminder]:
        """The treatment time was corrected: move pending reminders, skip ones now past,
        add ones newly ahead. Sent reminders stay as they are; the welcome is not repeated."""
        now = self.clock.now()
        problem = treatment_time_problem(treated_at, now, self.default_protocol)
        if problem:
            raise ValueError(problem)
        with self.db.session() as session:
            treatment = session.get(Treatment, treatment_id)
            if treatment is None:
                raise NotFoundError(f"no treatment {treatment_id}")
            patient = session.get(Patient, treatment.patient_id)
            assert patient is not None
            planned = self.reschedule_in(
                session,
                treatment_id,
                patient.id,
                ZoneInfo(patient.timezone),
                patient.channel,
                treated_at,
                now,
            )
        self._notify(planned)
        return planned

    def reschedule_in(
        self,
        session: Session,
        treatment_id: int,
        patient_id: int,
        zone: ZoneInfo,
        channel: str,
        treated_at: datetime,
        now: datetime,
    ) -> list[PlannedReminder]:
        """`reschedule`'s rules inside the caller's transaction (an import batch, say)."""
        protocol = self.default_protocol
        session.execute(
            update(Treatment).where(Treatment.id == treatment_id).values(performed_at=treated_at)
        )
        planned = {
            p.key: p
            for p in plan(treated_at, protocol, zone, self.quiet, now)
            if p.key != protocol.welcome.key
        }
        existing = {
            r.milestone: r
            for r in session.scalars(select(Reminder).where(Reminder.treatment_id == treatment_id))
        }
        fresh = []
        for milestone in protocol.timed:
            row, new = existing.get(milestone.key), planned.get(milestone.key)
            if row is not None and row.status != ReminderStatus.PENDING:
                continue
            if row is not None and new is None:
                row.status = ReminderStatus.SKIPPED
                row.last_error = "treatment time moved past this milestone"
            elif row is not None and new is not None:
                row.due_at = row.next_attempt_at = new.due_at
                row.expires_at = new.expires_at
            elif new is not None:
                fresh.append(reminder_insert(treatment_id, patient_id, channel, new))
        session.flush()
        insert_reminders(session, fresh)
        return list(planned.values())

    def cancel(self, treatment_id: int) -> int:
        """Cancel a treatment and every reminder of it not yet sent."""
        with self.db.session() as session:
            treatment = session.get(Treatment, treatment_id)
            if treatment is None:
                raise NotFoundError(f"no treatment {treatment_id}")
            treatment.cancelled_at = self.clock.now()
            result = session.execute(
                update(Reminder)
                .where(
                    Reminder.treatment_id == treatment_id, Reminder.status == ReminderStatus.PENDING
                )
                .values(status=ReminderStatus.CANCELLED, last_error="treatment cancelled")
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def _notify(self, planned: list[PlannedReminder]) -> None:
        if self.on_planned is not None and planned:
            self.on_planned(min(p.due_at for p in planned))


def _patient_row(clinic_id: int, patient: NewPatient, now: datetime) -> dict[str, object]:
    return {
        "clinic_id": clinic_id,
        "external_id": patient.external_id,
        "first_name": patient.first_name,
        "phone": patient.phone,
        "telegram_chat_id": patient.telegram_chat_id,
        "timezone": patient.timezone,
        "language": patient.language,
        "channel": patient.preferred_channel(),
        "sms_opted_out": False,
        "sms_unreachable": False,
        "telegram_unreachable": False,
        "paused": False,
        "created_at": now,
    }


def reminder_insert(
    treatment_id: int, patient_id: int, channel: str, p: PlannedReminder
) -> ReminderInsert:
    return (treatment_id, patient_id, p.key, channel, p.due_at, p.expires_at)
