"""Booking exports and the day-before reminder, on SQLite and PostgreSQL: a clinic that turned
it on gets one per booked appointment; a later export that moves the appointment moves it,
and a cancelled or missed appointment cancels it with the rest of its plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from aftercare.wiring import Core
from messages.protocol import DAY_BEFORE
from scheduler.clock import FakeClock
from storage.day_before import save_day_before
from storage.models import Patient, Reminder
from storage.patients import ClinicView
from tests.clinic.conftest import Run

NEW_YORK = ZoneInfo("America/New_York")
HEADER = "Client ID,First name,Mobile,Start Time,Appointment ID,Service,Status\n"


def local(clock: FakeClock, days: int, hour: int) -> str:
    day = clock.now().astimezone(NEW_YORK) + timedelta(days=days)
    return day.replace(hour=hour, minute=0).strftime("%Y-%m-%d %H:%M")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK).astimezone(UTC)


def day_before_rows(core: Core, external_id: str) -> list[tuple[datetime, str]]:
    """(due, status) of the patient's day-before reminders, oldest treatment first."""
    with core.db.session() as session:
        rows = session.execute(
            select(Reminder.due_at, Reminder.status)
            .join(Patient, Patient.id == Reminder.patient_id)
            .where(Patient.external_id == external_id, Reminder.milestone == DAY_BEFORE)
            .order_by(Reminder.treatment_id)
        )
        return [(due, str(status)) for due, status in rows]


def test_an_export_imported_before_the_switch_is_on_plans_none(
    run: Run, core: Core, clock: FakeClock
) -> None:
    result, _ = run(HEADER + f"C1,Ana,(212) 555-0101,{local(clock, 3, 10)},A-1,Microneedling,\n")
    assert result.created == 1
    assert day_before_rows(core, "C1") == []


def test_each_booked_appointment_gets_one_that_follows_the_export(
    run: Run, core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    save_day_before(core.db, clinic.slug, True)
    booked, bo_booked = local(clock, 3, 10), local(clock, 4, 15)
    first, _ = run(
        HEADER
        + f"C1,Ana,(212) 555-0101,{booked},A-1,Microneedling,Booked\n"
        + f"C2,Bo,(212) 555-0102,{bo_booked},A-2,Microneedling,Confirmed\n"
        + f"C3,Cy,(212) 555-0103,{local(clock, 2, 9)},A-3,Botox,Booked\n"
    )
    assert (first.created, first.skipped) == (2, 1)
    assert day_before_rows(core, "C1") == [(utc(booked) - timedelta(days=1), "pending")]
    assert day_before_rows(core, "C3") == []  # another service: not enrolled at all

    # The next morning's export: C1 moved to the afternoon, C2 cancelled.
    clock.advance(timedelta(days=1))
    moved = local(clock, 2, 16)
    _, outcomes = run(
        HEADER
        + f"C1,Ana,(212) 555-0101,{moved},A-1,Microneedling,Booked\n"
        + f"C2,Bo,(212) 555-0102,{bo_booked},A-2,Microneedling,Cancelled\n"
    )
    assert {o.external_id: o.action for o in outcomes} == {"C1": "corrected", "C2": "cancelled"}
    assert day_before_rows(core, "C1") == [(utc(moved) - timedelta(days=1), "pending")]
    assert day_before_rows(core, "C2") == [(utc(bo_booked) - timedelta(days=1), "cancelled")]


def test_a_no_show_cancels_it_and_the_next_session_gets_its_own(
    run: Run, core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    save_day_before(core.db, clinic.slug, True)
    run(HEADER + f"C1,Ana,(212) 555-0101,{local(clock, 2, 10)},A-1,Microneedling,Booked\n")
    run(HEADER + f"C1,Ana,(212) 555-0101,{local(clock, 2, 10)},A-1,Microneedling,No show\n")
    assert [status for _, status in day_before_rows(core, "C1")] == ["cancelled"]

    rebooked = local(clock, 9, 11)
    _, outcomes = run(HEADER + f"C1,Ana,(212) 555-0101,{rebooked},A-2,Microneedling,Booked\n")
    assert outcomes[0].action == "new session"
    assert day_before_rows(core, "C1")[1] == (utc(rebooked) - timedelta(days=1), "pending")
