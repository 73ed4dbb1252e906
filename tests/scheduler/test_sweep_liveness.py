"""A sweep marks the engine alive even while an earlier sweep is still sending a backlog, so
a busy engine is never reported as stalled and expired claims are still recovered."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aftercare.wiring import Core
from bot.memory import MemoryChannel
from scheduler.clock import FakeClock
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.planning import NewPatient
from scheduler.ports import OutboundMessage, SendResult
from scheduler.rate_limit import RateLimiter
from scheduler.service import DispatchService
from storage.patients import ClinicView


class HeldChannel(MemoryChannel):
    """Sends wait until released, like a slow provider with a long queue ahead."""

    def __init__(self) -> None:
        super().__init__("sms")
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()

    async def send(self, message: OutboundMessage) -> SendResult:
        self.waiting.set()
        await self.release.wait()
        return await super().send(message)


async def test_sweeps_keep_marking_the_engine_alive_while_a_drain_is_sending(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    channel = HeldChannel()
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
    service = DispatchService(dispatcher, sweep_interval=15)
    core.planner.register(clinic.id, NewPatient("P1", "UTC", phone="+12125550101"), clock.now())

    await asyncio.wait_for(service.sweep_job(), 5)
    await asyncio.wait_for(channel.waiting.wait(), 5)  # the welcome is being sent, and waits
    for _ in range(4):
        clock.advance(15)
        await asyncio.wait_for(service.sweep_job(), 5)  # returns although sending still waits
        assert service.last_sweep_at == clock.now()
        assert service.sweep_overdue(clock.now()) is None

    clock.advance(timedelta(seconds=46))
    assert service.sweep_overdue(clock.now()) == timedelta(seconds=46)

    channel.release.set()
    await service.stop()
    assert len(channel.sent) == 1
