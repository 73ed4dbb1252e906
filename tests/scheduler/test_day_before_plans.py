"""The planner and the clinic's day-before switch, on SQLite and PostgreSQL: off by default;
on, a booked appointment gets its reminder the day before at the appointment's local time,
which moves with the appointment; a treatment already behind the patient never gets one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from aftercare.wiring import Core, build_core
from messages.protocol import DAY_BEFORE
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient, Registration
from storage.day_before import save_day_before
from storage.models import Reminder
from storage.patients import ClinicView
from tests.conftest import make_settings

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def quiet_core(database_url: str, clock: FakeClock) -> Iterator[Core]:
    """The service with the default quiet hours (21:00-08:00 in the patient's zone)."""
    built = build_core(make_settings(database_url, quiet_hours="21:00-08:00"), clock)
    yield built
    built.close()


@pytest.fixture
def glow(quiet_core: Core) -> ClinicView:
    return quiet_core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+15551234567", "America/New_York", "US", "en"
    )


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


def book(core: Core, clinic: ClinicView, treated_at: datetime, external_id: str = "P1") -> int:
    registration: Registration = core.planner.register(
        clinic.id,
        NewPatient(external_id, "America/New_York", first_name="Ana", phone="+15550001111"),
        treated_at,
    )
    return registration.treatment_id


def day_before_row(core: Core, treatment_id: int) -> Reminder | None:
    with core.db.session() as session:
        return session.scalar(
            select(Reminder).where(
                Reminder.treatment_id == treatment_id, Reminder.milestone == DAY_BEFORE
            )
        )


def test_a_clinic_that_has_not_turned_it_on_plans_no_day_before_reminder(
    quiet_core: Core, glow: ClinicView
) -> None:
    treatment = book(quiet_core, glow, ny(3, 5, 10, 30))
    assert day_before_row(quiet_core, treatment) is None
    with quiet_core.db.session() as session:
        planned = set(
            session.scalars(select(Reminder.milestone).where(Reminder.treatment_id == treatment))
        )
    assert "welcome" in planned and DAY_BEFORE not in planned


def test_turned_on_a_booked_appointment_is_reminded_the_day_before_at_its_local_time(
    quiet_core: Core, glow: ClinicView
) -> None:
    save_day_before(quiet_core.db, glow.slug, True)
    treatment = book(quiet_core, glow, ny(3, 5, 10, 30))
    row = day_before_row(quiet_core, treatment)
    assert row is not None
    assert (row.status, row.channel) == ("pending", "sms")
    assert row.due_at == ny(3, 4, 10, 30).astimezone(UTC)
    assert row.expires_at == ny(3, 4, 22, 30).astimezone(UTC)


def test_across_the_dst_change_it_keeps_the_appointments_wall_clock_time(
    quiet_core: Core, glow: ClinicView
) -> None:
    # Clocks go forward early on Sunday 8 March: Saturday 10:00 is EST, Sunday 10:00 EDT.
    save_day_before(quiet_core.db, glow.slug, True)
    treatment = book(quiet_core, glow, ny(3, 8, 10, 0))
    row = day_before_row(quiet_core, treatment)
    assert row is not None
    assert row.due_at == datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert row.due_at.astimezone(NEW_YORK).hour == 10


def test_an_evening_appointment_is_reminded_the_morning_before_not_on_the_day(
    quiet_core: Core, glow: ClinicView
) -> None:
    save_day_before(quiet_core.db, glow.slug, True)
    treatment = book(quiet_core, glow, ny(3, 5, 21, 30))  # 21:30 the day before is quiet
    row = day_before_row(quiet_core, treatment)
    assert row is not None and row.due_at == ny(3, 4, 8, 0).astimezone(UTC)


def test_a_treatment_already_behind_the_patient_never_gets_it(
    quiet_core: Core, glow: ClinicView, clock: FakeClock
) -> None:
    save_day_before(quiet_core.db, glow.slug, True)
    for n, ago in enumerate((timedelta(minutes=5), timedelta(hours=20), timedelta(days=3))):
        treatment = book(quiet_core, glow, clock.now() - ago, f"P{n}")
        assert day_before_row(quiet_core, treatment) is None


def test_an_appointment_booked_after_its_day_before_moment_gets_none(
    quiet_core: Core, glow: ClinicView, clock: FakeClock
) -> None:
    # Now is Monday 10:00; an appointment Tuesday 09:00 would be reminded Monday 09:00.
    save_day_before(quiet_core.db, glow.slug, True)
    assert clock.now() == ny(3, 2, 10, 0)
    assert day_before_row(quiet_core, book(quiet_core, glow, ny(3, 3, 9, 0))) is None
    assert day_before_row(quiet_core, book(quiet_core, glow, ny(3, 3, 11, 0), "P2")) is not None


def test_it_moves_when_the_appointment_is_corrected_and_goes_when_no_longer_ahead(
    quiet_core: Core, glow: ClinicView, clock: FakeClock
) -> None:
    save_day_before(quiet_core.db, glow.slug, True)
    treatment = book(quiet_core, glow, ny(3, 5, 10, 30))

    quiet_core.planner.reschedule(treatment, ny(3, 6, 14, 0))
    row = day_before_row(quiet_core, treatment)
    assert row is not None and row.status == "pending"
    assert row.due_at == row.next_attempt_at == ny(3, 5, 14, 0).astimezone(UTC)

    quiet_core.planner.reschedule(treatment, ny(3, 3, 9, 0))  # its day before is behind us
    row = day_before_row(quiet_core, treatment)
    assert row is not None and row.status == "skipped"
    assert row.last_error == "no longer planned before the treatment"


def test_a_corrected_appointment_follows_the_switch_as_it_is_now(
    quiet_core: Core, glow: ClinicView
) -> None:
    treatment = book(quiet_core, glow, ny(3, 5, 10, 30))
    assert day_before_row(quiet_core, treatment) is None
    save_day_before(quiet_core.db, glow.slug, True)
    quiet_core.planner.reschedule(treatment, ny(3, 6, 10, 30))
    row = day_before_row(quiet_core, treatment)
    assert row is not None and row.due_at == ny(3, 5, 10, 30).astimezone(UTC)

    save_day_before(quiet_core.db, glow.slug, False)
    quiet_core.planner.reschedule(treatment, ny(3, 7, 10, 30))
    row = day_before_row(quiet_core, treatment)
    assert row is not None and row.status == "skipped"


def test_a_cancelled_treatment_cancels_its_day_before_reminder(
    quiet_core: Core, glow: ClinicView
) -> None:
    save_day_before(quiet_core.db, glow.slug, True)
    treatment = book(quiet_core, glow, ny(3, 5, 10, 30))
    quiet_core.planner.cancel(treatment)
    row = day_before_row(quiet_core, treatment)
    assert row is not None and row.status == "cancelled"
