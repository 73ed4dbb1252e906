"""Per-clinic protocols through the importer and the dispatcher, on SQLite and PostgreSQL:
a clinic's own protocol is used for its patients only, editing it leaves existing plans
alone, and a replan moves the pending reminders of current plans."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from aftercare.wiring import Core
from clinic.outcomes import RowOutcome
from scheduler.clock import FakeClock
from scheduler.protocol_changes import ProtocolChange, change_protocol
from storage.clinic_protocols import ClinicProtocols
from storage.enrollment import EnrollmentStore
from storage.models import Patient, Reminder, Treatment
from storage.patients import ClinicView
from tests.clinic.conftest import make_importer
from tests.clinic.test_appointments import BOOKING_HEADER, NEW_YORK, local, plans, utc
from tests.scheduler.engine_kit import make_engine
from tests.scheduler.protocol_kit import clinic_toml

PRP = "Microneedling with PRP"


def change(
    core: Core,
    clock: FakeClock,
    source: str | None,
    *,
    slug: str = "glow",
    service: str | None = None,
    replan: bool = False,
) -> ProtocolChange:
    return change_protocol(
        core.planner,
        slug,
        source=source,
        file_name="glow.toml",
        service=service,
        replan=replan,
        now=clock.now(),
    )


def enroll(core: Core, slug: str, rows: str) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    profile = EnrollmentStore(core.db).profile(slug)
    make_importer(core).run(
        profile, io.BytesIO((BOOKING_HEADER + rows).encode()), on_row=outcomes.append
    )
    return outcomes


def plan_of(core: Core, external_id: str) -> tuple[str, dict[str, tuple[timedelta, str]]]:
    """The patient's treatment key and its reminders: milestone -> (due after the
    treatment on the wall clock, status)."""
    with core.db.session() as session:
        treatment = session.scalars(
            select(Treatment)
            .join(Patient, Patient.id == Treatment.patient_id)
            .where(Patient.external_id == external_id)
        ).one()
        rows = session.scalars(select(Reminder).where(Reminder.treatment_id == treatment.id))
        return treatment.protocol, {
            r.milestone: (wall(r.due_at) - wall(treatment.performed_at), str(r.status))
            for r in rows
        }


def wall(instant: datetime) -> datetime:
    """New York wall-clock time: days are calendar days there (summer time starts on the
    second Sunday of March, within these plans)."""
    return instant.astimezone(NEW_YORK).replace(tzinfo=None)


async def texts_until(core: Core, clock: FakeClock, at: datetime) -> dict[str, str]:
    """Send what is due at `at` (the clock moved there); first name -> the last SMS text."""
    clock.set(at)
    engine = make_engine(core, clock)
    await engine.run()
    return {
        d.message.text.split(",")[0].removeprefix("Hi "): d.message.text for d in engine.sms.sent
    }


async def test_a_clinics_own_protocol_is_for_its_patients_only_and_edits_leave_plans_alone(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    core.patients.add_clinic("calm", "Calm Clinic", "+15551234568", "America/New_York", "US", "en")
    tomorrow = local(clock, 1, 14)
    first = change(core, clock, clinic_toml(sun_after="10d", words="10 days on."))
    enroll(core, "glow", f"G1,Gia,(212) 555-0101,{tomorrow},A-1,Microneedling,Booked\n")
    enroll(core, "calm", f"C1,Cal,(212) 555-0103,{tomorrow},B-1,Microneedling,Booked\n")

    g1_key, g1 = plan_of(core, "G1")
    c1_key, c1 = plan_of(core, "C1")
    assert (g1_key, c1_key) == (first.version.key, "microneedling")
    assert g1["welcome"][0] == timedelta(hours=2) and g1["sunscreen"][0] == timedelta(days=10)
    assert c1["welcome"][0] == timedelta(hours=1) and c1["sunscreen"][0] == timedelta(days=14)

    # A new version plans new patients; the ones planned already keep theirs.
    second = change(core, clock, clinic_toml(sun_after="12d", words="12 days on."))
    enroll(core, "glow", f"G2,Gus,(212) 555-0102,{tomorrow},A-2,Microneedling,Booked\n")
    assert plan_of(core, "G1") == (first.version.key, g1)
    assert plan_of(core, "C1") == ("microneedling", c1)
    g2_key, g2 = plan_of(core, "G2")
    assert g2_key == second.version.key
    assert g2["sunscreen"][0] == timedelta(days=12)

    # Each patient's texts come from the version their treatment names.
    treated = utc(tomorrow)
    sent = await texts_until(core, clock, treated + timedelta(days=10))
    assert "Gia, 10 days on." in sent["Gia"]

    # A replan moves the pending reminders of the clinic's current plans to the new
    # version: what was sent stays sent; the other clinic is not touched.
    third = change(core, clock, clinic_toml(sun_after="13d", words="13 days on."), replan=True)
    assert third.replanned == 2
    g1_key, g1_after = plan_of(core, "G1")
    assert g1_key == third.version.key
    assert g1_after["sunscreen"] == (timedelta(days=10), "sent")
    g2_key, g2_after = plan_of(core, "G2")
    assert g2_key == third.version.key
    assert g2_after["sunscreen"] == (timedelta(days=13), "pending")
    c1_key, c1_after = plan_of(core, "C1")  # the jump in time expired its first steps
    assert c1_key == "microneedling"
    assert {k: due for k, (due, _) in c1_after.items()} == {k: due for k, (due, _) in c1.items()}

    assert "Gus" not in await texts_until(core, clock, treated + timedelta(days=12))
    sent = await texts_until(core, clock, treated + timedelta(days=13))
    assert "Gus, 13 days on." in sent["Gus"]
    sent = await texts_until(core, clock, treated + timedelta(days=14))
    assert "Cal, 2 weeks on." in sent["Cal"]


def test_a_reset_of_a_clinic_already_on_the_built_in_is_refused_and_records_nothing(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    with pytest.raises(ValueError, match="glow is already on the built-in protocol"):
        change(core, clock, None)
    assert ClinicProtocols(core.db).history("glow") == []
    change(core, clock, clinic_toml())
    assert change(core, clock, None).version.version == 2  # back to the built-in
    with pytest.raises(ValueError, match="already on the built-in protocol"):
        change(core, clock, None, replan=True)
    assert [v.version for v in ClinicProtocols(core.db).history("glow")] == [1, 2]


def test_a_mapped_service_gets_its_protocol_even_without_the_built_in_words(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    mapped = change(core, clock, clinic_toml(), service=PRP)
    tomorrow = local(clock, 1, 14)
    outcomes = enroll(
        core,
        "glow",
        f"P1,Pia,(212) 555-0101,{tomorrow},A-1,MICRONEEDLING  with prp,Booked\n"
        f"P2,Pat,(212) 555-0102,{tomorrow},A-2,Microneedling,Booked\n"
        f"P3,Pol,(212) 555-0103,{tomorrow},A-3,Glow facial,Booked\n",
    )
    assert [o.action for o in outcomes] == ["created", "created", "skipped"]
    assert plan_of(core, "P1")[0] == mapped.version.key
    assert plan_of(core, "P2")[0] == "microneedling"

    change(core, clock, clinic_toml(name="facial"), service="Glow Facial")
    outcomes = enroll(core, "glow", f"P3,Pol,(212) 555-0103,{tomorrow},A-3,Glow facial,Booked\n")
    assert [o.action for o in outcomes] == ["created"]
    assert core.protocols[plan_of(core, "P3")[0]].name == "facial"

    # Without its mapping, the service is only enrolled when its name says microneedling.
    change(core, clock, None, service=PRP)
    outcomes = enroll(core, "glow", f"P4,Pam,(212) 555-0104,{tomorrow},A-4,PRP facial,Booked\n")
    assert [o.action for o in outcomes] == ["skipped"]
    enroll(core, "glow", f"P5,Pey,(212) 555-0105,{tomorrow},A-5,Microneedling with PRP,Booked\n")
    assert plan_of(core, "P5")[0] == "microneedling"


def test_a_replan_of_a_service_moves_that_services_plans_only(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    first = change(core, clock, clinic_toml(), service=PRP)
    tomorrow = local(clock, 1, 14)
    enroll(
        core,
        "glow",
        f"P1,Pia,(212) 555-0101,{tomorrow},A-1,{PRP},Booked\n"
        f"P2,Pat,(212) 555-0102,{tomorrow},A-2,Microneedling,Booked\n",
    )
    second = change(core, clock, clinic_toml(sun_after="12d"), service=PRP, replan=True)
    assert second.replanned == 1
    assert plan_of(core, "P1")[0] == second.version.key != first.version.key
    assert plan_of(core, "P1")[1]["sunscreen"][0] == timedelta(days=12)
    assert plan_of(core, "P2")[0] == "microneedling"


def services(core: Core) -> dict[str, str | None]:
    with core.db.session() as session:
        rows = session.execute(
            select(Patient.external_id, Treatment.service).join(
                Patient, Patient.id == Treatment.patient_id
            )
        )
        return {external_id: service for external_id, service in rows}


def test_a_service_mapped_later_replans_the_treatments_booked_for_it_before(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    tomorrow = local(clock, 1, 14)
    enroll(
        core,
        "glow",
        f"P1,Pia,(212) 555-0101,{tomorrow},A-1,MICRONEEDLING  with prp,Booked\n"
        f"P2,Pat,(212) 555-0102,{tomorrow},A-2,Microneedling,Booked\n"
        f"P3,Pol,(212) 555-0103,{tomorrow},A-3,,Booked\n",
    )
    # The service as the export wrote it (spaces collapsed); none when the cell is empty.
    assert services(core) == {"P1": "MICRONEEDLING with prp", "P2": "Microneedling", "P3": None}

    mapped = change(core, clock, clinic_toml(), service=PRP, replan=True)
    assert mapped.replanned == 1
    assert plan_of(core, "P1")[0] == mapped.version.key
    assert plan_of(core, "P1")[1]["sunscreen"][0] == timedelta(days=10)
    assert plan_of(core, "P2")[0] == plan_of(core, "P3")[0] == "microneedling"

    # The clinic's default: its other treatments move, the mapped service's stay its own.
    default = change(core, clock, clinic_toml(name="glow", sun_after="12d"), replan=True)
    assert default.replanned == 2
    assert plan_of(core, "P1")[0] == mapped.version.key
    assert plan_of(core, "P2")[0] == plan_of(core, "P3")[0] == default.version.key

    # The mapping removed: its treatments go to the clinic's default.
    removed = change(core, clock, None, service=PRP, replan=True)
    assert removed.replanned == 1
    assert plan_of(core, "P1")[0] == default.version.key
    assert plan_of(core, "P1")[1]["sunscreen"][0] == timedelta(days=12)


def test_a_service_that_cannot_be_stored_is_a_row_error_unless_the_row_is_skipped(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    tomorrow = local(clock, 1, 14)
    long = "Microneedling " + "x" * 200
    outcomes = enroll(
        core,
        "glow",
        f"P1,Pia,(212) 555-0101,{tomorrow},A-1,{long},Booked\n"
        f"P2,Pat,(212) 555-0102,{tomorrow},A-2,Microneedling\x07,Booked\n"
        f"P3,Pol,(212) 555-0103,{tomorrow},A-3,Facial\x07,Booked\n",
    )
    assert [(o.status, [(e.column, e.message) for e in o.errors]) for o in outcomes] == [
        ("rejected", [("service", "is longer than 200 characters")]),
        ("rejected", [("service", "contains control characters")]),
        ("skipped", []),
    ]
    assert services(core) == {}


def test_a_replan_leaves_cancelled_and_superseded_treatments_alone(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(
        core,
        "glow",
        f"P1,Pia,(212) 555-0101,{local(clock, 1, 14)},A-1,Microneedling,Booked\n"
        f"P2,Pat,(212) 555-0102,{local(clock, 1, 14)},A-2,Microneedling,Booked\n"
        f"P3,Pol,(212) 555-0103,{local(clock, -10, 14)},A-3,Microneedling,Completed\n",
    )
    enroll(
        core,
        "glow",
        f"P1,Pia,(212) 555-0101,{local(clock, 1, 14)},A-1,Microneedling,Cancelled\n"
        f"P2,Pat,(212) 555-0102,{local(clock, 40, 14)},A-9,Microneedling,Booked\n"
        f"P3,Pol,(212) 555-0103,{local(clock, -1, 14)},A-4,Microneedling,Completed\n",
    )
    done = change(core, clock, clinic_toml(), replan=True)
    # P2's session tomorrow is the plan that runs until A-9 (booked ahead) starts, so it
    # moves too; P3's A-3 ended when A-4 happened.
    assert done.replanned == 3
    with core.db.session() as session:
        keys = session.execute(
            select(Patient.external_id, Treatment.appointment_id, Treatment.protocol)
            .join(Patient, Patient.id == Treatment.patient_id)
            .order_by(Treatment.id)
        ).all()
    assert [tuple(k) for k in keys] == [
        ("P1", "A-1", "microneedling"),
        ("P2", "A-2", done.version.key),
        ("P3", "A-3", "microneedling"),
        ("P2", "A-9", done.version.key),
        ("P3", "A-4", done.version.key),
    ]
    first, second = plans(core, "P2")
    treated = utc(local(clock, 1, 14))
    assert first["welcome"] == (treated + timedelta(hours=2), "pending")  # the new delay
    sunscreen, status = first["sunscreen"]  # the new offset, on New York's calendar
    assert (wall(sunscreen) - wall(treated), status) == (timedelta(days=10), "pending")
    assert second["welcome"] == (utc(local(clock, 40, 14)) + timedelta(hours=2), "pending")
    assert "pending" not in {status for _, status in plans(core, "P3")[0].values()}
