"""`aftercare patient add` follows the import's rules for appointments and sessions, on
SQLite and PostgreSQL: a new appointment id is a new session with its own plan, the same id
at another time a correction, and without an id the protocol's length decides."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from aftercare.cli import app
from storage.db import Database
from storage.models import Patient, Reminder, Treatment

runner = CliRunner()


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[Database]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("QUIET_HOURS", "off")  # due times exactly as planned
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    added = runner.invoke(
        app,
        [
            *("clinic", "add", "glow", "--name", "Glow", "--phone", "+12125550100"),
            *("--timezone", "America/New_York"),
        ],
    )
    assert added.exit_code == 0, added.output
    database = Database(database_url)
    yield database
    database.dispose()


def add(*options: str) -> Result:
    return runner.invoke(
        app, ["patient", "add", "--clinic", "glow", "--external-id", "P1", *options]
    )


def utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def treatments(db: Database) -> list[tuple[datetime, str | None, bool]]:
    """(performed at, appointment id, cancelled) in the order they were made."""
    with db.session() as session:
        rows = session.execute(
            select(
                Treatment.performed_at, Treatment.appointment_id, Treatment.cancelled_at
            ).order_by(Treatment.id)
        ).all()
    return [(utc(at), appointment, cancelled is not None) for at, appointment, cancelled in rows]


def reminders(db: Database, treatment_index: int) -> dict[str, tuple[str, datetime]]:
    """milestone -> (status, due at) of the patient's n-th treatment."""
    with db.session() as session:
        tid = session.scalars(select(Treatment.id).order_by(Treatment.id)).all()[treatment_index]
        rows = session.execute(
            select(Reminder.milestone, Reminder.status, Reminder.due_at).where(
                Reminder.treatment_id == tid
            )
        ).all()
    return {milestone: (str(status), utc(due)) for milestone, status, due in rows}


def to_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def test_a_new_appointment_id_is_a_new_session_with_its_own_plan(db: Database) -> None:
    first = add("--treatment", "-2h", "--phone", "(212) 555-0199", "--appointment-id", "B-1")
    assert first.exit_code == 0, first.output
    assert "patient P1: created" in first.stdout
    assert "welcome" in first.stdout

    again = add("--treatment", "-2h", "--appointment-id", "B-1")
    assert again.exit_code == 0, again.output
    assert "patient P1: unchanged; treatment: unchanged" in again.stdout

    before = datetime.now(UTC)
    later = add("--treatment", "+35d", "--appointment-id", "B-2")
    assert later.exit_code == 0, later.output
    assert "patient P1: updated; treatment: new session" in later.stdout
    [(_, first_id, _), (booked, second_id, cancelled)] = treatments(db)
    assert (first_id, second_id, cancelled) == ("B-1", "B-2", False)
    assert to_minute(before + timedelta(days=35)) <= booked
    assert booked <= to_minute(datetime.now(UTC) + timedelta(days=35))
    plan = reminders(db, 1)
    assert plan["welcome"] == ("pending", booked + timedelta(hours=1))  # as they leave
    assert {status for status, _ in plan.values()} == {"pending"}
    # The first plan runs until the appointment: it ends before then, so nothing of it moves.
    assert {status for status, _ in reminders(db, 0).values()} == {"pending"}


def test_the_same_appointment_id_at_another_time_is_a_correction(db: Database) -> None:
    assert (
        add("--treatment", "+2d", "--appointment-id", "B-1", "--phone", "2125550199").exit_code == 0
    )
    [(booked, _, _)] = treatments(db)
    moved = add("--treatment", "+3d", "--appointment-id", "B-1")
    assert moved.exit_code == 0, moved.output
    assert "treatment: corrected" in moved.stdout
    [(rebooked, appointment, _)] = treatments(db)
    assert (appointment, rebooked - booked) == ("B-1", timedelta(days=1))
    assert reminders(db, 0)["welcome"] == ("pending", rebooked + timedelta(hours=1))


def test_without_an_appointment_id_the_protocols_length_decides(db: Database) -> None:
    assert add("--treatment", "-3d", "--phone", "2125550199").exit_code == 0
    near = add("--treatment", "-2d")
    assert near.exit_code == 0, near.output
    assert "treatment: corrected" in near.stdout  # within 17 days: the same treatment
    assert len(treatments(db)) == 1
    far = add("--treatment", "+20d")
    assert far.exit_code == 0, far.output
    assert "treatment: new session" in far.stdout
    assert [appointment for _, appointment, _ in treatments(db)] == [None, None]


def test_options_left_out_keep_what_is_stored(db: Database) -> None:
    assert add("--treatment", "-1h", "--phone", "2125550199", "--first-name", "Ana").exit_code == 0
    renamed = add("--treatment", "-1h", "--first-name", "Ann")
    assert renamed.exit_code == 0, renamed.output
    assert "patient P1: updated; treatment: unchanged" in renamed.stdout
    with db.session() as session:
        patient = session.scalars(select(Patient)).one()
        assert (patient.first_name, patient.phone, patient.channel) == (
            "Ann",
            "+12125550199",
            "sms",
        )


def test_an_appointment_beyond_the_clinics_days_ahead_is_refused_naming_the_option(
    db: Database,
) -> None:
    narrowed = runner.invoke(app, ["clinic", "days-ahead", "glow", "7"])
    assert narrowed.exit_code == 0, narrowed.output
    refused = add("--treatment", "+8d", "--phone", "2125550199")
    assert refused.exit_code == 1
    assert "--treatment: treatment time is more than 7 days ahead" in refused.output
    assert treatments(db) == []
    assert add("--treatment", "+6d", "--phone", "2125550199").exit_code == 0


def test_errors_name_the_option_that_gave_the_value(db: Database) -> None:
    phone = add("--treatment", "-1h", "--phone", "12")
    assert phone.exit_code == 1 and "--phone: not a valid phone number" in phone.output
    sms = add("--treatment", "-1h", "--channel", "sms")
    assert sms.exit_code == 1 and "--phone: is required when the channel is sms" in sms.output
    zone = add("--treatment", "-1h", "--tz", "Mars/Olympus")
    assert zone.exit_code == 1 and "--tz:" in zone.output
    typed = add("--treatment", "soon")
    assert typed.exit_code == 1 and "or ahead such as -2h or +3d" in typed.output
    assert treatments(db) == []


def test_a_new_telegram_patient_gets_an_invite_link_shown_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "GlowClinicBot")
    added = add("--treatment", "-1h", "--channel", "telegram")
    assert added.exit_code == 0, added.output
    assert "Telegram invite (shown once): https://t.me/GlowClinicBot?start=" in added.stdout
    again = add("--treatment", "-1h")
    assert "unchanged" in again.stdout and "t.me" not in again.stdout


def test_the_booked_service_is_stored_with_the_treatment_and_another_service_is_refused(
    db: Database,
) -> None:
    other = add("--treatment", "-1h", "--phone", "2125550199", "--service", "Glow facial")
    assert other.exit_code == 1
    assert "--service: 'Glow facial' is not microneedling" in other.output
    assert treatments(db) == []
    added = add("--treatment", "-1h", "--phone", "2125550199", "--service", "Dermapen  PRP")
    assert added.exit_code == 0, added.output
    with db.session() as session:
        assert session.scalars(select(Treatment.service)).all() == ["Dermapen PRP"]
