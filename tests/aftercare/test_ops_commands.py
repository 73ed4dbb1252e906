"""The operator's commands as an operator runs them (the installed `aftercare` in a
subprocess): `doctor` against the fake providers, `stats` from the database, `db backup`
giving a SQLite file the service can use."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aftercare.wiring import build_core
from scheduler.clock import FakeClock
from scheduler.ports import SendResult
from storage.migrate import current_heads, upgrade
from tests.aftercare.process_kit import (
    AFTERCARE,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    TelegramInThread,
    TwilioInThread,
    service_env,
)
from tests.conftest import make_settings
from tests.scheduler.engine_kit import make_engine, register


def aftercare(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AFTERCARE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def providers() -> Iterator[tuple[TelegramInThread, TwilioInThread]]:
    telegram, twilio = TelegramInThread(), TwilioInThread()
    telegram.api.webhook_url = f"{PUBLIC_BASE_URL}/telegram/webhook"
    twilio.api.numbers.append(FROM_NUMBER)
    yield telegram, twilio
    telegram.close()
    twilio.close()


def test_doctor_passes_a_configuration_ready_to_go_live(
    providers: tuple[TelegramInThread, TwilioInThread], sqlite_url: str, tmp_path: Path
) -> None:
    telegram, twilio = providers
    env = service_env(sqlite_url, **telegram.env(), **twilio.env())
    result = aftercare("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "10 ok, 0 warnings, 0 failed"
    assert any(line.startswith("ok    clinic protocols") for line in lines)
    assert lines[0].startswith("ok    settings")


def test_doctor_fails_with_exit_1_naming_each_failure_and_no_secret(
    providers: tuple[TelegramInThread, TwilioInThread], sqlite_url: str, tmp_path: Path
) -> None:
    telegram, twilio = providers
    env = service_env(
        sqlite_url,
        **telegram.env(token="999:revoked-token"),
        **twilio.env(TWILIO_AUTH_TOKEN="stale-twilio-token"),
    )
    env["PUBLIC_BASE_URL"] = "http://care.example.com/"
    result = aftercare("doctor", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    failed = {c["name"]: c["detail"] for c in report["checks"] if c["status"] == "fail"}
    assert report["ok"] is False
    assert failed == {
        "public url": "PUBLIC_BASE_URL must use https, not http",
        "telegram token": "Telegram refused TELEGRAM_BOT_TOKEN (401 from getMe)",
        "twilio account": "Twilio refused the credentials (20003)",
    }
    assert all(c["fix"] for c in report["checks"] if c["status"] == "fail")
    for secret in ("revoked-token", "stale-twilio-token"):
        assert secret not in result.stdout + result.stderr


def test_doctor_reports_unreadable_settings_as_a_failed_check(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = service_env(sqlite_url, PORT="eighty")
    result = aftercare("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith("FAIL  settings  bad configuration: PORT: ")


async def test_stats_prints_the_last_days_counters_from_the_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(datetime.now(UTC))
    core = build_core(make_settings(sqlite_url), clock)
    clinic = core.patients.add_clinic(
        "glow", "Glow", "+15551234567", "America/New_York", "US", "en"
    )
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now() - timedelta(minutes=1))
    register(core, clinic, "P2", clock.now() - timedelta(minutes=1), phone="+15550002222")
    engine.sms.script(SendResult.permanent("invalid number", error_code="21211"))
    await engine.run()
    core.close()

    env = service_env(sqlite_url)
    result = aftercare("stats", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["reminders"] == [
        {"channel": "sms", "milestone": "welcome", "outcome": "failed", "count": 1},
        {"channel": "sms", "milestone": "welcome", "outcome": "sent", "count": 1},
    ]
    assert report["provider_errors"] == [{"channel": "sms", "code": "21211", "count": 1}]
    assert report["lateness_seconds"]["sent"] == 1
    assert report["queue"]["sms"]["due"] == 0
    text = aftercare("stats", env=env, cwd=tmp_path)
    assert text.returncode == 0
    assert "reminders settled" in text.stdout and "provider errors: sms 21211 1" in text.stdout


def test_stats_on_a_folder_without_a_database_says_so_in_one_line(tmp_path: Path) -> None:
    env = service_env(f"sqlite:///{tmp_path / 'none.db'}")
    result = aftercare("stats", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no database at" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_backup_taken_while_a_writer_holds_the_database_is_a_usable_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    core = build_core(make_settings(sqlite_url))
    core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York", "US", "en")
    core.close()
    # Another process is mid-transaction: the backup neither waits for it nor copies it.
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE clinic SET name = 'uncommitted'")
    target = tmp_path / "backups" / "aftercare-copy.db"
    target.parent.mkdir()
    try:
        result = aftercare("db", "backup", str(target), env=service_env(sqlite_url), cwd=tmp_path)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("backed up ")
    assert [p.name for p in target.parent.iterdir()] == ["aftercare-copy.db"]  # one file
    # The copy is a database aftercare uses as it is: migrated, with the committed data.
    copy_env = service_env(f"sqlite:///{target}")
    listed = aftercare("clinic", "list", "--json", env=copy_env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [c["name"] for c in json.loads(listed.stdout)] == ["Glow"]
    doctor = aftercare("doctor", "--json", env=copy_env, cwd=tmp_path)
    database = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "database"]
    assert database[0]["status"] == "ok"


def test_db_upgrade_says_whether_it_created_migrated_or_found_the_database_up_to_date(
    tmp_path: Path,
) -> None:
    path = tmp_path / "aftercare.db"
    env = service_env(f"sqlite:///{path}")
    [head] = current_heads(f"sqlite:///{path}")

    def said() -> str:
        result = aftercare("db", "upgrade", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return " ".join(result.stdout.split())

    assert said() == f"created the database at revision {head}: {path}"
    assert said() == f"the database is up to date (revision {head}): {path}"
    older = tmp_path / "older.db"
    upgrade(f"sqlite:///{older}", "0014")
    env = service_env(f"sqlite:///{older}")
    assert said() == f"migrated the database from revision 0014 to {head}: {older}"


def test_a_backup_never_overwrites_a_file(sqlite_url: str, tmp_path: Path) -> None:
    target = tmp_path / "taken.db"
    target.write_text("precious")
    result = aftercare("db", "backup", str(target), env=service_env(sqlite_url), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {target} exists: choose a new file name (a backup never overwrites)"
    ]
    assert target.read_text() == "precious"


def test_a_postgresql_backup_is_left_to_pg_dump(tmp_path: Path) -> None:
    url = "postgresql://aftercare:s3cret-pw@db.internal:5433/care"
    result = aftercare("db", "backup", "out.dump", env=service_env(url), cwd=tmp_path)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "pg_dump --host db.internal --port 5433 --username aftercare" in line
    assert "--file out.dump care" in line
    assert "s3cret-pw" not in line
    assert not (tmp_path / "out.dump").exists()
