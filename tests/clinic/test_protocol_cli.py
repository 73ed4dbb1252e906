"""`aftercare clinic protocol` and `aftercare simulate --clinic`: uploads checked like
PROTOCOL_FILE, versions shown, services mapped and reset, current plans replanned."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from aftercare.cli import app
from messages.protocol_files import parse_protocol
from scheduler.planning import NewPatient
from tests.clinic.test_cli import add_clinic
from tests.conftest import make_settings
from tests.scheduler.protocol_kit import clinic_toml

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    return sqlite_url


def protocol(*args: str) -> Result:
    return runner.invoke(app, ["clinic", "protocol", *args])


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return str(path)


def test_a_bad_file_names_each_entry_and_field_and_changes_nothing(
    env: str, tmp_path: Path
) -> None:
    add_clinic()
    bad = clinic_toml().replace('key = "makeup"', 'key = "Makeup"')
    bad = bad.replace('offset = "48h"', 'offset = "48x"')
    result = protocol("glow", write(tmp_path, "bad.toml", bad))
    assert result.exit_code == 2
    assert "] (Makeup).key: String should match pattern" in result.stderr
    assert "] (sweat).offset: expected a number and a unit" in result.stderr
    assert "built-in protocol (microneedling)" in protocol("glow", "--show").stdout

    missing = protocol("glow", str(tmp_path / "nowhere.toml"))
    assert missing.exit_code == 2
    assert "nowhere.toml: cannot read" in missing.stderr


def test_an_upload_is_shown_with_its_version_and_the_toml_comes_back_as_uploaded(
    env: str, tmp_path: Path
) -> None:
    add_clinic()
    source = clinic_toml()
    uploaded = protocol("glow", write(tmp_path, "glow-v1.toml", source))
    assert uploaded.exit_code == 0, uploaded.output
    count = len(parse_protocol(source).milestones)
    assert f"version 1 (glow, {count} milestones, from glow-v1.toml)" in uploaded.stdout

    shown = protocol("glow", "--show")
    assert shown.exit_code == 0, shown.output
    assert "clinic glow: version 1, glow, from glow-v1.toml" in shown.stdout
    assert "services: none mapped" in shown.stdout
    assert "or 2h after an appointment booked ahead" in shown.stdout
    assert "sunscreen" in shown.stdout and "10 days after" in shown.stdout
    # The day-before reminder is worded as such, not as a negative offset, and said to be
    # off until the clinic turns it on.
    assert "1 day before" in shown.stdout and "-1d" not in shown.stdout
    off = "day_before: not sent, the clinic's day-before reminder is off"
    assert off in shown.stdout
    assert runner.invoke(app, ["clinic", "day-before", "glow", "on"]).exit_code == 0
    assert off not in protocol("glow", "--show").stdout
    assert protocol("glow", "--show", "--toml").stdout == source

    other = protocol("glow", write(tmp_path, "glow-v2.toml", clinic_toml(sun_after="12d")))
    assert "version 2" in other.stdout
    assert "12 days after" in protocol("glow", "--show").stdout


def test_a_service_is_mapped_shown_and_reset(env: str, tmp_path: Path) -> None:
    add_clinic()
    file = write(tmp_path, "prp.toml", clinic_toml(name="prp"))
    mapped = protocol("glow", file, "--service", "Microneedling with PRP")
    assert mapped.exit_code == 0, mapped.output
    assert "of the service 'Microneedling with PRP'" in mapped.stdout

    shown = protocol("glow", "--show").stdout
    assert "the built-in protocol (microneedling)" in shown
    assert "'Microneedling with PRP': version 1, from prp.toml" in shown
    service = protocol("glow", "--show", "--service", "microneedling with prp").stdout
    assert "version 1 (mapped to 'Microneedling with PRP'), prp" in service

    reset = protocol("glow", "--reset", "--service", "MICRONEEDLING WITH PRP")
    assert reset.exit_code == 0, reset.output
    assert "no longer has a protocol of its own" in reset.stdout
    assert "services: none mapped" in protocol("glow", "--show").stdout
    again = protocol("glow", "--reset", "--service", "Microneedling with PRP")
    assert again.exit_code == 1
    assert "no protocol is mapped to the service" in again.stderr


def test_a_reset_goes_back_to_the_built_in(env: str, tmp_path: Path) -> None:
    add_clinic()
    protocol("glow", write(tmp_path, "glow.toml", clinic_toml()))
    reset = protocol("glow", "--reset")
    assert reset.exit_code == 0, reset.output
    assert "version 2: back to the built-in protocol" in reset.stdout
    assert "the built-in protocol (microneedling)" in protocol("glow", "--show").stdout
    assert protocol("glow", "--show", "--toml").exit_code == 1
    # Already on the built-in: a second reset would be a version that changes nothing.
    again = protocol("glow", "--reset")
    assert again.exit_code == 1
    assert "clinic glow is already on the built-in protocol: nothing to reset" in again.stderr
    uploaded = protocol("glow", write(tmp_path, "glow-v2.toml", clinic_toml()))
    assert "version 3 (" in uploaded.stdout  # no version 3 was recorded by the refused reset


def test_options_that_do_not_go_together_are_refused(env: str, tmp_path: Path) -> None:
    add_clinic()
    file = write(tmp_path, "glow.toml", clinic_toml())
    for args, reason in (
        ((file, "--reset"), "give one of FILE, --show or --reset"),
        (("--show", "--reset"), "give one of FILE, --show or --reset"),
        (("--show", "--replan"), "--replan goes with FILE or --reset"),
        ((file, "--toml"), "--toml goes with --show"),
    ):
        result = protocol("glow", *args)
        assert result.exit_code == 1
        assert reason in result.stderr
    unknown = protocol("nowhere", file)
    assert unknown.exit_code == 1
    assert "no clinic 'nowhere'" in unknown.stderr


def test_replan_moves_the_current_plans_to_the_new_version(env: str, tmp_path: Path) -> None:
    from aftercare.wiring import build_core

    add_clinic()
    core = build_core(make_settings(env))
    try:
        clinic = core.patients.clinic("glow")
        treated = datetime.now(UTC) - timedelta(hours=1)
        core.planner.register(clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), treated)
    finally:
        core.close()
    kept = protocol("glow", write(tmp_path, "v1.toml", clinic_toml()))
    assert "replanned" not in kept.stdout
    moved = protocol("glow", write(tmp_path, "v2.toml", clinic_toml(sun_after="12d")), "--replan")
    assert moved.exit_code == 0, moved.output
    assert "replanned 1 current treatment(s)" in moved.stdout


def test_simulate_plans_with_the_clinics_protocol(env: str, tmp_path: Path) -> None:
    add_clinic()
    protocol("glow", write(tmp_path, "glow.toml", clinic_toml()))
    treated = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    at = treated.strftime("%Y-%m-%dT%H:%M")
    args = ["simulate", "--treatment", at, "--tz", "UTC", "--json"]
    built_in = json.loads(runner.invoke(app, args).stdout)
    own = json.loads(runner.invoke(app, [*args, "--clinic", "glow"]).stdout)
    assert built_in[-1]["key"] == own[-1]["key"] == "sunscreen"
    assert "2 weeks on." in built_in[-1]["text"]
    assert "10 days on." in own[-1]["text"]
    assert "Glow" in own[0]["text"]  # the clinic's own name in its texts
    assert datetime.fromisoformat(own[-1]["milestone_at"]) == treated + timedelta(days=10)
    assert datetime.fromisoformat(built_in[-1]["milestone_at"]) == treated + timedelta(days=14)

    unknown = runner.invoke(app, [*args, "--clinic", "nowhere"])
    assert unknown.exit_code == 1
    assert "no clinic 'nowhere'" in unknown.stderr
    lone = runner.invoke(app, [*args, "--service", "PRP"])
    assert lone.exit_code == 1
    assert "--service goes with --clinic" in lone.stderr
