"""`aftercare clinic ...` and `aftercare enroll`: keys shown once, exit codes, the report."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from aftercare.cli import app
from clinic.keys import hash_api_key
from storage.audit import AuditLog, AuditQuery
from storage.db import Database
from storage.enrollment import EnrollmentStore
from storage.patients import PatientRepository

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "GlowClinicBot")
    return sqlite_url


def add_clinic(slug: str = "glow") -> str:
    result = runner.invoke(
        app,
        [
            *("clinic", "add", slug, "--name", "Glow", "--phone", "+12125550100"),
            *("--timezone", "America/New_York", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["slug"] == slug
    return str(printed["api_key"])


def test_the_key_is_printed_once_and_only_its_hash_is_stored(env: str) -> None:
    key = add_clinic()
    db = Database(env)
    store = EnrollmentStore(db)
    assert store.profile_for_key_hash(hash_api_key(key)) is not None
    rotated = runner.invoke(app, ["clinic", "key", "rotate", "glow", "--json"])
    new_key = json.loads(rotated.stdout)["api_key"]
    assert new_key != key
    assert store.profile_for_key_hash(hash_api_key(key)) is None
    assert store.profile_for_key_hash(hash_api_key(new_key)) is not None
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT api_key_hash FROM clinic").scalar_one()
    assert new_key not in stored
    db.dispose()
    listed = json.loads(runner.invoke(app, ["clinic", "list", "--json"]).stdout)
    assert [(c["slug"], c["api_key"], c["patients"]) for c in listed] == [("glow", True, 0)]


def test_a_key_rotated_on_the_command_line_is_audited_by_ids_without_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    first_key = add_clinic()
    assert runner.invoke(app, ["clinic", "key", "rotate", "nowhere"]).exit_code == 1
    rotated = runner.invoke(app, ["clinic", "key", "rotate", "glow", "--json"])
    assert rotated.exit_code == 0, rotated.output
    new_key = json.loads(rotated.stdout)["api_key"]

    db = Database(database_url)
    try:
        clinic_id = PatientRepository(db).clinic("glow").id
        entries = AuditLog(db).entries(clinic_id, AuditQuery(), limit=10)
    finally:
        db.dispose()
    assert [(e.action, e.actor, e.staff_id, e.target_kind, e.target_id) for e in entries] == [
        ("api_key.rotate", "command line", None, "clinic", "glow")
    ]
    recorded = repr(entries)
    assert first_key not in recorded and new_key not in recorded


def recent(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%MZ")


def test_enroll_exit_codes_summary_and_escaped_report(env: str, tmp_path: Path) -> None:
    add_clinic()
    good = tmp_path / "good.csv"
    good.write_text(f"external_id,treatment_at,phone\nG1,{recent(2)},(212) 555-0101\n")
    assert runner.invoke(app, ["enroll", str(good), "--clinic", "glow"]).exit_code == 0

    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "external_id,treatment_at,first_name\n"
        f"=1+2,{recent(3)},@SUM(A1)\n"
        f"M2,{recent(3)},-x\n"
        "M3,not a date,Zed\n"
    )
    report = tmp_path / "report.csv"
    result = runner.invoke(app, ["enroll", str(mixed), "--clinic", "glow", "--report", str(report)])
    assert result.exit_code == 2, result.output
    assert "3 rows: 2 created, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["row", "external_id", "status", "action", "errors", "invite_url"]
    assert rows[1][:5] == ["2", "'=1+2", "created", "created", ""]
    assert rows[1][5].startswith("https://t.me/GlowClinicBot?start=")
    assert rows[3] == [
        "4",
        "M3",
        "rejected",
        "",
        "treatment_at: not a date and time: 'not a date' (use ISO 8601 such as 2026-03-01T14:30)",
        "",
    ]

    as_json = runner.invoke(app, ["enroll", str(mixed), "--clinic", "glow", "--json"])
    assert as_json.exit_code == 2
    body = json.loads(as_json.stdout)
    assert (body["created"], body["unchanged"], body["rejected"]) == (0, 2, 1)


def test_enroll_exits_1_when_nothing_can_be_read(env: str, tmp_path: Path) -> None:
    add_clinic()
    bad = tmp_path / "bad.csv"
    bad.write_text("name,date\nx,y\n")
    result = runner.invoke(app, ["enroll", str(bad), "--clinic", "glow", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"].startswith(f"{bad}: missing required column(s)")
    missing = runner.invoke(app, ["enroll", str(bad), "--clinic", "nobody"])
    assert missing.exit_code == 1


def clinic_add(*args: str) -> Result:
    base = {"--name": "Glow", "--phone": "+12125550100", "--timezone": "America/New_York"}
    options = [item for pair in base.items() if pair[0] not in args for item in pair]
    return runner.invoke(app, ["clinic", "add", *args, *options])


def stored_clinics(database_url: str) -> list[tuple[str, ...]]:
    db = Database(database_url)
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT slug, name, phone, timezone, country, language FROM clinic ORDER BY slug"
        ).all()
    db.dispose()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("", "slug: must not be empty"),
        ("x" * 70, "slug: is 70 characters long"),
        ("x'; DROP TABLE clinic;--", 'contains "\'"'),
        ("ü ü/../x", "contains 'ü'"),
        ("Glow", "contains 'G'"),
    ],
)
def test_clinic_add_refuses_a_slug_outside_a_to_z_digits_and_dashes(
    env: str, slug: str, reason: str
) -> None:
    result = clinic_add(slug)
    assert result.exit_code == 1
    assert reason in result.stderr
    assert "lower-case letters (a-z), digits or '-'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert stored_clinics(env) == []


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--phone", "not a phone"), "--phone: not a phone number: 'not a phone'"),
        (("--phone", "n"), "--phone: not a phone number: 'n'"),
        (("--phone", "555"), "--phone: not a valid phone number for US: '555'"),
        (("--phone", "+1 555 123 4567"), "--phone: not a valid phone number for US"),
        (("--phone", "91 123 45 67"), "--phone: not a valid phone number for US"),
        (("--language", "fr"), "--language: must be en or es, got 'fr'"),
        (("--timezone", "Moon/Base"), "--timezone: unknown time zone 'Moon/Base'"),
        (("--timezone", "america/new_york"), "did you mean America/New_York?"),
        (("--timezone", "localtime"), "--timezone: unknown time zone 'localtime'"),
        (("--country", "XX"), "--country: must be a two-letter country code"),
        (("--name", " "), "--name: must not be empty"),
    ],
)
def test_clinic_add_refuses_each_bad_value_in_one_line_and_stores_nothing(
    env: str, args: tuple[str, ...], reason: str
) -> None:
    result = clinic_add("glow", *args)
    assert result.exit_code == 1
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert stored_clinics(env) == []


def test_clinic_add_stores_the_phone_in_e164_read_in_the_clinics_country(env: str) -> None:
    assert clinic_add("glow", "--phone", "(212) 555-0100").exit_code == 0
    madrid = clinic_add(
        "sol",
        "--phone",
        "911 23 45 67",
        "--country",
        "es",
        "--timezone",
        "Europe/Madrid",
        "--language",
        "es",
    )
    assert madrid.exit_code == 0, madrid.output
    assert stored_clinics(env) == [
        ("glow", "Glow", "+12125550100", "America/New_York", "US", "en"),
        ("sol", "Glow", "+34911234567", "Europe/Madrid", "ES", "es"),
    ]


def test_clinic_set_changes_settings_with_the_same_checks(env: str) -> None:
    add_clinic()
    refused = [
        ("--language", "fr"),
        ("--timezone", "Mars/Olympus"),
        ("--phone", "not a phone"),
        ("--country", "Spain"),
    ]
    for option, value in refused:
        result = runner.invoke(app, ["clinic", "set", "glow", option, value])
        assert result.exit_code == 1, (option, result.output)
        assert f"{option}: " in result.stderr
    assert stored_clinics(env) == [("glow", "Glow", "+12125550100", "America/New_York", "US", "en")]

    changed = runner.invoke(
        app,
        [
            *("clinic", "set", "glow", "--country", "ES", "--phone", "911 23 45 67"),
            *("--timezone", "Europe/Madrid", "--language", "es", "--name", "Glow Madrid"),
        ],
    )
    assert changed.exit_code == 0, changed.output
    assert stored_clinics(env) == [
        ("glow", "Glow Madrid", "+34911234567", "Europe/Madrid", "ES", "es")
    ]
    assert runner.invoke(app, ["clinic", "set", "nobody", "--language", "en"]).exit_code == 1
    assert runner.invoke(app, ["clinic", "set", "glow"]).exit_code == 1
