"""A clinic's own protocols, versioned (table clinic_protocol, migration 0013).

Every upload is a new row with the next version number of the clinic, and so is a reset;
rows are never changed (a trigger refuses it). The active state of a clinic is, for each
scope (the clinic's default, or one booking service), its latest row: with a source, that
protocol; without, the built-in (for a service: no mapping, the clinic's default applies).

A treatment planned with a clinic version stores its key, `clinic:<row id>`
(`version_key`), so it renders with that version's texts however the clinic edits its
protocol later. The built-in protocol keeps its own name as key.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.db import Database
from storage.models import Clinic, ClinicProtocol, Patient, Treatment
from storage.patients import NotFoundError

KEY_PREFIX = "clinic:"
MAX_SERVICE = 200


def version_key(row_id: int) -> str:
    """The key a treatment stores for the clinic protocol row `row_id`."""
    return f"{KEY_PREFIX}{row_id}"


def version_id(key: str) -> int | None:
    """The row id a `clinic:<id>` key names; None for any other key (the built-in's name)."""
    if not key.startswith(KEY_PREFIX):
        return None
    digits = key[len(KEY_PREFIX) :]
    return int(digits) if digits.isdigit() else None


def service_key(service: str) -> str:
    """How services are compared: whole name, case, accents and repeated spaces ignored
    (`Microneedling with PRP` and `microneedling  with prp` are one service)."""
    decomposed = unicodedata.normalize("NFKD", service.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("_", " ").split())


@dataclass(frozen=True)
class ProtocolVersion:
    id: int
    clinic_id: int
    version: int
    service: str | None  # None: the clinic's default
    source: str | None  # None: a reset
    file_name: str | None
    created_at: datetime

    @property
    def key(self) -> str:
        return version_key(self.id)

    @classmethod
    def of(cls, row: ClinicProtocol) -> ProtocolVersion:
        return cls(
            row.id,
            row.clinic_id,
            row.version,
            row.service,
            row.source,
            row.file_name,
            row.created_at,
        )


@dataclass(frozen=True)
class ActiveProtocols:
    """What a clinic plans new treatments with: its default version (None: the built-in)
    and the services mapped to a version of their own, by `service_key`."""

    default: ProtocolVersion | None = None
    services: dict[str, ProtocolVersion] = field(default_factory=dict)


def active_in(session: Session, clinic_id: int) -> ActiveProtocols:
    """The clinic's latest row per scope, resets left out. A clinic has a handful of rows."""
    latest: dict[str | None, ProtocolVersion] = {}
    rows = session.scalars(
        select(ClinicProtocol)
        .where(ClinicProtocol.clinic_id == clinic_id)
        .order_by(ClinicProtocol.version)
    )
    for row in rows:
        scope = None if row.service is None else service_key(row.service)
        latest[scope] = ProtocolVersion.of(row)
    default = latest.pop(None, None)
    return ActiveProtocols(
        default if default is not None and default.source is not None else None,
        {scope: v for scope, v in latest.items() if scope is not None and v.source is not None},
    )


def active_versions(db: Database) -> list[tuple[str, ProtocolVersion]]:
    """Every clinic's active stored versions (default first, then services), by slug."""
    with db.session() as session:
        clinics = session.execute(select(Clinic.id, Clinic.slug).order_by(Clinic.slug)).all()
        found: list[tuple[str, ProtocolVersion]] = []
        for clinic_id, slug in clinics:
            active = active_in(session, clinic_id)
            versions = [active.default] if active.default is not None else []
            versions += sorted(active.services.values(), key=lambda v: v.version)
            found.extend((slug, version) for version in versions)
        return found


@dataclass(frozen=True)
class ReplanCandidate:
    treatment_id: int
    patient_id: int
    timezone: str
    channel: str
    performed_at: datetime
    protocol: str


def scope_keys(session: Session, clinic_id: int, service: str | None) -> set[str]:
    """The keys of every version the clinic stored for one scope (a service, by its
    `service_key`, or None: the default), resets left out."""
    rows = session.scalars(select(ClinicProtocol).where(ClinicProtocol.clinic_id == clinic_id))
    return {
        version_key(row.id)
        for row in rows
        if row.source is not None
        and (service_key(row.service) if row.service is not None else None) == service
    }


def booked_services(session: Session, clinic_id: int, scopes: set[str]) -> set[str]:
    """The booking services of the clinic's live treatments, as stored, whose `service_key`
    is one of `scopes` (one service is written many ways: `Microneedling with PRP`,
    `microneedling with prp`)."""
    if not scopes:
        return set()
    names = session.scalars(
        select(Treatment.service)
        .distinct()
        .join(Patient, Patient.id == Treatment.patient_id)
        .where(
            Patient.clinic_id == clinic_id,
            Treatment.service.is_not(None),
            Treatment.cancelled_at.is_(None),
        )
    )
    return {name for name in names if name is not None and service_key(name) in scopes}


def replan_candidates(
    session: Session,
    clinic_id: int,
    keys: set[str],
    now: datetime,
    *,
    services: Collection[str] = (),
    other_than: str | None = None,
    leave_services: Collection[str] = (),
) -> list[ReplanCandidate]:
    """The clinic's treatments that are still a plan of the patient's (not cancelled, not
    ended by a newer session that has happened, the patient not erased) and were planned
    with one of `keys`, or were booked for one of `services` (stored names) and planned with
    another key than `other_than`; those booked for one of `leave_services` are left out.
    A plan followed by a session only booked ahead still runs until that one starts, so it
    is a candidate too (the replan keeps it stopping there)."""
    if not keys and not services:
        return []
    newer = aliased(Treatment)
    later = (
        select(newer.id)
        .where(
            newer.patient_id == Treatment.patient_id,
            newer.cancelled_at.is_(None),
            newer.performed_at <= now,
            or_(
                newer.performed_at > Treatment.performed_at,
                and_(newer.performed_at == Treatment.performed_at, newer.id > Treatment.id),
            ),
        )
        .exists()
    )
    rows = session.execute(
        select(
            Treatment.id,
            Patient.id,
            Patient.timezone,
            Patient.channel,
            Treatment.performed_at,
            Treatment.protocol,
        )
        .join(Patient, Patient.id == Treatment.patient_id)
        .where(
            Patient.clinic_id == clinic_id,
            Patient.erased_at.is_(None),
            Treatment.cancelled_at.is_(None),
            or_(
                Treatment.protocol.in_(sorted(keys)),
                and_(
                    Treatment.service.in_(sorted(services)),
                    Treatment.protocol != (other_than or ""),
                ),
            ),
            or_(Treatment.service.is_(None), Treatment.service.not_in(sorted(leave_services))),
            ~later,
        )
        .order_by(Treatment.id)
    )
    return [ReplanCandidate(*row) for row in rows]


def version_in(session: Session, row_id: int) -> ProtocolVersion | None:
    row = session.get(ClinicProtocol, row_id)
    return None if row is None else ProtocolVersion.of(row)


class ClinicProtocols:
    """Uploading, resetting and reading a clinic's protocol versions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def clinic_id(self, session: Session, slug: str) -> int:
        clinic_id = session.scalar(select(Clinic.id).where(Clinic.slug == slug))
        if clinic_id is None:
            raise NotFoundError(f"no clinic {slug!r}")
        return clinic_id

    def record(
        self,
        session: Session,
        clinic_id: int,
        *,
        source: str | None,
        file_name: str | None,
        service: str | None,
        now: datetime,
    ) -> ProtocolVersion:
        """A new version of one scope (`source` None: a reset), in the caller's transaction.
        Two uploads at once for one clinic collide on the unique version and one fails."""
        if service is not None:
            service = " ".join(service.split())
            if not service or len(service) > MAX_SERVICE:
                raise ValueError(f"--service must be 1 to {MAX_SERVICE} characters")
        last = session.scalar(
            select(func.max(ClinicProtocol.version)).where(ClinicProtocol.clinic_id == clinic_id)
        )
        row = ClinicProtocol(
            clinic_id=clinic_id,
            version=(last or 0) + 1,
            service=service,
            source=source,
            file_name=file_name,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return ProtocolVersion.of(row)

    def active(self, slug: str) -> ActiveProtocols:
        with self.db.session() as session:
            return active_in(session, self.clinic_id(session, slug))

    def history(self, slug: str) -> list[ProtocolVersion]:
        """Every version of the clinic, oldest first (resets included)."""
        with self.db.session() as session:
            clinic_id = self.clinic_id(session, slug)
            rows = session.scalars(
                select(ClinicProtocol)
                .where(ClinicProtocol.clinic_id == clinic_id)
                .order_by(ClinicProtocol.version)
            )
            return [ProtocolVersion.of(row) for row in rows]

    def version(self, row_id: int) -> ProtocolVersion | None:
        with self.db.session() as session:
            return version_in(session, row_id)
