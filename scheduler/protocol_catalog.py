"""Which protocol a treatment follows, and which one a clinic's new treatments get.

A treatment stores a protocol key: the built-in protocol's name, or `clinic:<id>` for a
version a clinic uploaded (storage.clinic_protocols). The catalog turns keys into protocols,
reading clinic versions from the database the first time they are asked for and keeping
them: versions are never changed, so what is kept stays right.

For planning, a clinic and a booking service resolve to a `ClinicPlanning`: the service's
own protocol when the clinic mapped it, else the clinic's current default, else the
built-in (PROTOCOL_FILE or microneedling).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from messages.protocol import Protocol
from messages.protocol_files import ProtocolError, parse_protocol
from storage.clinic_protocols import ProtocolVersion, active_in, service_key, version_id, version_in
from storage.day_before import day_before_on
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClinicPlanning:
    """How one clinic's new treatments (of one service) are planned: the key the treatment
    stores, the protocol it names, and whether a booked treatment also gets the protocol's
    reminders before it (the clinic's day-before switch)."""

    key: str
    protocol: Protocol
    before: bool = False


@dataclass(frozen=True)
class ClinicPlans:
    """A clinic's planning for any service: `services` by `service_key`, else `default`."""

    default: ClinicPlanning
    services: dict[str, ClinicPlanning] = field(default_factory=dict)

    def for_service(self, service: str | None) -> ClinicPlanning:
        if service is None or not self.services:
            return self.default
        return self.services.get(service_key(service), self.default)

    def mapped(self, service: str) -> bool:
        """Whether the clinic mapped this booking service to a protocol of its own."""
        return service_key(service) in self.services


class ProtocolCatalog(Mapping[str, Protocol]):
    """Protocol key -> protocol. Unknown keys are missing (callers fall back to the
    built-in with `.get(key, default)`)."""

    def __init__(self, db: Database, built_in: Protocol) -> None:
        self.db = db
        self.built_in = built_in
        self._known: dict[str, Protocol] = {built_in.name: built_in}
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> Protocol:
        protocol = self._known.get(key)
        if protocol is not None:
            return protocol
        row_id = version_id(key)
        if row_id is None:
            raise KeyError(key)
        with self.db.session() as session:
            version = version_in(session, row_id)
        if version is None or version.source is None:
            raise KeyError(key)
        return self._keep(version)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._known))

    def __len__(self) -> int:
        return len(self._known)

    def _keep(self, version: ProtocolVersion) -> Protocol:
        """Parse a stored version once. It was checked when uploaded; should a later release
        check more strictly, the failure is logged (by id) and the built-in stands in."""
        assert version.source is not None
        with self._lock:
            protocol = self._known.get(version.key)
            if protocol is not None:
                return protocol
            try:
                protocol = parse_protocol(version.source, version.key)
            except ProtocolError as exc:
                log.error(
                    "clinic protocol %s (clinic %s) no longer loads: %d problem(s); using %s",
                    version.key,
                    version.clinic_id,
                    len(exc.problems),
                    self.built_in.name,
                )
                protocol = self.built_in
            self._known[version.key] = protocol
            return protocol

    def planning(self, version: ProtocolVersion | None) -> ClinicPlanning:
        """The planning of a stored version (None: the built-in)."""
        if version is None:
            return ClinicPlanning(self.built_in.name, self.built_in)
        protocol = self._known.get(version.key) or self._keep(version)
        return ClinicPlanning(version.key, protocol)

    def plans(self, session: Session, clinic_id: int) -> ClinicPlans:
        """The clinic's planning as it stands in the caller's transaction."""
        active = active_in(session, clinic_id)
        before = day_before_on(session, clinic_id)
        return ClinicPlans(
            replace(self.planning(active.default), before=before),
            {
                scope: replace(self.planning(v), before=before)
                for scope, v in active.services.items()
            },
        )
