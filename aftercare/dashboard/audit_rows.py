"""Audit entries as people read them: local times, action labels, the record named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from aftercare.dashboard.strings import EN, text
from storage.audit import AuditAction, AuditEntry


def local_time(moment: datetime, zone: tzinfo) -> str:
    """`2 Mar 2026, 10:00` in the clinic's zone."""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M}"


def action_label(action: str) -> str:
    key = f"audit.action.{action}"
    return text(key) if key in EN else action


def action_choices() -> list[tuple[str, str]]:
    return [(action.value, action_label(action.value)) for action in AuditAction]


@dataclass(frozen=True)
class AuditRow:
    when: str
    when_iso: str
    who: str
    action: str
    record: str
    address: str


def audit_row(entry: AuditEntry, zone: tzinfo) -> AuditRow:
    record = f"{entry.target_kind} {entry.target_id}" if entry.target_kind else ""
    return AuditRow(
        local_time(entry.at, zone),
        entry.at.astimezone(zone).isoformat(timespec="seconds"),
        entry.actor or "",
        action_label(entry.action),
        record.strip(),
        entry.address or "",
    )
