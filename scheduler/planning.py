"""Registering a treatment: plan its reminders and store them with it, atomically."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from messages.protocol import INVITE, Protocol
from scheduler.clock import Clock
from scheduler.invites import plan_invite, wants_invite
from scheduler.protocol_catalog import ClinicPlanning, ProtocolCatalog
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import PlannedReminder, plan
from storage import held_reminders
from storage.appointments import one_plan_at_a_time
from storage.bulk import (
    PatientInsert,
    ReminderInsert,
    insert_patients,
    insert_reminders,
    insert_treatments,
)
from storage.clinic_protocols import ReplanCandidate
from storage.day_before import day_before_on_for_patient
from storage.db import Database
from storage.models import Patient, Reminder, ReminderStatus, Treatment
from storage.patients import DuplicateError, NotFoundError
from storage.values import STAFF_REPLY

_PLAN_MEMO = 8192  # plans kept for reuse (a few MB), whatever the batch
_EARLIEST_PLANNED = "planner.earliest_planned"  # Session.info key until the commit

# Clocks disagree a little; a treatment "in the future" by less than this is accepted.
CLOCK_SKEW = timedelta(minutes=5)
# Booked appointments may be enrolled this far ahead (a clinic may narrow it).
MAX_AHEAD = timedelta(days=90)


def treatment_time_problem(
    treated_at: datetime, now: datetime, protocol: Protocol, ahead: timedelta = MAX_AHEAD
) -> str | None:
    """Why a treatment time cannot be registered, or None. Pure. `ahead`: how far in the
    future an appointment may be (0 where only past treatments make sense)."""
    if treated_at.tzinfo is None:
        return "treatment time needs a time zone"
    if treated_at > now + max(ahead, CLOCK_SKEW):
        if ahead <= CLOCK_SKEW:
            return "treatment time is in the future"
        return f"treatment time is more than {ahead.days} days ahead"
    last = protocol.timed[-1]
    if treated_at < now - (last.offset.nominal + last.window.nominal):  # no overflow at 9999
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

    def insert_row(self) -> PatientInsert:
        return PatientInsert(
            self.external_id,
            self.first_name,
            self.phone,
            self.telegram_chat_id,
            self.timezone,
            self.language,
            self.preferred_channel(),
        )


@dataclass(frozen=True)
class Registration:
    patient_id: int
    treatment_id: int
    planned: list[PlannedReminder]


class NewTreatment(NamedTuple):
    """A treatment for a stored patient, planned in their zone, sent on their channel."""

    patient_id: int
    timezone: str
    channel: str
    treated_at: datetime
    service: str | None = None  # the booking's service, as the clinic's export wrote it


PlannedListener = Callable[[datetime], None]  # the earliest due time just stored


class Planner:
    """Every new patient, treatment and plan is written here (`enroll`, `add_treatments`),
    and subscribers hear of each plan once its transaction commits.

    A new treatment is planned with its clinic's protocol (`planning`: the clinic's own
    version, else the built-in) and stores that protocol's key; a stored treatment is
    rescheduled with the protocol it names, unless it is replanned with another."""

    def __init__(
        self,
        db: Database,
        protocols: ProtocolCatalog,
        quiet: QuietHours | None,
        clock: Clock,
        *,
        sms_invites: bool = False,
    ) -> None:
        self.db = db
        self.protocols = protocols
        self.quiet = quiet
        self.clock = clock
        # Plan an invite SMS for patients enrolled for Telegram who have a phone: only where
        # invite links can be made and texts sent (scheduler.invites).
        self.sms_invites = sms_invites
        self._listeners: list[PlannedListener] = []
        self._plans: dict[
            tuple[datetime, str, datetime, bool, str, bool], list[PlannedReminder]
        ] = {}

    @property
    def default_protocol(self) -> Protocol:
        """The built-in protocol (PROTOCOL_FILE, or microneedling)."""
        return self.protocols.built_in

    def protocol(self, name: str | None) -> Protocol:
        return self.protocols.get(name or "", self.protocols.built_in)

    def planning(self, session: Session, clinic_id: int) -> ClinicPlanning:
        """How the clinic's new treatments are planned, as stored in `session`'s view."""
        return self.protocols.plans(session, clinic_id).default

    def clinic_protocol(self, clinic_id: int) -> Protocol:
        """The protocol the clinic's new treatments get now (its own, else the built-in)."""
        with self.db.session() as session:
            return self.planning(session, clinic_id).protocol

    # -- the "planned" notification -----------------------------------------------------------

    def subscribe(self, listener: PlannedListener) -> None:
        """Call `listener` with the earliest due time of every plan stored from now on, after
        its transaction commits (a running engine wakes earlier for it)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: PlannedListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _announce_on_commit(
        self,
        session: Session,
        planned: Iterable[PlannedReminder],
        held_until: datetime | None = None,
    ) -> None:
        earliest = min((p.due_at for p in planned), default=None)
        if earliest is not None:
            self._announce_at(session, max(earliest, held_until or earliest))

    def _announce_at(self, session: Session, earliest: datetime) -> None:
        if not self._listeners:
            return
        waiting = session.info.get(_EARLIEST_PLANNED)
        if waiting is None:
            event.listen(session, "after_commit", self._after_commit)
            event.listen(session, "after_rollback", _forget_planned)
        if waiting is None or earliest < waiting:
            session.info[_EARLIEST_PLANNED] = earliest

    def _after_commit(self, session: Session) -> None:
        earliest = session.info.pop(_EARLIEST_PLANNED, None)
        if earliest is not None:
            for listener in list(self._listeners):
                listener(earliest)

    # -- registering ------------------------------------------------------------------------

    def register(
        self,
        clinic_id: int,
        patient: NewPatient,
        treated_at: datetime,
        *,
        welcome_now: bool = False,
        held_until: datetime | None = None,
    ) -> Registration:
        """One new patient in its own transaction (`held_until`: see `add_treatments`)."""
        now = self.clock.now()
        with self.db.session() as session:
            planning = self.planning(session, clinic_id)
            problem = treatment_time_problem(treated_at, now, planning.protocol)
            if problem:
                raise ValueError(problem)
            exists = session.scalar(
                select(Patient.id).where(
                    Patient.clinic_id == clinic_id, Patient.external_id == patient.external_id
                )
            )
            if exists is not None:
                raise DuplicateError(f"patient {patient.external_id!r} already exists")
            [registration] = self.enroll(
                session,
                clinic_id,
                [(patient.insert_row(), treated_at)],
                now,
                welcome_now=welcome_now,
                planning=planning,
                held_until=held_until,
            )
        return registration

    def register_batch(
        self, clinic_id: int, items: Sequence[tuple[NewPatient, datetime]]
    ) -> list[Registration]:
        """Many new patients in one transaction.

        Treatment times must already be valid (`treatment_time_problem` with the clinic's
        protocol); the clinic's import validates every row before it gets here.
        """
        rows = [(patient.insert_row(), treated_at) for patient, treated_at in items]
        with self.db.session() as session:
            return self.enroll(session, clinic_id, rows, self.clock.now())

    def enroll(
        self,
        session: Session,
        clinic_id: int,
        items: Sequence[tuple[PatientInsert, datetime]],
        now: datetime,
        *,
        welcome_now: bool = False,
        planning: ClinicPlanning | None = None,
        services: Sequence[str | None] = (),
        held_until: datetime | None = None,
    ) -> list[Registration]:
        """New patients (external ids not yet in the clinic; `NewPatient.insert_row`) with
        their treatments and plans, inside the caller's transaction, so a patient is never
        stored without its plan. `planning`: the protocol to plan with (None: the clinic's);
        `services`: each item's booking service (none given: no service)."""
        if planning is None:
            planning = self.planning(session, clinic_id)
        patient_ids = insert_patients(session, clinic_id, [row for row, _ in items], now)
        registrations = self.add_treatments(
            session,
            [
                NewTreatment(pid, row.timezone, row.channel, treated_at, service)
                for pid, (row, treated_at), service in zip(
                    patient_ids, items, services or [None] * len(items), strict=True
                )
            ],
            now,
            planning,
            welcome_now=welcome_now,
            held_until=held_until,
        )
        if self.sms_invites:
            rows = [row for row, _ in items]
            self._plan_invites(session, registrations, rows, now, welcome_now=welcome_now)
        return registrations

    def _plan_invites(
        self,
        session: Session,
        registrations: Sequence[Registration],
        rows: Sequence[PatientInsert],
        now: datetime,
        *,
        welcome_now: bool,
    ) -> None:
        """The invite SMS of each new patient enrolled for Telegram who has a phone."""
        invites = [
            (r, plan_invite(now, ZoneInfo(row.timezone), self.quiet, now=welcome_now))
            for r, row in zip(registrations, rows, strict=True)
            if wants_invite(row.channel, row.phone, row.telegram_chat_id)
        ]
        insert_reminders(
            session, [reminder_insert(r.treatment_id, r.patient_id, "sms", p) for r, p in invites]
        )
        self._announce_on_commit(session, (p for _, p in invites))

    def add_treatment(
        self,
        session: Session,
        patient: Patient,
        treated_at: datetime,
        now: datetime,
        *,
        welcome_now: bool = False,
        held_until: datetime | None = None,
    ) -> Registration:
        """A new treatment for a stored patient, planned with the clinic's protocol, inside
        the caller's transaction (`held_until`: see `add_treatments`)."""
        [registration] = self.add_treatments(
            session,
            [NewTreatment(patient.id, patient.timezone, patient.channel, treated_at)],
            now,
            self.planning(session, patient.clinic_id),
            welcome_now=welcome_now,
            held_until=held_until,
        )
        return registration

    def add_treatments(
        self,
        session: Session,
        items: Sequence[NewTreatment],
        now: datetime,
        planning: ClinicPlanning,
        *,
        welcome_now: bool = False,
        held_until: datetime | None = None,
    ) -> list[Registration]:
        """New treatments (one per patient) and their reminders, in the caller's transaction,
        planned with `planning` (whose key each treatment stores).

        `held_until`: no reminder of theirs is attempted before then (their due times are
        kept), unless `release` lets them go sooner; a chat holds its registration's welcome
        until its own confirmation is sent (storage.held_reminders)."""
        treatment_ids = insert_treatments(
            session,
            [(item.patient_id, item.treated_at, item.service) for item in items],
            now,
            planning.key,
        )
        registrations = []
        rows: list[ReminderInsert] = []
        for (pid, timezone, channel, treated_at, _), tid in zip(items, treatment_ids, strict=True):
            planned = self.plan_for(treated_at, timezone, now, planning, welcome_now=welcome_now)
            for p in planned:
                rows.append((tid, pid, p.key, channel, p.due_at, p.expires_at))
            registrations.append(Registration(pid, tid, planned))
        insert_reminders(session, rows)
        if held_until is not None:
            held_reminders.hold(session, treatment_ids, held_until)
        self._announce_on_commit(session, (p for r in registrations for p in r.planned), held_until)
        return registrations

    def release(self, treatment_id: int, held_until: datetime) -> None:
        """The treatment's reminders held until `held_until` are due at their own times
        again; subscribers hear of it once committed (a running engine sends them now)."""
        with self.db.session() as session:
            earliest = held_reminders.release(session, treatment_id, held_until)
            if earliest is not None:
                self._announce_at(session, earliest)

    def plan_for(
        self,
        treated_at: datetime,
        timezone: str,
        now: datetime,
        planning: ClinicPlanning,
        *,
        welcome_now: bool = False,
    ) -> list[PlannedReminder]:
        """The plan of `planning`'s protocol; the same list for the same inputs (do not
        change it).

        plan() is pure and a batch registers everyone at the same `now`: patients treated at
        the same time in the same zone (a clinic's booking slots) share a plan. A protocol
        key names one version for good, so it stands for the protocol in the memo's key.
        """
        key = (treated_at, timezone, now, welcome_now, planning.key, planning.before)
        planned = self._plans.get(key)
        if planned is None:
            if len(self._plans) >= _PLAN_MEMO:
                self._plans.clear()
            planned = self._plans[key] = plan(
                treated_at,
                planning.protocol,
                ZoneInfo(timezone),
                self.quiet,
                now,
                welcome_now=welcome_now,
                before=planning.before,
            )
        return planned

    def reschedule(
        self, treatment_id: int, treated_at: datetime, *, ahead: timedelta = MAX_AHEAD
    ) -> list[PlannedReminder]:
        """The treatment time was corrected: move pending reminders, skip ones now past,
        add ones newly ahead. Sent reminders stay as they are; the welcome is not repeated.
        `ahead`: how far in the future the new time may be (0: a patient's correction)."""
        now = self.clock.now()
        with self.db.session() as session:
            treatment = session.get(Treatment, treatment_id)
            if treatment is None:
                raise NotFoundError(f"no treatment {treatment_id}")
            protocol = self.protocol(treatment.protocol)
            problem = treatment_time_problem(treated_at, now, protocol, ahead)
            if problem:
                raise ValueError(problem)
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
        *,
        replan: ClinicPlanning | None = None,
        before: bool | None = None,
    ) -> list[PlannedReminder]:
        """`reschedule`'s rules inside the caller's transaction (an import batch, say), with
        the treatment's own protocol; or, with `replan`, with that protocol from now on:
        pending reminders move to its times, milestones it does not have are skipped.
        Reminders before the treatment follow the clinic's switch as it is now (`before`,
        when the caller has it at hand, as an import batch does; else read here). Moved
        among the patient's other sessions, it keeps to one plan at a time
        (`one_plan_at_a_time`: a later session booked ahead still takes over where it starts)."""
        if replan is None:
            key = session.scalar(select(Treatment.protocol).where(Treatment.id == treatment_id))
            protocol = self.protocol(key)
            values: dict[str, object] = {"performed_at": treated_at}
            if before is None:
                before = bool(protocol.before) and day_before_on_for_patient(session, patient_id)
        else:
            protocol = replan.protocol
            values = {"performed_at": treated_at, "protocol": replan.key}
            before = replan.before
        session.execute(update(Treatment).where(Treatment.id == treatment_id).values(values))
        planned = {
            p.key: p for p in plan(treated_at, protocol, zone, self.quiet, now, before=before)
        }
        existing = {
            r.milestone: r
            for r in session.scalars(select(Reminder).where(Reminder.treatment_id == treatment_id))
        }
        # A welcome not sent yet of an appointment still ahead moves with it; one of a past
        # treatment is due already and stays.
        welcome, welcome_row = planned.pop(protocol.welcome.key), existing.get(protocol.welcome.key)
        pending = welcome_row is not None and welcome_row.status == ReminderStatus.PENDING
        if welcome_row is not None and pending and treated_at > now:
            welcome_row.due_at = welcome_row.next_attempt_at = welcome.due_at
            welcome_row.expires_at = welcome.expires_at
            planned[welcome.key] = welcome
        kept = {m.key for m in protocol.milestones} | {INVITE, STAFF_REPLY}
        for key, stored in existing.items():
            if key not in kept and stored.status == ReminderStatus.PENDING:
                stored.status = ReminderStatus.SKIPPED
                stored.last_error = "not in the treatment's protocol any more"
        fresh = []
        for milestone in [*protocol.timed, *protocol.before]:
            row, new = existing.get(milestone.key), planned.get(milestone.key)
            if row is not None and row.status != ReminderStatus.PENDING:
                continue
            if row is not None and new is None:
                row.status = ReminderStatus.SKIPPED
                row.last_error = (
                    "no longer planned before the treatment"
                    if milestone.kind == "before"
                    else "treatment time moved past this milestone"
                )
            elif row is not None and new is not None:
                row.due_at = row.next_attempt_at = new.due_at
                row.expires_at = new.expires_at
            elif new is not None:
                fresh.append(reminder_insert(treatment_id, patient_id, channel, new))
        session.flush()
        insert_reminders(session, fresh)
        # Moved among the patient's other sessions: still one plan at a time.
        one_plan_at_a_time(session, patient_id, treatment_id, treated_at, now)
        self._announce_on_commit(session, planned.values())
        return list(planned.values())

    def replan(
        self,
        session: Session,
        candidates: Sequence[ReplanCandidate],
        planning: ClinicPlanning,
        now: datetime,
    ) -> int:
        """Move these treatments to `planning`'s protocol, inside the caller's transaction
        (`reschedule_in`'s rules at their own treatment time: sent reminders stay, pending
        ones move, past ones are skipped, new ones added). Returns how many moved; those
        whose plan is over under both protocols are left as they are."""
        moved = 0
        for c in candidates:
            length = max(_length(self.protocol(c.protocol)), _length(planning.protocol))
            if c.performed_at + length < now or c.protocol == planning.key:
                continue
            self.reschedule_in(
                session,
                c.treatment_id,
                c.patient_id,
                ZoneInfo(c.timezone),
                c.channel,
                c.performed_at,
                now,
                replan=planning,
            )
            moved += 1
        return moved

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


def _length(protocol: Protocol) -> timedelta:
    """From the treatment to the end of its protocol's last window."""
    last = protocol.timed[-1]
    return last.offset.nominal + last.window.nominal


def _forget_planned(session: Session, *_: object) -> None:
    session.info.pop(_EARLIEST_PLANNED, None)


def reminder_insert(
    treatment_id: int, patient_id: int, channel: str, p: PlannedReminder
) -> ReminderInsert:
    return (treatment_id, patient_id, p.key, channel, p.due_at, p.expires_at)
