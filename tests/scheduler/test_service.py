"""APScheduler drives the timing: the wake-up job fires at the due time, not at the next sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aftercare.settings import Settings
from aftercare.wiring import build_core
from bot.memory import MemoryChannel
from scheduler.clock import SystemClock
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.planning import NewPatient
from scheduler.rate_limit import RateLimiter
from scheduler.service import DispatchService
from tests.conftest import make_settings


class NotifyingChannel(MemoryChannel):
    def __init__(self) -> None:
        super().__init__("sms", now=lambda: datetime.now(UTC))
        self.arrived = asyncio.Event()

    async def send(self, message):  # type: ignore[no-untyped-def]
        result = await super().send(message)
        self.arrived.set()
        return result


async def test_a_reminder_added_while_running_is_sent_at_its_due_time(database_url: str) -> None:
    settings: Settings = make_settings(database_url)
    core = build_core(settings, SystemClock())
    clinic = core.patients.add_clinic("glow", "Glow", "+15551234567", "UTC")
    channel = NotifyingChannel()
    lane = ChannelLane("sms", channel, RateLimiter(None, core.clock))
    dispatcher = Dispatcher(
        core.reminders,
        core.patients,
        [lane],
        core.protocols,
        core.protocol,
        core.clock,
        DispatchConfig(),
    )
    # A sweep interval far longer than the test: only the wake-up job can deliver in time.
    service = DispatchService(dispatcher, sweep_interval=3600)
    await service.start()
    core.planner.subscribe(service.notify)
    try:
        await asyncio.wait_for(service.ready.wait(), 5)
        # Treated 24 h ago minus 1.5 s: the makeup reminder falls due 1.5 s from now.
        treated = datetime.now(UTC) - timedelta(hours=24) + timedelta(seconds=1.5)
        registration = core.planner.register(
            clinic.id, NewPatient("P1", "UTC", phone="+15550001111"), treated
        )
        due = next(p.due_at for p in registration.planned if p.key == "makeup")
        await asyncio.wait_for(channel.arrived.wait(), 5)  # the welcome, at once
        channel.arrived.clear()
        # The makeup reminder, with the 24-hour check-in due at the same moment.
        while len(channel.sent) < 3:
            await asyncio.wait_for(channel.arrived.wait(), 5)
            channel.arrived.clear()
        makeup = next(d for d in channel.sent if "24h on" in d.message.text)
        assert makeup.at is not None
        lateness = (makeup.at - due).total_seconds()
        assert 0 <= lateness < 1.0
        assert len(channel.sent) == 3
    finally:
        await service.stop()
        core.close()
