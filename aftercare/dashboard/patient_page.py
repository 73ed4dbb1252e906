"""Everything the patient page shows, gathered in one place (blocking: call it from a
worker thread, it reads the conversation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from math import ceil

from markupsafe import Markup

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.conversation_view import Bubble, Renderer, bubbles
from aftercare.dashboard.escalation_rows import category_label, category_style
from aftercare.dashboard.patient_views import (
    CheckinRow,
    MilestoneRow,
    SessionRow,
    channel_name,
    checkin_rows,
    milestone_rows,
    name_of,
    patient_path,
    phone_display,
    recovery_day,
    session_row,
    status_label,
    timeline_milestones,
)
from aftercare.dashboard.strings import text
from aftercare.dashboard.timeline_svg import timeline_html
from aftercare.wiring import Core
from clinic.dates import import_window
from messages.protocol import WELCOME, Protocol
from messages.render import RenderContext
from storage.patient_messages import patient_messages
from storage.patient_record import PatientRecord, SessionLine, channel_problem
from storage.patient_status import PatientStatus, patient_status
from storage.patients import ClinicView

HORIZON = timedelta(days=14)  # the timeline's length: treatment to day 14
MAX_LEAD_DAYS = 7  # reminders before the treatment: the line starts at most this early


@dataclass(frozen=True)
class EscalationRow:
    id: int
    category: str
    category_style: str
    when: str
    when_iso: str
    open: bool


@dataclass(frozen=True)
class ChannelChoice:
    value: str
    label: str
    current: bool
    usable: bool


@dataclass(frozen=True)
class PatientPage:
    record: PatientRecord
    path: str
    name: str
    status: str
    status_label: str
    erased: bool
    paused: bool
    phone: str  # as the clinic writes it
    phone_link: str  # tel: E.164
    channel: str
    channels: list[ChannelChoice]
    language: str
    patient_zone: str
    enrolled: str
    erased_when: str
    treated: str  # the current plan's session
    treated_value: str  # for a datetime-local input, in the clinic's zone
    treated_ahead: bool  # no session has happened: the current plan is the booked one's
    day: int | None
    timeline: Markup | None
    milestones: list[MilestoneRow]
    sessions: list[SessionRow]  # newest first
    upcoming: SessionRow | None  # the next session booked ahead
    upcoming_welcome: str  # when its welcome is due, "" when it has none planned
    upcoming_plan: list[MilestoneRow]  # its plan, when the timeline shows another one
    checkins: list[CheckinRow]
    conversation: list[Bubble]
    escalations: list[EscalationRow]
    invite_open_until: str
    telegram_linked: bool


def build_patient_page(
    core: Core,
    record: PatientRecord,
    clinic: ClinicView,
    zone: tzinfo,
    now: datetime,
    span: timedelta,
) -> PatientPage:
    def protocol_of(key: str) -> Protocol:
        return core.protocols.get(key, core.protocol)

    treatment = record.treatment
    protocol = protocol_of(treatment.protocol if treatment else "")
    status = patient_status(record.facts, now - span)
    erased = status == PatientStatus.ERASED
    timeline = None
    if treatment is not None and not erased:
        milestones = timeline_milestones(record.reminders, protocol)
        earliest = min((m.due_at for m in milestones), default=treatment.performed_at)
        lead = treatment.performed_at - min(earliest, treatment.performed_at)
        timeline = timeline_html(
            treatment.performed_at,
            now,
            milestones,
            horizon=HORIZON,
            zone=zone,
            element_id=f"timeline-{record.id}",
            lead_days=min(MAX_LEAD_DAYS, ceil(lead / timedelta(days=1))),
        )
    sessions = [
        session_row(
            s,
            treatment,
            now,
            import_window(protocol_of(s.protocol)),
            zone,
            protocol_label(s, protocol_of(s.protocol)),
        )
        for s in record.sessions
    ]
    upcoming = record.upcoming
    its_plan = record.upcoming_plan if upcoming != treatment else record.reminders
    welcome = next((r for r in its_plan if r.milestone == WELCOME), None)
    messages = patient_messages(core.db, record.id)
    renderer = Renderer(
        core.protocols,
        core.protocol,
        RenderContext(
            record.first_name,
            clinic.name,
            clinic.phone,
            record.language,
            emergency_number=core.settings.emergency_number,
        ),
        record.timezone,
    )
    running = status == PatientStatus.ACTIVE and treatment is not None
    return PatientPage(
        record=record,
        path=patient_path(record.external_id),
        name=name_of(record.first_name, erased),
        status=status.value,
        status_label=status_label(status),
        erased=erased,
        paused=record.facts.paused,
        phone=phone_display(record.phone, clinic.country),
        phone_link=f"tel:{record.phone}" if record.phone else "",
        channel=channel_name(record.channel),
        channels=[
            ChannelChoice(
                value,
                channel_name(value),
                value == record.channel,
                channel_problem(record.facts, value) is None,
            )
            for value in ("sms", "telegram")
        ],
        language=record.language,
        patient_zone=record.timezone.replace("_", " "),
        enrolled=local_time(record.created_at, zone),
        erased_when=local_time(record.erased_at, zone) if record.erased_at else "",
        treated=local_time(treatment.performed_at, zone) if treatment else "",
        treated_value=(
            treatment.performed_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if treatment else ""
        ),
        treated_ahead=treatment is not None and treatment.performed_at > now,
        day=recovery_day(treatment.performed_at, now) if running and treatment else None,
        timeline=timeline,
        milestones=milestone_rows(record.reminders, protocol, zone) if not erased else [],
        sessions=sessions,
        upcoming=next((s for s in sessions if upcoming and s.id == upcoming.id), None),
        upcoming_welcome=local_time(welcome.due_at, zone) if welcome and not erased else "",
        upcoming_plan=(
            milestone_rows(record.upcoming_plan, protocol_of(upcoming.protocol), zone)
            if upcoming and not erased
            else []
        ),
        checkins=checkin_rows(record.checkins, protocol, zone),
        conversation=bubbles(messages, renderer, zone),
        escalations=[
            EscalationRow(
                e.id,
                category_label(e.category),
                category_style(e.category),
                local_time(e.created_at, zone),
                e.created_at.astimezone(zone).isoformat(timespec="seconds"),
                e.resolved_at is None,
            )
            for e in record.escalations
        ],
        invite_open_until=(
            local_time(record.invite_open_until, zone) if record.invite_open_until else ""
        ),
        telegram_linked=record.telegram_linked,
    )


def protocol_label(session: SessionLine, protocol: Protocol) -> str:
    """Which protocol a session was planned with: the clinic's version (numbered as
    `aftercare clinic protocol --show` numbers it), or the built-in one."""
    if session.protocol_version is not None:
        return text("protocol.clinic_version", version=session.protocol_version)
    return text("protocol.built_in", name=protocol.name)
