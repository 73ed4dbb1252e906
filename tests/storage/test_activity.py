"""Counts from the database: the queue depth (for /metrics) and the last day's activity (for
`aftercare stats`), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

from aftercare.wiring import Core, build_core
from scheduler.clock import FakeClock
from scheduler.ports import SendResult
from storage.activity import activity, queue_depth
from storage.conversations import ConversationRepository
from storage.db import Database
from storage.patients import ClinicView
from storage.reading import read_only_engine
from tests.conftest import make_settings
from tests.scheduler.engine_kit import make_engine, register, reminders


def test_the_queue_depth_counts_pending_reminders_due_now_and_in_all_per_channel(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    first = register(core, clinic, "P1", clock.now())
    register(core, clinic, "P2", clock.now() - timedelta(hours=30), chat_id=77, phone=None)
    planned = len(first.planned)
    depth = queue_depth(read_only_engine(core.db), clock.now())
    # P1 (SMS): only the welcome is due at registration. P2 (Telegram), treated 30 h ago:
    # the welcome, and none of the milestones already past (the welcome lists them).
    assert depth["sms"] == (1, planned)
    telegram_due, telegram_total = depth["telegram"]
    assert telegram_due == 1 and 1 <= telegram_total < planned
    clock.advance(timedelta(days=30))
    assert queue_depth(read_only_engine(core.db), clock.now())["sms"] == (planned, planned)


def say(core: Core, at_hours_ago: float, clock: FakeClock, category: str | None) -> None:
    ConversationRepository(core.db).record(
        patient_id=None,
        clinic_id=None,
        channel="telegram",
        inbound_text="text",
        reply_text="reply",
        topic=category or "makeup",
        language="en",
        category=category,
        at=clock.now() - timedelta(hours=at_hours_ago),
        alert_quiet_period=timedelta(hours=1),
    )


async def test_the_last_day_counts_outcomes_lateness_errors_messages_and_escalations(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    register(core, clinic, "P2", clock.now(), phone="+15550002222")
    register(core, clinic, "P3", clock.now(), phone="+15550003333")
    clock.advance(3)
    engine.sms.script(
        SendResult.sent("SM1"),
        SendResult.permanent("invalid number", error_code="21211", unreachable=True),
    )
    # P3's welcome: handed to a provider by an engine that then died.
    dead = core.reminders.claim_due("sms", clock.now(), 1, "dead", clock.now())
    core.reminders.mark_sending([dead[0].id], "dead")
    assert await engine.run() == 1
    clock.advance(1)
    assert core.reminders.recover_expired_claims(clock.now()).in_doubt == 1
    say(core, 1, clock, "red_flag")
    say(core, 2, clock, None)
    say(core, 25, clock, "emergency")  # more than a day ago: not counted

    day = activity(core.db, clock.now())

    assert day.reminders == {
        ("sms", "welcome", "sent"): 1,
        ("sms", "welcome", "failed"): 1,
        ("sms", "welcome", "in_doubt"): 1,
    }
    assert day.lateness_seconds == [3.0]
    assert day.provider_errors == {("sms", "21211"): 1}
    assert day.inbound == {"telegram": 2}
    assert day.escalations == {"red_flag": 1}
    assert day.queue["sms"][0] == 0
    # A day later none of that is in the window.
    clock.advance(timedelta(days=1))
    later = activity(core.db, clock.now())
    assert not later.reminders and not later.inbound and not later.escalations


def test_settling_records_when_and_a_retry_does_not(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    register(core, clinic, "P1", clock.now())
    expires = reminders(core)["welcome"].expires_at
    clock.set(expires)
    assert core.reminders.expire_overdue_by(clock.now()) == {("sms", "welcome"): 1}
    assert reminders(core)["welcome"].settled_at == expires
    assert reminders(core)["makeup"].settled_at is None


def test_counting_never_waits_for_the_sqlite_write_lock(sqlite_url: str, clock: FakeClock) -> None:
    """A writer holds the lock (as the dispatcher does while it records): the counts are
    read from the last committed snapshot at once, not after the writer is done."""
    core = build_core(make_settings(sqlite_url), clock)
    clinic = core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York")
    register(core, clinic, "P1", clock.now())
    core.close()
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE reminder SET status = 'sent'")
    try:
        started = time.monotonic()
        depth = queue_depth(read_only_engine(Database(sqlite_url)), clock.now())
        waited = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert depth["sms"][1] > 0  # the uncommitted update is not seen
    assert waited < 5  # the busy timeout is 30 s
