"""The command line, through Typer's runner: no database needed for `simulate`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aftercare.cli import app
from clinic.dates import parse_treatment_at
from storage.db import Database
from storage.models import Treatment
from tests.aftercare.process_kit import AFTERCARE

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)  # migrated: commands never migrate
    monkeypatch.setenv("QUIET_HOURS", "21:00-08:00")


def simulate(*args: str) -> list[dict[str, str]]:
    result = runner.invoke(app, ["simulate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_simulate_prints_the_plan_with_local_offsets_and_texts() -> None:
    rows = simulate("--treatment", "2026-03-07T10:00", "--tz", "America/New_York")
    assert [r["key"] for r in rows] == [
        "welcome",
        "makeup",
        "checkin_24h",
        "sweat",
        "cleanser",
        "checkin_72h",
        "sunscreen",
    ]
    assert rows[1]["due_at"] == "2026-03-08T11:00:00-04:00"  # 24 h across the DST switch
    assert rows[2]["due_at"] == rows[1]["due_at"]  # the check-in comes with the makeup step
    assert rows[6]["due_at"] == "2026-03-21T10:00:00-04:00"  # 14 days, same wall clock
    assert all(r["text"] for r in rows)


def test_simulate_from_a_later_registration_skips_what_is_past_and_says_what_applies() -> None:
    rows = simulate(
        "--treatment",
        "2026-03-02T09:00",
        "--tz",
        "Europe/Madrid",
        "--now",
        "2026-03-05T12:00",
        "--lang",
        "es",
    )
    assert [r["key"] for r in rows] == ["welcome", "sunscreen"]
    assert rows[0]["due_at"] == "2026-03-05T12:00:00+01:00"
    assert rows[0]["text"].count("\n") == 3  # intro and a line for each of the three passed


def test_simulate_moves_a_night_time_reminder_to_the_morning() -> None:
    rows = simulate(
        "--treatment", "2026-05-04T22:30", "--tz", "Europe/Madrid", "--channel", "telegram"
    )
    assert rows[1]["due_at"] == "2026-05-06T08:00:00+02:00"
    assert rows[1]["milestone_at"] == "2026-05-05T22:30:00+02:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--treatment", "yesterday", "--tz", "UTC"], "use ISO 8601"),
        (["--treatment", "2026-11-21", "--tz", "UTC"], "has no time of day"),
        (["--treatment", "2026-03-08T02:30", "--tz", "America/New_York"], "does not exist"),
        (["--treatment", "2026-03-08T10:00", "--tz", "Moon/Base"], "unknown time zone"),
    ],
)
def test_simulate_explains_bad_input(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 1
    assert message in result.output


def test_clinic_and_patient_add_plan_the_reminders() -> None:
    added = runner.invoke(
        app,
        [
            "clinic",
            "add",
            "glow",
            "--name",
            "Glow",
            "--phone",
            "+12125550100",
            "--timezone",
            "America/New_York",
        ],
    )
    assert added.exit_code == 0, added.output
    result = runner.invoke(
        app,
        [
            "patient",
            "add",
            "--clinic",
            "glow",
            "--external-id",
            "P1",
            "--treatment",
            "2020-01-01T10:00",
        ],
    )
    assert result.exit_code == 1 and "older than 17 days, the import window" in result.output
    result = runner.invoke(
        app,
        [
            "patient",
            "add",
            "--clinic",
            "nope",
            "--external-id",
            "P1",
            "--treatment",
            "2026-01-01T10:00",
        ],
    )
    assert result.exit_code == 1 and "no clinic 'nope'" in result.output
    result = runner.invoke(
        app,
        [
            "patient",
            "add",
            "--clinic",
            "glow",
            "--external-id",
            "P1",
            "--treatment",
            "-1h",
            "--phone",
            "12",
        ],
    )
    assert result.exit_code == 1 and "not a valid phone number" in result.output


def add_glow() -> None:
    added = runner.invoke(
        app,
        [
            *("clinic", "add", "glow", "--name", "Glow", "--phone", "+12125550100"),
            *("--timezone", "America/New_York"),
        ],
    )
    assert added.exit_code == 0, added.output


def test_patient_add_reads_the_treatment_by_the_importers_rules() -> None:
    add_glow()
    base = ["patient", "add", "--clinic", "glow", "--external-id", "P1", "--treatment"]
    date_only = runner.invoke(app, [*base, "2026-11-21"])
    assert date_only.exit_code == 1
    with pytest.raises(ValueError, match="has no time of day") as importer_says:
        parse_treatment_at("2026-11-21", ZoneInfo("America/New_York"))
    assert str(importer_says.value) in date_only.output
    before = datetime.now(UTC)
    relative = runner.invoke(app, [*base, "-2h", "--phone", "(212) 555-0199"])
    assert relative.exit_code == 0, relative.output
    db = Database(os.environ["DATABASE_URL"])
    with db.session() as session:
        treated = session.scalars(select(Treatment.performed_at)).one()
    db.dispose()
    treated = treated.replace(tzinfo=UTC) if treated.tzinfo is None else treated
    assert timedelta(minutes=-1) < treated - (before - timedelta(hours=2)) < timedelta(seconds=30)
    assert treated.second == 0 and treated.microsecond == 0


@pytest.mark.parametrize(
    "args",
    [
        ["reminders", "--status", "bogus"],
        ["simulate", "--treatment", "-1h", "--tz", "UTC", "--channel", "fax"],
        ["simulate", "--treatment", "-1h", "--tz", "UTC", "--lang", "fr"],
        ["patient", "add", *("--clinic", "glow", "--external-id", "P"), "--lang", "fr"],
        ["ask", "hello", "--channel", "fax"],
    ],
)
def test_enumerated_options_are_refused_by_their_choices(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "is not one of" in result.output


def test_help_names_values_for_what_they_hold_and_shows_flags_bare() -> None:
    shown = subprocess.run(
        [AFTERCARE, "enroll", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "<bool>" not in shown and "<str>" not in shown
    assert re.search(r"--clinic +SLUG", shown) and re.search(r"--dry-run +Check", shown)
    listed = subprocess.run(
        [AFTERCARE, "reminders", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "in_doubt" in listed and "<int>" not in listed
