"""The clinic's aftercare protocol as staff read it on /app/protocol: which version new
patients get, the booking services with a protocol of their own, the day-before switch,
and each protocol's steps with when they go. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.patient_views import milestone_label
from aftercare.dashboard.strings import text
from messages.durations import Duration
from messages.protocol import Milestone, Protocol
from storage.clinic_protocols import ActiveProtocols, ProtocolVersion

_UNITS = {"minutes": "minute", "hours": "hour", "days": "day", "weeks": "week"}


def span(duration: Duration) -> str:
    """`24 hours`, `1 day`, `2 weeks` (the sign left out)."""
    amount = abs(duration.amount)
    return f"{amount} {duration.unit if amount != 1 else _UNITS[duration.unit]}"


@dataclass(frozen=True)
class StepRow:
    label: str
    kind: str  # advice | checkin | before | welcome
    kind_label: str
    when: str
    window: str


@dataclass(frozen=True)
class ProtocolTable:
    """One protocol in use: what it is called here, and its steps in order."""

    heading: str
    version: str  # "clinic's version 3, uploaded ..." or "built-in ..."
    steps: list[StepRow]


@dataclass(frozen=True)
class ProtocolPage:
    default: ProtocolTable
    services: list[tuple[str, ProtocolTable]]  # booking service name, its protocol
    day_before: bool
    days_ahead: int


def version_words(version: ProtocolVersion | None, protocol: Protocol, zone: tzinfo) -> str:
    if version is None:
        return text("protocol.built_in_full", name=protocol.name, version=protocol.version)
    return text(
        "protocol.clinic_version_full",
        version=version.version,
        when=local_time(version.created_at, zone),
        file=version.file_name or "—",
    )


def step_row(milestone: Milestone, protocol: Protocol, day_before: bool) -> StepRow:
    if milestone.key == protocol.welcome.key:
        kind = "welcome"
        when = text("protocol.when.welcome", delay=span(protocol.welcome_delay))
    elif milestone.kind == "before":
        kind = "before"
        key = "protocol.when.before" if day_before else "protocol.when.before_off"
        when = text(key, span=span(milestone.offset))
    else:
        kind = milestone.kind
        when = text("protocol.when.after", span=span(milestone.offset))
    return StepRow(
        milestone_label(milestone.key, protocol),
        kind,
        text(f"protocol.kind.{kind}"),
        when,
        text("protocol.window", span=span(milestone.window)),
    )


def protocol_table(
    heading: str,
    version: ProtocolVersion | None,
    protocol: Protocol,
    zone: tzinfo,
    day_before: bool,
) -> ProtocolTable:
    """The steps in the order they go: before the appointment, the welcome, the rest."""
    before = sorted(protocol.before, key=lambda m: m.offset.nominal)
    steps = [*before, protocol.welcome, *protocol.timed]
    return ProtocolTable(
        heading,
        version_words(version, protocol, zone),
        [step_row(m, protocol, day_before) for m in steps],
    )


def protocol_page(
    active: ActiveProtocols,
    protocol_of: dict[str, Protocol],
    built_in: Protocol,
    zone: tzinfo,
    *,
    day_before: bool,
    days_ahead: int,
) -> ProtocolPage:
    """`protocol_of`: version key -> its protocol, for the clinic's active versions."""

    def table(heading: str, version: ProtocolVersion | None) -> ProtocolTable:
        protocol = built_in if version is None else protocol_of[version.key]
        return protocol_table(heading, version, protocol, zone, day_before)

    services = sorted(active.services.values(), key=lambda v: (v.service or "").casefold())
    return ProtocolPage(
        table(text("protocol.default_heading"), active.default),
        [(v.service or "", table(v.service or "", v)) for v in services],
        day_before,
        days_ahead,
    )
