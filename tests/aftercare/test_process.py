"""The service as a process: crash and restart, two engines, a patient added from the CLI."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aftercare.wiring import Core, build_core
from scheduler.clock import SystemClock
from scheduler.planning import NewPatient
from storage.models import Reminder, ReminderStatus
from tests.aftercare.process_kit import AFTERCARE, Service, poll, service_env
from tests.conftest import TABLES, make_settings

S = ReminderStatus
pytestmark = pytest.mark.slow


def seed_due_welcomes(database_url: str, count: int, *, half_by_telegram: bool = False) -> Core:
    """`count` patients whose welcome is due now (their other reminders are days away), by
    SMS, or every other one by Telegram."""
    core = build_core(make_settings(database_url), SystemClock())
    clinic = core.patients.add_clinic("glow", "Glow Skin Clinic", "+12125550100", "UTC")
    now = datetime.now(UTC)

    def patient(n: int) -> NewPatient:
        if half_by_telegram and n % 2:
            return NewPatient(f"P{n}", "UTC", telegram_chat_id=1_000_000 + n)
        return NewPatient(f"P{n}", "UTC", phone="+15550001111")

    for start in range(0, count, 5000):
        items = [(patient(n), now) for n in range(start, min(start + 5000, count))]
        core.planner.register_batch(clinic.id, items)
    return core


def welcome_statuses(core: Core) -> dict[str, int]:
    with core.db.session() as session:
        rows = session.execute(
            select(Reminder.status, func.count())
            .where(Reminder.milestone == "welcome")
            .group_by(Reminder.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def settled(core: Core) -> bool:
    statuses = welcome_statuses(core)
    return not any(statuses.get(s, 0) for s in (S.PENDING, S.CLAIMED, S.SENDING))


def test_sigkill_mid_dispatch_loses_nothing_and_sends_nothing_twice(
    sqlite_url: str, tmp_path: Path
) -> None:
    total = 1500
    core = seed_due_welcomes(sqlite_url, total)
    env = service_env(sqlite_url, CONSOLE_RATE_PER_SECOND="300", CLAIM_LEASE_SECONDS="2")
    first = Service(env, tmp_path)
    first.wait_for(lambda: len(first.reminder_ids) >= 200)
    first.kill()
    assert welcome_statuses(core).get(S.PENDING, 0) > 0, "killed too late to prove anything"

    second = Service(env, tmp_path)
    poll(lambda: settled(core))
    assert second.terminate()
    assert welcome_statuses(core).get(S.CLAIMED, 0) == 0, "a clean stop leaves no claim behind"

    printed = Counter(first.reminder_ids + second.reminder_ids)
    statuses = welcome_statuses(core)
    with core.db.session() as session:
        sent = set(session.scalars(select(Reminder.id).where(Reminder.status == S.SENT)))
        doubtful = set(session.scalars(select(Reminder.id).where(Reminder.status == S.IN_DOUBT)))
    core.close()
    assert max(printed.values()) == 1, "a reminder was sent twice"
    assert statuses.get(S.SENT, 0) + statuses.get(S.IN_DOUBT, 0) == total, statuses
    assert sent <= set(printed), "a reminder recorded as sent never went out"
    assert len(doubtful) <= 100, "more in doubt than one in-flight chunk"
    assert len(second.reminder_ids) > 0


def test_two_engines_on_one_postgresql_database_send_each_reminder_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from storage.db import Database

    db = Database(postgres_url)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    db.dispose()
    # Both engines run before anything is due, so they race for the lanes (one SMS, one
    # Telegram: each may hold one) and for the claims from their first sweeps on; small
    # batches make many claim rounds, which more reminders would not add.
    total, settings = 2_000, {"CONSOLE_RATE_PER_SECOND": "5000", "DISPATCH_BATCH_SIZE": "50"}
    engines = [Service(service_env(postgres_url, **settings), tmp_path) for _ in range(2)]
    for engine in engines:
        engine.wait_until_healthy()
    core = seed_due_welcomes(postgres_url, total, half_by_telegram=True)
    poll(lambda: settled(core), timeout=120)
    for engine in engines:
        assert engine.terminate()
    statuses = welcome_statuses(core)
    core.close()
    printed = Counter(engines[0].reminder_ids + engines[1].reminder_ids)
    assert statuses == {S.SENT: total}
    assert len(printed) == total and max(printed.values()) == 1


def test_a_patient_added_from_the_cli_gets_console_messages_at_the_due_times(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = service_env(sqlite_url)
    service = Service(env, tmp_path)
    subprocess.run(
        [
            AFTERCARE,
            "clinic",
            "add",
            "glow",
            "--name",
            "Glow Skin Clinic",
            "--phone",
            "+12125550100",
            "--timezone",
            "America/New_York",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    # Treated 24 h ago less 10 s: the welcome is due now, the makeup reminder in 10 s (room
    # for `patient add` to start on a loaded machine before the makeup time has passed).
    treated = datetime.now(UTC) - timedelta(hours=24) + timedelta(seconds=10)
    added = subprocess.run(
        [
            AFTERCARE,
            "patient",
            "add",
            "--clinic",
            "glow",
            "--external-id",
            "P1",
            "--treatment",
            treated.isoformat(),
            "--first-name",
            "Ana",
            "--phone",
            "(212) 555-0199",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "makeup" in added.stdout
    service.wait_for(lambda: len(service.reminder_ids) >= 2, timeout=40)
    sent_makeup_at = datetime.now(UTC)
    assert service.terminate()
    assert service.reminder_ids[:2] == [1, 2]
    assert sent_makeup_at >= treated + timedelta(hours=24)
    output = "".join(service.lines)
    assert "Ana" in output and "makeup" in output.lower()


def test_a_bad_setting_stops_start_up_with_the_variables_name(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = service_env(sqlite_url, QUIET_HOURS="9pm-8am")
    result = subprocess.run(
        [AFTERCARE, "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "QUIET_HOURS" in result.stderr and "HH:MM-HH:MM" in result.stderr
    assert "Traceback" not in result.stderr
