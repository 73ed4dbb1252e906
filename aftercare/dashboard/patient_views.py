"""Patients as the list and the patient page show them: status and channel labels, phone
numbers as the clinic writes them, the timeline's milestones, check-in answers. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Final, Literal
from urllib.parse import quote

import phonenumbers

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.strings import EN, text
from aftercare.dashboard.timeline_svg import Milestone, MilestoneState
from messages.protocol import Protocol
from storage.patient_record import CheckinLine, PlannedMessage, SessionLine
from storage.patient_search import PatientRow
from storage.patient_status import PatientStatus

# Reminder statuses as the timeline names them (strings "state.*"). A pending reminder is
# planned; one paused or moved past (skipped) did not and will not go: cancelled.
_TIMELINE_STATES: Final[dict[str, MilestoneState]] = {
    "pending": "planned",
    "claimed": "planned",
    "sending": "sent",
    "sent": "sent",
    "failed": "failed",
    "expired": "expired",
    "in_doubt": "in_doubt",
    "cancelled": "cancelled",
    "skipped": "cancelled",
}
_DELIVERED = frozenset({"delivered", "read"})
_UNDELIVERED = frozenset({"undelivered", "failed"})
NOT_ON_TIMELINE: Final = frozenset({"staff_reply"})  # replies show in the conversation


def patient_path(external_id: str, action: str = "") -> str:
    """A patient page's URL (an external id may hold any printable character, "/" too)."""
    path = "/app/patients/" + quote(external_id, safe="")
    return f"{path}/{action}" if action else path


def status_label(status: PatientStatus) -> str:
    return text(f"patients.status.{status.value}")


def name_of(first_name: str | None, erased: bool) -> str:
    if erased:
        return text("patients.erased_name")
    return first_name or text("patients.no_name")


def phone_display(phone: str | None, country: str) -> str:
    """A stored E.164 number as the clinic's staff write it: nationally for a number of
    the clinic's own country, internationally otherwise."""
    return _formatted(phone, country) if phone else ""


@lru_cache(maxsize=8192)  # parsing costs ~0.3 ms a number: 15 ms on a page of 50
def _formatted(phone: str, country: str) -> str:
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    own = phonenumbers.region_code_for_number(number) == country.upper()
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(number, style.NATIONAL if own else style.INTERNATIONAL)


def short_time(moment: datetime, zone: tzinfo) -> str:
    """`4 Dec 10:00` in the clinic's zone: within a treatment's two weeks the year is known."""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %H:%M}"


def recovery_day(treated_at: datetime, now: datetime) -> int:
    """Day 0 is the day of the treatment, counted in elapsed days."""
    return max(0, (now - treated_at) // timedelta(days=1))


@dataclass(frozen=True)
class ListRow:
    external_id: str
    name: str
    erased: bool
    phone: str
    channel: str
    status: str
    status_label: str
    treated: str  # local date and time of the latest session that has happened, or ""
    treated_iso: str
    day: int | None  # days since the treatment while it is running
    booked: str  # local date and time of the next session booked ahead, or ""
    booked_iso: str


def list_row(row: PatientRow, now: datetime, zone: tzinfo, country: str) -> ListRow:
    running = row.status == PatientStatus.ACTIVE and row.treated_at is not None
    return ListRow(
        external_id=row.external_id,
        name=name_of(row.first_name, row.status == PatientStatus.ERASED),
        erased=row.status == PatientStatus.ERASED,
        phone=phone_display(row.phone, country),
        channel=channel_name(row.channel),
        status=row.status.value,
        status_label=status_label(row.status),
        treated=local_time(row.treated_at, zone) if row.treated_at else "",
        treated_iso=row.treated_at.astimezone(zone).isoformat() if row.treated_at else "",
        day=recovery_day(row.treated_at, now) if running and row.treated_at else None,
        booked=local_time(row.booked_at, zone) if row.booked_at else "",
        booked_iso=row.booked_at.astimezone(zone).isoformat() if row.booked_at else "",
    )


def channel_name(channel: str) -> str:
    key = f"channel.{channel}"
    return text(key) if key in EN else channel


def milestone_label(key: str, protocol: Protocol) -> str:
    """A short name for the timeline: ours for the built-in steps, else the protocol's
    own title (a clinic's protocol may name its steps as it likes)."""
    ours = f"milestone.{key}"
    if ours in EN:
        return text(ours)
    try:
        titles = protocol.milestone(key).title
    except KeyError:
        return key.replace("_", " ").capitalize()
    return titles.get("en") or next(iter(titles.values()), key)


def timeline_state(reminder: PlannedMessage) -> MilestoneState:
    if reminder.status == "sent":
        if reminder.delivery_status in _DELIVERED:
            return "delivered"
        if reminder.delivery_status in _UNDELIVERED:
            return "failed"
    return _TIMELINE_STATES.get(reminder.status, "planned")


def timeline_milestones(reminders: list[PlannedMessage], protocol: Protocol) -> list[Milestone]:
    return [
        Milestone(milestone_label(r.milestone, protocol), r.due_at, timeline_state(r))
        for r in reminders
        if r.milestone not in NOT_ON_TIMELINE
    ]


@dataclass(frozen=True)
class MilestoneRow:
    label: str
    due: str
    due_iso: str
    channel: str
    state: MilestoneState
    state_label: str


def milestone_rows(
    reminders: list[PlannedMessage], protocol: Protocol, zone: tzinfo
) -> list[MilestoneRow]:
    """The timeline's milestones as a table (the same facts, readable on any screen)."""
    rows = []
    for r in reminders:
        if r.milestone in NOT_ON_TIMELINE:
            continue
        state = timeline_state(r)
        rows.append(
            MilestoneRow(
                milestone_label(r.milestone, protocol),
                short_time(r.due_at, zone),
                r.due_at.astimezone(zone).isoformat(timespec="minutes"),
                channel_name(r.channel),
                state,
                text(f"state.{state}"),
            )
        )
    return rows


@dataclass(frozen=True)
class CheckinRow:
    label: str
    answer: int
    meaning: str
    when: str
    escalation_id: int | None


def checkin_rows(answers: list[CheckinLine], protocol: Protocol, zone: tzinfo) -> list[CheckinRow]:
    return [
        CheckinRow(
            milestone_label(a.milestone, protocol),
            a.answer,
            text(f"checkin.answer_{a.answer}") if f"checkin.answer_{a.answer}" in EN else "",
            local_time(a.answered_at, zone),
            a.escalation_id,
        )
        for a in answers
    ]


SessionState = Literal["upcoming", "active", "ended", "cancelled"]


def session_state(
    session: SessionLine, current: SessionLine | None, now: datetime, length: timedelta
) -> SessionState:
    """Booked ahead; the current plan, still running; over (a newer session superseded it,
    or it is past the protocol's `length`); or cancelled (cancelled or missed). Pure."""
    if session.cancelled_at is not None:
        return "cancelled"
    if session.performed_at > now:
        return "upcoming"
    if session == current and session.performed_at + length >= now:
        return "active"
    return "ended"


@dataclass(frozen=True)
class SessionRow:
    id: int
    when: str
    when_iso: str
    appointment_id: str  # "" when the booking export had none
    service: str  # "" when it had none
    state: SessionState
    state_label: str
    current: bool  # the session whose plan the timeline shows
    protocol: str  # the protocol (and version) it was planned with


def session_row(
    session: SessionLine,
    current: SessionLine | None,
    now: datetime,
    length: timedelta,
    zone: tzinfo,
    protocol: str,
) -> SessionRow:
    state = session_state(session, current, now, length)
    return SessionRow(
        id=session.id,
        when=local_time(session.performed_at, zone),
        when_iso=session.performed_at.astimezone(zone).isoformat(timespec="minutes"),
        appointment_id=session.appointment_id or "",
        service=session.service or "",
        state=state,
        state_label=text(f"session.{state}"),
        current=session == current,
        protocol=protocol,
    )
