"""A clinic changes its protocol: a new version (or a reset) of its default or of one
booking service, and with `replan` its current plans moved to it, in one transaction.

New treatments follow the change at once; treatments already planned keep the version they
name unless replanned. A replan moves the treatments planned with an earlier version of the
same scope (for the clinic's default, also those on the built-in protocol, but not those
booked for a service mapped on its own; for a service, also every treatment booked for it,
as `treatment.service` names it) that are still their patient's plan; see `Planner.replan`
for what happens to their reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from scheduler.planning import Planner
from scheduler.protocol_catalog import ClinicPlanning
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
) -> ProtocolChange:
    """`source`: the protocol's TOML, already checked (`parse_protocol`); None resets the
    scope (the clinic's default back to the built-in; a service's mapping removed).
    Raises NotFoundError for an unknown clinic, ValueError for a reset of nothing."""
    store = ClinicProtocols(planner.db)
    scope = None if service is None else service_key(service)
    with planner.db.session() as session:
        clinic_id = store.clinic_id(session, slug)
        if (
            source is None
            and scope is not None
            and scope not in active_in(session, clinic_id).services
        ):
            raise ValueError(f"clinic {slug}: no protocol is mapped to the service {service!r}")
        earlier = scope_keys(session, clinic_id, scope)
        if scope is None:
            earlier.add(planner.protocols.built_in.name)
        version = store.record(
            session, clinic_id, source=source, file_name=file_name, service=service, now=now
        )
        planning = planner.protocols.plans(session, clinic_id).for_service(service)
        moved = 0
        if replan:
            candidates = _candidates(session, clinic_id, scope, earlier, planning.key)
            moved = planner.replan(session, candidates, planning, now)
    return ProtocolChange(version, planning, moved)


def _candidates(
    session: Session, clinic_id: int, scope: str | None, earlier: set[str], key: str
) -> list[ReplanCandidate]:
    """A service's replan also takes the treatments booked for that service and planned
    before it was mapped (or, after a reset, with its removed mapping's versions); the
    default's replan leaves out treatments of services that have a mapping of their own."""
    if scope is not None:
        services = booked_services(session, clinic_id, {scope})
        return replan_candidates(session, clinic_id, earlier, services=services, other_than=key)
    mapped = booked_services(session, clinic_id, set(active_in(session, clinic_id).services))
    return replan_candidates(session, clinic_id, earlier, leave_services=mapped)
