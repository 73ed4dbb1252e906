"""End to end in real time: invite, then a reminder due seconds later arrives on time, once.

The only test here on the system clock: the real DispatchService (APScheduler) wakes for
the due time; the fake Bot API notes when the sendMessage arrives.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from aftercare.wiring import build_core, build_runtime
from scheduler.clock import SystemClock
from storage.models import Reminder
from tests.bot.telegram.conftest import CHAT, enrol, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi

LEAD = timedelta(seconds=2)


async def test_a_reminder_due_seconds_after_binding_arrives_within_a_second_once(
    sqlite_url: str, fake_api: FakeTelegramApi
) -> None:
    core = build_core(telegram_settings(sqlite_url, fake_api), SystemClock())
    clinic = core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York")
    runtime = build_runtime(core)
    await runtime.start()
    try:
        # Treated 24 h ago minus LEAD: the makeup reminder (24 h) falls due in LEAD.
        registration, token = enrol(core, clinic, timedelta(hours=24) - LEAD)
        due_at = next(p.due_at for p in registration.planned if p.key == "makeup")
        await fake_api.conversation(
            CHAT, lambda: fake_api.user_says(CHAT, f"/start {token}"), replies=3
        )

        def makeup_messages() -> list[object]:
            return [c for c in fake_api.sent(CHAT) if "<b>Makeup can go back on</b>" in c.text]

        await fake_api.wait_for(lambda _: bool(makeup_messages()), within=5)
        [arrived] = [c for c in fake_api.sent(CHAT) if "<b>Makeup can go back on</b>" in c.text]
        lateness = arrived.wall - due_at.timestamp()
        print(f"\nmakeup reminder arrived {lateness * 1000:.0f} ms after its due time")
        assert 0 <= lateness < 1.0

        await runtime.service.wake()  # another pass finds nothing more to send
        assert len(makeup_messages()) == 1
        with core.db.session() as session:
            row = session.scalars(
                select(Reminder).where(
                    Reminder.patient_id == registration.patient_id,
                    Reminder.milestone == "makeup",
                )
            ).one()
            assert row.status == "sent" and row.attempts == 1
    finally:
        await runtime.stop()
        core.close()
