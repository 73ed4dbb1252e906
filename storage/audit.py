"""The audit trail: who did what, when, to which record. Append-only.

This module offers recording and reading, nothing else; a database trigger (migration
0007) refuses UPDATE and DELETE on the table as well. A row holds ids and the actor's
email at the time, never message text or patient details.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import AuditEvent

MAX_TARGET_ID: Final = 254


class AuditAction(StrEnum):
    """Everything the trail records. A new kind of record is added here (and its label
    in aftercare/dashboard/strings.py, `audit.action.<value>`)."""

    SIGN_IN = "signin"
    SIGN_IN_FAILED = "signin.failed"
    SIGN_IN_THROTTLED = "signin.throttled"
    SIGN_OUT = "signout"
    PASSWORD_CHANGE = "password.change"
    STAFF_ADD = "staff.add"
    STAFF_REMOVE = "staff.remove"
    STAFF_PASSWORD = "staff.password"
    API_KEY_ROTATE = "api_key.rotate"
    PATIENT_VIEW = "patient.view"
    PATIENT_UPDATE = "patient.update"
    PATIENT_PAUSE = "patient.pause"
    PATIENT_RESUME = "patient.resume"
    PATIENT_CHANNEL = "patient.channel"
    PATIENT_TREATMENT = "patient.treatment"
    PATIENT_INVITE = "patient.invite"
    PATIENT_ERASE = "patient.erase"
    ESCALATION_VIEW = "escalation.view"
    ESCALATION_REPLY = "escalation.reply"
    ESCALATION_RESOLVE = "escalation.resolve"
    IMPORT = "import"
    IMPORT_COLUMNS = "import.columns"  # the clinic's own column names for imports
    PROTOCOL_UPLOAD = "protocol.upload"  # a new version of the clinic's (or a service's)
    PROTOCOL_RESET = "protocol.reset"  # back to the built-in, or a service's mapping removed
    PROTOCOL_REPLAN = "protocol.replan"  # current plans moved to the new version (how many)
    CLINIC_DAYS_AHEAD = "clinic.days_ahead"
    CLINIC_DAY_BEFORE = "clinic.day_before"
    AUDIT_EXPORT = "audit.export"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    clinic_id: int | None
    staff_id: int | None
    actor: str | None
    action: str
    target_kind: str | None
    target_id: str | None
    address: str | None

    @classmethod
    def of(cls, row: AuditEvent) -> AuditEntry:
        return cls(
            row.id,
            row.at,
            row.clinic_id,
            row.staff_id,
            row.actor,
            row.action,
            row.target_kind,
            row.target_id,
            row.address,
        )


@dataclass(frozen=True)
class AuditQuery:
    """Which entries of one clinic to show; None means any."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def add(
        session: Session,
        at: datetime,
        clinic_id: int | None,
        staff_id: int | None,
        action: AuditAction | str,
        target_kind: str | None = None,
        target_id: str | int | None = None,
        *,
        actor: str | None = None,
        address: str | None = None,
    ) -> None:
        """Record inside the caller's transaction, so the entry and the change it
        describes are committed (or rolled back) together."""
        session.add(
            AuditEvent(
                at=at,
                clinic_id=clinic_id,
                staff_id=staff_id,
                actor=actor,
                action=AuditAction(action).value,  # ValueError for an unknown action
                target_kind=target_kind,
                target_id=None if target_id is None else str(target_id)[:MAX_TARGET_ID],
                address=address,
            )
        )

    def record(
        self,
        at: datetime,
        clinic_id: int | None,
        staff_id: int | None,
        action: AuditAction | str,
        target_kind: str | None = None,
        target_id: str | int | None = None,
        *,
        actor: str | None = None,
        address: str | None = None,
    ) -> None:
        """Record in a transaction of its own."""
        with self._db.session() as session:
            self.add(
                session,
                at,
                clinic_id,
                staff_id,
                action,
                target_kind,
                target_id,
                actor=actor,
                address=address,
            )

    def entries(
        self, clinic_id: int, query: AuditQuery, limit: int, before_id: int | None = None
    ) -> list[AuditEntry]:
        """Newest first; `before_id` continues a page (ids only grow)."""
        statement = _select(clinic_id, query).order_by(AuditEvent.id.desc()).limit(limit)
        if before_id is not None:
            statement = statement.where(AuditEvent.id < before_id)
        with self._db.session() as session:
            return [AuditEntry.of(row) for row in session.scalars(statement)]

    def all_entries(
        self, clinic_id: int, query: AuditQuery, batch: int = 2000
    ) -> Iterator[AuditEntry]:
        """Every matching entry, newest first, read a batch at a time (for exports)."""
        before: int | None = None
        while True:
            page = self.entries(clinic_id, query, batch, before)
            yield from page
            if len(page) < batch:
                return
            before = page[-1].id

    def actors(self, clinic_id: int) -> list[str]:
        """Everyone who appears in the clinic's trail, for the "who" filter."""
        with self._db.session() as session:
            return sorted(
                session.scalars(
                    select(AuditEvent.actor)
                    .where(AuditEvent.clinic_id == clinic_id, AuditEvent.actor.is_not(None))
                    .distinct()
                )
            )


def _select(clinic_id: int, query: AuditQuery) -> Select[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if query.actor is not None:
        statement = statement.where(AuditEvent.actor == query.actor)
    if query.action is not None:
        statement = statement.where(AuditEvent.action == query.action)
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEvent.at < query.until)
    return statement
