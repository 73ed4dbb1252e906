"""Clinic changes made on the command line are in the audit trail like the dashboard's: by
'command line', the clinic by its slug with the version or value, in the transaction of the
change; never a file name, a service's name or a protocol's text. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftercare.cli import app
from scheduler.planning import NewPatient
from storage.audit import AuditLog, AuditQuery
from storage.db import Database
from storage.patients import PatientRepository
from tests.clinic.test_cli import add_clinic
from tests.clinic.test_protocol_cli import protocol, write
from tests.conftest import make_settings
from tests.scheduler.protocol_kit import clinic_toml

runner = CliRunner()
PRP = "Microneedling with PRP"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", database_url)
    add_clinic()
    return database_url


Entry = tuple[str, str | None, int | None, str | None, str | None]


def trail(url: str) -> list[Entry]:
    """The clinic's entries, oldest first: action, actor, staff id, target kind and id."""
    db = Database(url)
    try:
        clinic_id = PatientRepository(db).clinic("glow").id
        entries = AuditLog(db).entries(clinic_id, AuditQuery(), limit=50)
    finally:
        db.dispose()
    return [(e.action, e.actor, e.staff_id, e.target_kind, e.target_id) for e in reversed(entries)]


def by_command_line(action: str, target: str, kind: str = "clinic_protocol") -> Entry:
    return (action, "command line", None, kind, target)


def test_protocol_uploads_resets_and_replans_are_audited_by_slug_and_version(
    env: str, tmp_path: Path
) -> None:
    from aftercare.wiring import build_core

    core = build_core(make_settings(env))
    try:
        clinic = core.patients.clinic("glow")
        treated = datetime.now(UTC) - timedelta(hours=1)
        core.planner.register(clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), treated)
    finally:
        core.close()
    v1 = write(tmp_path, "glow-v1.toml", clinic_toml())
    assert protocol("glow", v1).exit_code == 0
    v2 = write(tmp_path, "glow-v2.toml", clinic_toml(sun_after="12d"))
    assert protocol("glow", v2, "--replan").exit_code == 0
    prp = write(tmp_path, "prp.toml", clinic_toml(name="prp"))
    assert protocol("glow", prp, "--service", PRP).exit_code == 0
    assert protocol("glow", "--reset", "--service", PRP).exit_code == 0
    assert protocol("glow", "--reset").exit_code == 0
    # Refused changes store nothing, so they are not in the trail either.
    assert protocol("glow", "--reset", "--service", PRP).exit_code == 1
    assert protocol("glow", "--reset").exit_code == 1  # already on the built-in
    bad = write(tmp_path, "bad.toml", clinic_toml().replace('offset = "48h"', 'offset = "48x"'))
    assert protocol("glow", bad).exit_code == 2

    entries = trail(env)
    assert entries == [
        by_command_line("protocol.upload", "glow version 1 (the clinic's)"),
        by_command_line("protocol.upload", "glow version 2 (the clinic's)"),
        by_command_line("protocol.replan", "glow version 2 (the clinic's): 1 treatment(s) moved"),
        by_command_line("protocol.upload", "glow version 3 (a service's)"),
        by_command_line("protocol.reset", "glow version 4 (a service's)"),
        by_command_line("protocol.reset", "glow version 5 (the clinic's)"),
    ]
    recorded = repr(entries)
    assert "toml" not in recorded and "PRP" not in recorded


def test_the_day_before_switch_and_days_ahead_are_audited_with_their_new_value(env: str) -> None:
    assert runner.invoke(app, ["clinic", "day-before", "glow", "on"]).exit_code == 0
    assert runner.invoke(app, ["clinic", "days-ahead", "glow", "7"]).exit_code == 0
    assert runner.invoke(app, ["clinic", "days-ahead", "glow", "90"]).exit_code == 0
    assert runner.invoke(app, ["clinic", "day-before", "glow", "off"]).exit_code == 0
    assert runner.invoke(app, ["clinic", "day-before", "nowhere", "on"]).exit_code == 1
    assert trail(env) == [
        by_command_line("clinic.day_before", "glow: on", "clinic"),
        by_command_line("clinic.days_ahead", "glow: 7 days", "clinic"),
        by_command_line("clinic.days_ahead", "glow: 90 days", "clinic"),
        by_command_line("clinic.day_before", "glow: off", "clinic"),
    ]


def test_column_names_set_on_the_command_line_are_checked_like_the_form_and_audited(
    env: str,
) -> None:
    def columns(*args: str) -> int:
        return runner.invoke(app, ["clinic", "columns", "glow", *args]).exit_code

    assert columns("--map", 'external_id="Client Number"') == 0
    # One header cell cannot feed two columns: refused, and the saved names stay.
    same = runner.invoke(app, ["clinic", "columns", "glow", "--map", "phone=client number"])
    assert same.exit_code == 1
    assert "--map phone: The same name as for external_id" in same.output
    assert columns("--reset") == 0
    assert trail(env) == [
        by_command_line("import.columns", "glow", "clinic"),
        by_command_line("import.columns", "glow", "clinic"),
    ]


def test_every_action_recorded_here_has_a_label_on_the_audit_page() -> None:
    from aftercare.dashboard.audit_rows import action_label

    for action in (
        "protocol.upload",
        "protocol.reset",
        "protocol.replan",
        "clinic.days_ahead",
        "clinic.day_before",
    ):
        assert action_label(action) != action, action
