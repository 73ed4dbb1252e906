"""The protocol catalog and the planner with clinics' own protocols (SQLite and PostgreSQL):
a clinic's current version plans its new treatments, a treatment keeps the version it was
planned with, and keys that name nothing fall back to the built-in."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from aftercare.wiring import Core
from messages.protocol_files import parse_protocol
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from scheduler.protocol_catalog import ProtocolCatalog
from storage.models import Reminder, Treatment
from storage.patients import ClinicView
from tests.scheduler.protocol_kit import clinic_toml, upload


def due_times(core: Core, treatment_id: int) -> dict[str, timedelta]:
    with core.db.session() as session:
        performed = session.scalar(
            select(Treatment.performed_at).where(Treatment.id == treatment_id)
        )
        rows = session.execute(
            select(Reminder.milestone, Reminder.due_at).where(Reminder.treatment_id == treatment_id)
        ).all()
    assert performed is not None
    return {milestone: due - performed for milestone, due in rows}


def stored_key(core: Core, treatment_id: int) -> str:
    with core.db.session() as session:
        key = session.scalar(select(Treatment.protocol).where(Treatment.id == treatment_id))
    assert key is not None
    return key


def test_a_clinic_plans_with_its_current_version_and_treatments_keep_theirs(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    ahead = clock.now() + timedelta(days=1)
    before = core.planner.register(clinic.id, NewPatient("P0", "UTC", phone="+15550000000"), ahead)
    first = upload(core.db, clinic.id, clock.now(), clinic_toml())
    during = core.planner.register(clinic.id, NewPatient("P1", "UTC", phone="+15550000001"), ahead)
    second = upload(core.db, clinic.id, clock.now(), clinic_toml(sun_after="12d"))
    after = core.planner.register(clinic.id, NewPatient("P2", "UTC", phone="+15550000002"), ahead)

    assert stored_key(core, before.treatment_id) == "microneedling"
    assert stored_key(core, during.treatment_id) == first
    assert stored_key(core, after.treatment_id) == second
    assert due_times(core, before.treatment_id)["welcome"] == timedelta(hours=1)
    assert due_times(core, before.treatment_id)["sunscreen"] == timedelta(days=14)
    assert due_times(core, during.treatment_id)["welcome"] == timedelta(hours=2)
    assert due_times(core, during.treatment_id)["sunscreen"] == timedelta(days=10)
    assert due_times(core, after.treatment_id)["sunscreen"] == timedelta(days=12)
    assert core.protocols[first].timed[-1].offset.nominal == timedelta(days=10)
    assert core.protocols[second].timed[-1].offset.nominal == timedelta(days=12)


def test_a_reset_plans_with_the_built_in_again(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    upload(core.db, clinic.id, clock.now(), clinic_toml())
    upload(core.db, clinic.id, clock.now(), None)
    registration = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", phone="+15550000001"), clock.now()
    )
    assert stored_key(core, registration.treatment_id) == "microneedling"


def test_the_treatment_time_is_checked_against_the_clinics_protocol(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    upload(core.db, clinic.id, clock.now(), clinic_toml(sun_after="5d"))
    with pytest.raises(ValueError, match="older than the protocol's last milestone"):
        core.planner.register(
            clinic.id,
            NewPatient("P1", "UTC", phone="+15550000001"),
            clock.now() - timedelta(days=9),
        )


def test_another_process_sees_a_version_uploaded_after_it_started(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = core.planner.register(
        clinic.id, NewPatient("P1", "UTC", phone="+15550000001"), clock.now()
    )
    assert len(core.protocols) == 1
    key = upload(core.db, clinic.id, clock.now(), clinic_toml())
    fresh = ProtocolCatalog(core.db, core.protocol)  # as in the dispatcher of another process
    assert fresh.get(key, core.protocol).name == "glow"
    assert key in fresh
    assert fresh.get(stored_key(core, registration.treatment_id)) is core.protocol


def test_keys_that_name_nothing_are_missing(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    reset = upload(core.db, clinic.id, clock.now(), None)
    for key in ("clinic:999", "clinic:x", "other", reset):
        assert key not in core.protocols
        assert core.protocols.get(key, core.protocol) is core.protocol


def test_a_stored_version_that_no_longer_loads_is_logged_and_the_built_in_stands_in(
    core: Core, clinic: ClinicView, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    key = upload(core.db, clinic.id, clock.now(), 'name = "old"')
    with caplog.at_level(logging.ERROR, "scheduler.protocol_catalog"):
        assert core.protocols[key] is core.protocol
    assert f"clinic protocol {key} (clinic {clinic.id}) no longer loads" in caplog.text


def test_the_test_protocol_passes_every_upload_check() -> None:
    protocol = parse_protocol(clinic_toml(), "test")
    assert (protocol.name, protocol.welcome_delay.nominal) == ("glow", timedelta(hours=2))
