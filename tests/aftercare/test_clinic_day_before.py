"""`aftercare clinic day-before SLUG on|off`: off for every clinic until turned on, shown in
`clinic list`, stored in clinic.day_before_reminder (migration 0014), on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from typer.testing import CliRunner

from aftercare.cli import app
from storage.db import Database
from storage.models import Base

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", database_url)
    added = runner.invoke(
        app,
        [
            *("clinic", "add", "glow", "--name", "Glow", "--phone", "+12125550100"),
            *("--timezone", "America/New_York"),
        ],
    )
    assert added.exit_code == 0, added.output
    return database_url


def listed() -> dict[str, bool]:
    result = runner.invoke(app, ["clinic", "list", "--json"])
    assert result.exit_code == 0, result.output
    return {c["slug"]: c["day_before"] for c in json.loads(result.stdout)}


def test_a_clinic_has_no_day_before_reminder_until_it_turns_it_on(env: str) -> None:
    assert listed() == {"glow": False}
    turned_on = runner.invoke(app, ["clinic", "day-before", "glow", "on"])
    assert turned_on.exit_code == 0, turned_on.output
    assert "clinic glow: day-before reminder on" in turned_on.stdout
    assert listed() == {"glow": True}
    assert runner.invoke(app, ["clinic", "list"]).exit_code == 0  # the table has the column
    assert runner.invoke(app, ["clinic", "day-before", "glow", "off"]).exit_code == 0
    assert listed() == {"glow": False}


def test_an_unknown_clinic_or_state_is_refused(env: str) -> None:
    missing = runner.invoke(app, ["clinic", "day-before", "nowhere", "on"])
    assert missing.exit_code == 1 and "no clinic 'nowhere'" in missing.output
    wrong = runner.invoke(app, ["clinic", "day-before", "glow", "yes"])
    assert wrong.exit_code == 2 and "'on', 'off'" in wrong.output
    assert listed() == {"glow": False}


def test_simulate_for_the_clinic_shows_it_once_turned_on(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIET_HOURS", "off")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    booked = (now + timedelta(days=3)).isoformat()
    args = ["simulate", "--treatment", booked, "--now", now.isoformat(), "--tz", "UTC"]
    args += ["--clinic", "glow", "--json"]
    off = json.loads(runner.invoke(app, args).stdout)
    assert "day_before" not in [row["key"] for row in off]

    runner.invoke(app, ["clinic", "day-before", "glow", "on"])
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    first, welcome = json.loads(result.stdout)[:2]
    assert first["key"] == "day_before" and welcome["key"] == "welcome"
    due = datetime.fromisoformat(first["due_at"])
    assert due == datetime.fromisoformat(first["milestone_at"])
    assert datetime.fromisoformat(welcome["milestone_at"]) - due == timedelta(days=1, hours=1)
    assert "Glow: Hi Alex, a reminder that your appointment with us is tomorrow at" in first["text"]


def test_simulate_of_an_appointment_typed_ahead_plans_it_as_booked_now(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIET_HOURS", "off")
    runner.invoke(app, ["clinic", "day-before", "glow", "on"])
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    args = ["simulate", "--treatment", "+3d", "--tz", "UTC", "--clinic", "glow", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    first, welcome = json.loads(result.stdout)[:2]
    assert (first["key"], welcome["key"]) == ("day_before", "welcome")
    treated = datetime.fromisoformat(welcome["milestone_at"]) - timedelta(hours=1)
    assert before + timedelta(days=3) <= treated <= datetime.now(UTC) + timedelta(days=3)
    assert datetime.fromisoformat(welcome["due_at"]) == treated + timedelta(hours=1)


# SQLite: Alembic cannot compare the patient list's expression index (migration 0011).
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_the_migration_adds_the_models_column(env: str) -> None:
    db = Database(env)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        differences = [
            d for d in compare_metadata(context, Base.metadata) if "day_before" in repr(d)
        ]
    db.dispose()
    assert differences == []
