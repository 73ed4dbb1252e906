from __future__ import annotations

from datetime import timedelta

from aftercare.wiring import Core
from bot.memory import MemoryChannel
from scheduler.clock import FakeClock
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.planning import NewPatient
from scheduler.rate_limit import RateLimiter
from storage.patients import ClinicView


async def test_a_registered_patient_gets_the_welcome_then_the_makeup_reminder(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    channel = MemoryChannel("sms", now=clock.now)
    lane = ChannelLane("sms", channel, RateLimiter(None, clock))
    dispatcher = Dispatcher(
        core.reminders,
        core.patients,
        [lane],
        core.protocols,
        core.protocol,
        clock,
        DispatchConfig(),
    )
    core.planner.register(
        clinic.id,
        NewPatient("P1", "America/New_York", first_name="Ana", phone="+15550001111"),
        clock.now() - timedelta(hours=1),
    )
    assert await dispatcher.dispatch_due() == 1
    clock.advance(timedelta(hours=23))
    assert await dispatcher.dispatch_due() == 2  # makeup, and the 24-hour check-in
    assert [d.message.reminder_id for d in channel.sent] == [1, 2, 3]
    assert "Ana" in channel.sent[1].message.text
    assert "How does your skin feel today?" in channel.sent[2].message.text.replace("how", "How")
