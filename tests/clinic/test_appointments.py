"""Booking exports on real databases (SQLite and PostgreSQL): appointments enrolled ahead,
cancellations and no-shows, other services skipped, treatment series, and re-imports."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from aftercare.wiring import Core
from clinic.csv_rows import HeaderError, map_header
from clinic.importer import Importer
from clinic.outcomes import RowOutcome
from scheduler.clock import FakeClock
from storage.clinic_columns import save_days_ahead
from storage.enrollment import ClinicProfile, EnrollmentStore
from storage.models import Patient, Reminder
from storage.patients import current_treatment
from tests.clinic.conftest import HEADER, Run, errors_of

NEW_YORK = ZoneInfo("America/New_York")
BOOKING_HEADER = "Client ID,First name,Mobile,Start Time,Appointment ID,Service,Status\n"


def local(clock: FakeClock, days: int, hour: int, minute: int = 0) -> str:
    """A wall-clock time in New York `days` after the clock's date, as the export writes it."""
    day = clock.now().astimezone(NEW_YORK) + timedelta(days=days)
    return day.replace(hour=hour, minute=minute).strftime("%Y-%m-%d %H:%M")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK).astimezone(UTC)


def plans(core: Core, external_id: str) -> list[dict[str, tuple[datetime, str]]]:
    """Each treatment's reminders (milestone -> due, status), oldest treatment first."""
    with core.db.session() as session:
        rows = session.execute(
            select(Reminder.treatment_id, Reminder.milestone, Reminder.due_at, Reminder.status)
            .join(Patient, Patient.id == Reminder.patient_id)
            .where(Patient.external_id == external_id)
            .order_by(Reminder.treatment_id)
        )
        by_treatment: dict[int, dict[str, tuple[datetime, str]]] = {}
        for tid, milestone, due, status in rows:
            by_treatment.setdefault(tid, {})[milestone] = (due, str(status))
        return list(by_treatment.values())


def actions(outcomes: list[RowOutcome]) -> dict[str, str]:
    return {o.external_id: o.action for o in outcomes}


def test_a_morning_export_is_imported_in_one_go_with_the_right_counts(
    run: Run, core: Core, clock: FakeClock
) -> None:
    booked_last_week = BOOKING_HEADER + (
        f"C4,Dee,(212) 555-0104,{local(clock, 1, 9)},A-4,Microneedling,Booked\n"
        f"C5,Eva,(212) 555-0105,{local(clock, 1, 11)},A-5,Microneedling,Booked\n"
    )
    first, _ = run(booked_last_week)
    assert first.created == 2

    morning = BOOKING_HEADER + (
        f"C1,Ana,(212) 555-0101,{local(clock, 0, 14)},A-1,Microneedling with PRP,Booked\n"
        f"C2,Bo,(212) 555-0102,{local(clock, 0, 15)},A-2,DERMAPEN facial,confirmed\n"
        f"C3,Cy,(212) 555-0103,{local(clock, 0, 16)},A-3,Microagujas faciales,Confirmada\n"
        f"C4,Dee,(212) 555-0104,{local(clock, 1, 9)},A-4,Microneedling,Cancelled\n"
        f"C5,Eva,(212) 555-0105,{local(clock, 1, 11)},A-5,Microneedling,No Show\n"
        f"C6,Fe,(212) 555-0106,{local(clock, 0, 11)},A-6,Botox,Booked\n"
        f"C7,Gil,(212) 555-0107,{local(clock, 0, 12)},A-7,Laser hair removal,Completed\n"
        f"C8,Hal,(212) 555-0108,{local(clock, 0, 13)},A-8,Microneedling,missed\n"
        f"C9,Ivy,(212) 555-0109,{local(clock, 0, 13)},A-9,Microneedling,Postponed\n"
    )
    result, outcomes = run(morning)

    assert (result.rows, result.created, result.rejected, result.skipped) == (9, 3, 1, 3)
    assert result.actions == {
        "created": 3,
        "new session": 0,
        "corrected": 0,
        "cancelled": 2,
        "unchanged": 0,
        "skipped": 3,
    }
    assert actions(outcomes) == {
        "C1": "created",
        "C2": "created",
        "C3": "created",
        "C4": "cancelled",
        "C5": "cancelled",
        "C6": "skipped",
        "C7": "skipped",
        "C8": "skipped",  # a missed booking never imported: nothing to cancel
        "C9": "",
    }
    [(row, column, message)] = errors_of(result)
    assert (row, column) == (10, "status")
    assert "unknown status 'Postponed'" in message and "no-show" in message
    # Cancelled and missed bookings: nothing of theirs is ever sent.
    for external_id in ("C4", "C5"):
        [plan] = plans(core, external_id)
        assert {status for _, status in plan.values()} == {"cancelled"}
    with core.db.session() as session:
        stored = session.scalars(select(Patient.external_id).order_by(Patient.external_id))
        assert list(stored) == ["C1", "C2", "C3", "C4", "C5"]


def test_a_future_appointment_gets_its_welcome_an_hour_after_the_treatment(
    run: Run, core: Core, clock: FakeClock
) -> None:
    at = local(clock, 0, 14)  # this afternoon; the export is made at 10:00
    result, _ = run(BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{at},A-1,Microneedling,Booked\n")
    assert result.created == 1

    [plan] = plans(core, "C1")
    assert plan["welcome"] == (utc(at) + timedelta(hours=1), "pending")
    assert all(due >= utc(at) for due, _ in plan.values()), "nothing before the treatment"
    assert min(due for due, _ in plan.values()) > clock.now(), "nothing is due at import"


def test_a_second_session_five_weeks_later_gets_its_own_plan_and_ends_the_first(
    run: Run, core: Core, clock: FakeClock
) -> None:
    run(HEADER + f"P1,{local(clock, 0, 9)},Ana,(212) 555-0101,,,\n")
    with core.db.session() as session:  # the welcome went out; the rest never could
        session.execute(
            update(Reminder).where(Reminder.milestone == "welcome").values(status="sent")
        )
    clock.advance(timedelta(weeks=5))
    second = local(clock, 0, 9)
    result, outcomes = run(HEADER + f"P1,{second},Ana,(212) 555-0101,,,\n")

    assert actions(outcomes) == {"P1": "new session"}
    assert (result.created, result.updated) == (0, 1)
    first_plan, second_plan = plans(core, "P1")
    assert first_plan.pop("welcome")[1] == "sent"  # sent ones stay
    assert {status for _, status in first_plan.values()} == {"cancelled"}
    assert second_plan["welcome"] == (clock.now(), "pending")  # its own welcome
    assert {status for _, status in second_plan.values()} == {"pending"}
    assert len(second_plan) == 7

    _, outcomes = run(HEADER + f"P1,{second},Ana,(212) 555-0101,,,\n")
    assert actions(outcomes) == {"P1": "unchanged"}


def test_a_session_booked_ahead_ends_the_current_plan_where_it_starts(
    run: Run, core: Core, clock: FakeClock
) -> None:
    run(BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{local(clock, 0, 9)},A-1,Microneedling,\n")
    # A new appointment id is a new session, even 10 days later (within the plan's length).
    next_visit = local(clock, 10, 9)
    _, outcomes = run(
        BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{next_visit},A-2,Microneedling,Booked\n"
    )
    assert actions(outcomes) == {"C1": "new session"}
    first_plan, second_plan = plans(core, "C1")
    for due, status in first_plan.values():
        assert status == ("cancelled" if due >= utc(next_visit) else "pending")
    assert first_plan["sunscreen"][1] == "cancelled"  # day 14 falls after the next visit
    assert second_plan["welcome"][0] == utc(next_visit) + timedelta(hours=1)


def test_a_session_that_happened_leaves_the_plan_of_one_booked_ahead_alone(
    run: Run, core: Core, clock: FakeClock
) -> None:
    next_visit = local(clock, 10, 9)
    run(BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{next_visit},A-2,Microneedling,Booked\n")
    # The clinic's export of this morning's completed session comes after the booking.
    _, outcomes = run(
        BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{local(clock, 0, 9)},A-1,Microneedling,Completed\n"
    )
    assert actions(outcomes) == {"C1": "new session"}

    booked_plan, todays_plan = plans(core, "C1")
    assert {status for _, status in booked_plan.values()} == {"pending"}
    assert booked_plan["welcome"][0] == utc(next_visit) + timedelta(hours=1)
    # Today's plan runs until the booked session, whose own plan takes over there.
    for due, status in todays_plan.values():
        assert status == ("cancelled" if due >= utc(next_visit) else "pending")
    assert todays_plan["sunscreen"][1] == "cancelled"
    assert todays_plan["welcome"] == (clock.now(), "pending")


def test_corrections_by_appointment_id_and_by_nearness(
    run: Run, core: Core, clock: FakeClock
) -> None:
    booked = local(clock, 2, 9)
    run(BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{booked},A-1,Microneedling,Booked\n")
    moved = local(clock, 3, 15)
    _, outcomes = run(
        BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{moved},A-1,Microneedling,Confirmed\n"
    )
    assert actions(outcomes) == {"C1": "corrected"}
    [plan] = plans(core, "C1")
    assert plan["welcome"] == (utc(moved) + timedelta(hours=1), "pending")  # moved with it

    # Without appointment ids: 16 days after the current treatment is still a correction.
    run(HEADER + f"P1,{local(clock, 0, 9)},Ana,,,,telegram\n")
    _, outcomes = run(HEADER + f"P1,{local(clock, 16, 9)},Ana,,,,telegram\n")
    assert actions(outcomes) == {"P1": "corrected"}
    assert len(plans(core, "P1")) == 1


def test_each_skipped_row_says_why_in_the_same_words_in_every_output(
    run: Run, core: Core, clock: FakeClock
) -> None:
    run(BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{local(clock, 1, 9)},A-1,Microneedling,Booked\n")
    export = BOOKING_HEADER + (
        f"C1,Ana,(212) 555-0101,{local(clock, 8, 9)},A-9,Microneedling,Cancelled\n"
        f"C2,Bo,(212) 555-0102,{local(clock, 0, 11)},A-2,Laser  hair removal,Booked\n"
        f"C3,Cy,(212) 555-0103,{local(clock, 0, 12)},A-3,Microneedling,No show\n"
    )
    result, outcomes = run(export)
    never_imported = "a cancelled or missed booking never imported: nothing to cancel"
    other = "'Laser hair removal' is not microneedling and the clinic has no protocol for it"
    expected = [
        {"row": 2, "column": "status", "message": never_imported},  # a known patient's
        {"row": 3, "column": "service", "message": other},  # the service as written
        {"row": 4, "column": "status", "message": never_imported},  # a new patient's
    ]
    assert [o.status for o in outcomes] == ["skipped"] * 3
    assert [o.reason.as_dict() if o.reason else None for o in outcomes] == expected
    assert result.as_dict()["skipped_rows"] == expected
    assert [o.reason for o in run(export.replace("Cancelled", "Booked"))[1][:1]] == [None]


def test_the_same_export_imported_twice_changes_nothing(
    run: Run, core: Core, clock: FakeClock
) -> None:
    export = BOOKING_HEADER + (
        f"C1,Ana,(212) 555-0101,{local(clock, 0, 14)},A-1,Microneedling,Booked\n"
        f"C2,Bo,(212) 555-0102,{local(clock, 1, 9)},A-2,Microneedling,Booked\n"
        f"C3,Cy,(212) 555-0103,{local(clock, 0, 11)},A-3,Botox,Booked\n"
    )
    run(export)
    cancelled = export.replace("A-2,Microneedling,Booked", "A-2,Microneedling,No-show")
    run(cancelled)
    before = {e: plans(core, e) for e in ("C1", "C2")}

    result, outcomes = run(cancelled)
    assert (result.created, result.updated, result.unchanged, result.skipped) == (0, 0, 2, 1)
    assert actions(outcomes) == {"C1": "unchanged", "C2": "unchanged", "C3": "skipped"}
    assert {e: plans(core, e) for e in ("C1", "C2")} == before


def test_separate_date_and_time_columns_and_a_header_lacking_a_column() -> None:
    header = map_header(["Patient ID", "Date", "Time", "Cell", "Booking ID", "Treatment"])
    assert set(header.positions) >= {"external_id", "treatment_at", "phone", "appointment_id"}
    try:
        map_header(["Client Number", "Start Time"])
    except HeaderError as exc:
        message = str(exc)
    else:  # pragma: no cover - the header above lacks external_id
        raise AssertionError("a header without external_id was accepted")
    assert "found 'Client Number', 'Start Time'" in message
    assert 'aftercare clinic columns SLUG --map external_id="Your column"' in message
    try:
        map_header(["Client Number", "Date", "Mobile"])
    except HeaderError as exc:
        message = str(exc)
    else:  # pragma: no cover - the header above lacks both required columns
        raise AssertionError("a header with a date but no time of day was accepted")
    assert "'Date' alone is half a treatment time" in message
    assert '--map external_id="Your column" --map treatment_at="Your column"' in message
    own = map_header(["Client Number", "Start Time"], {"external_id": "Client Number"})
    assert own.positions["external_id"] == 0


def test_a_date_without_its_time_or_a_time_without_its_date_names_the_empty_cell(
    run: Run, clock: FakeClock
) -> None:
    day = local(clock, 0, 9)[:10]
    result, outcomes = run(
        "Patient ID,Date,Time,Mobile,Service\n"
        f"C1,{day},,(212) 555-0101,Microneedling\n"
        "C2,,14:30,(212) 555-0102,Microneedling\n"
        "C3,,,(212) 555-0103,Microneedling\n"
        f"C4,{day},,(212) 555-0104,Botox\n"  # another service: skipped, time or not
    )
    assert errors_of(result) == [
        (2, "time", f"is empty: the treatment needs its time of day, not only the date '{day}'"),
        (3, "date", "is empty: the treatment needs its date, not only the time '14:30'"),
        (4, "treatment_at", "is required: the Date and Time cells are empty"),
    ]
    assert [o.status for o in outcomes] == ["rejected"] * 3 + ["skipped"]


def test_answers_speak_of_the_latest_session_that_has_happened(
    run: Run, core: Core, clock: FakeClock
) -> None:
    first = local(clock, 0, 9)
    run(BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{first},A-1,Microneedling,Completed\n")
    second = local(clock, 30, 9)
    run(BOOKING_HEADER + f"C1,Ana,(212) 555-0101,{second},A-2,Microneedling,Booked\n")
    with core.db.session() as session:
        pid = session.scalar(select(Patient.id).where(Patient.external_id == "C1"))
        assert pid is not None
        today = current_treatment(session, pid, clock.now())
        after = current_treatment(session, pid, utc(second) + timedelta(minutes=1))
    assert today is not None and today.performed_at == utc(first)
    assert after is not None and after.performed_at == utc(second)


def test_a_clinic_can_narrow_how_far_ahead_appointments_are_enrolled(
    importer: Importer, core: Core, clock: FakeClock, profile: ClinicProfile
) -> None:
    save_days_ahead(core.db, profile.slug, 7)
    narrowed = EnrollmentStore(core.db).profile(profile.slug)
    export = BOOKING_HEADER + (
        f"C1,Ana,(212) 555-0101,{local(clock, 6, 9)},A-1,Microneedling,Booked\n"
        f"C2,Bo,(212) 555-0102,{local(clock, 10, 9)},A-2,Microneedling,Booked\n"
    )
    result = importer.run(narrowed, io.BytesIO(export.encode()))
    assert (result.created, result.rejected) == (1, 1)
    assert errors_of(result) == [(3, "treatment_at", "treatment time is more than 7 days ahead")]
