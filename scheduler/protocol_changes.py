"""A clinic changes its protocol: a new version (or a reset) of its default or of one
booking service, and with `replan` its current plans moved to it, in one transaction.

New treatments follow the change at once; treatments already planned keep the version they
name unless replanned. A replan moves the treatments planned with an earlier version of the
same scope (for the clinic's default, also those on the built-in protocol, but not those
booked for a service mapped on its own; for a service, also every treatment booked for it,
as `treatment.service` names it) whose plan still runs (the one running now up to a
session booked ahead, and that session); see `Planner.replan` for what happens to their
reminders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from scheduler.planning import Planner
from scheduler.protocol_catalog import ClinicPlanning
from storage.audit import AuditAction, AuditLog
from storage.clinic_protocols import (
    ClinicProtocols,
    ProtocolVersion,
    ReplanCandidate,
    active_in,
    booked_services,
    replan_candidates,
    scope_keys,
    service_key,
)


@dataclass(frozen=True)
class ProtocolChange:
    version: ProtocolVersion
    planning: ClinicPlanning  # what the scope's new treatments get from now on
    replanned: int  # treatments moved to it (0 without replan)


def change_protocol(
    planner: Planner,
    slug: str,
    *,
    source: str | None,
    file_name: str | None,
    service: str | None,
    replan: bool,
    now: datetime,
    audit: Callable[[Session, ProtocolChange], None] | None = None,
) -> ProtocolChange:
    """`source`: the protocol's TOML, already checked (`parse_protocol`); None resets the
    scope (the clinic's default back to the built-in; a service's mapping removed).
    `audit` records the change in its transaction (`audit_change`).
    Raises NotFoundError for an unknown clinic, ValueError for a reset of nothing (a clinic
    already on the built-in, a service with no mapping): it would record a version that
    changes nothing."""
    store = ClinicProtocols(planner.db)
    scope = None if service is None else service_key(service)
    with planner.db.session() as session:
        clinic_id = store.clinic_id(session, slug)
        if source is None:
            active = active_in(session, clinic_id)
            if scope is not None and scope not in active.services:
                raise ValueError(f"clinic {slug}: no protocol is mapped to the service {service!r}")
            if scope is None and active.default is None:
                raise ValueError(
                    f"clinic {slug} is already on the built-in protocol: nothing to reset, "
                    "nothing recorded"
                )
        earlier = scope_keys(session, clinic_id, scope)
        if scope is None:
            earlier.add(planner.protocols.built_in.name)
        version = store.record(
            session, clinic_id, source=source, file_name=file_name, service=service, now=now
        )
        planning = planner.protocols.plans(session, clinic_id).for_service(service)
        moved = 0
        if replan:
            candidates = _candidates(session, clinic_id, scope, earlier, planning.key, now)
            moved = planner.replan(session, candidates, planning, now)
        done = ProtocolChange(version, planning, moved)
        if audit is not None:
            audit(session, done)
    return done


def audit_change(
    session: Session,
    done: ProtocolChange,
    slug: str,
    *,
    replan: bool,
    at: datetime,
    actor: str,
    staff_id: int | None = None,
    address: str | None = None,
) -> None:
    """The trail's entries of a change: the upload or reset (the clinic's slug and the
    version, never the file or the service's name), and with `replan` how many current
    treatments moved to it."""
    version = done.version
    action = AuditAction.PROTOCOL_RESET if version.source is None else AuditAction.PROTOCOL_UPLOAD
    scope = "a service's" if version.service is not None else "the clinic's"
    target = f"{slug} version {version.version} ({scope})"

    def add(action: AuditAction, target_id: str) -> None:
        AuditLog.add(
            session,
            at,
            version.clinic_id,
            staff_id,
            action,
            "clinic_protocol",
            target_id,
            actor=actor,
            address=address,
        )

    add(action, target)
    if replan:
        add(AuditAction.PROTOCOL_REPLAN, f"{target}: {done.replanned} treatment(s) moved")


def _candidates(
    session: Session,
    clinic_id: int,
    scope: str | None,
    earlier: set[str],
    key: str,
    now: datetime,
) -> list[ReplanCandidate]:
    """A service's replan also takes the treatments booked for that service and planned
    before it was mapped (or, after a reset, with its removed mapping's versions); the
    default's replan leaves out treatments of services that have a mapping of their own."""
    if scope is not None:
        services = booked_services(session, clinic_id, {scope})
        return replan_candidates(
            session, clinic_id, earlier, now, services=services, other_than=key
        )
    mapped = booked_services(session, clinic_id, set(active_in(session, clinic_id).services))
    return replan_candidates(session, clinic_id, earlier, now, leave_services=mapped)
