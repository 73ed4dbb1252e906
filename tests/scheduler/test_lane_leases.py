"""A sender's rate across engines: one engine at a time sends on a rate-limited lane, and
another takes over when its lease lapses or it hands the lane back (both databases)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import pairwise

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from storage.patients import ClinicView
from tests.scheduler.engine_kit import Engine, make_engine, register

LEASE = timedelta(seconds=60)


def enroll(core: Core, clinic: ClinicView, clock: FakeClock, first: int, count: int) -> None:
    for n in range(first, first + count):
        register(core, clinic, f"P{n}", clock.now())


def send_times(*engines: Engine) -> list[float]:
    return sorted(d.at.timestamp() for e in engines for d in e.sms.sent if d.at is not None)


async def test_two_engines_with_a_rate_send_on_the_lane_one_at_a_time(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, clock, 0, 12)
    first = make_engine(core, clock, sms_rate=4, owner="engine-a")
    second = make_engine(core, clock, sms_rate=4, owner="engine-b")

    counts = await asyncio.gather(first.run(), second.run(), first.run(), second.run())

    assert sum(counts) == 12
    senders = [e for e in (first, second) if e.sms.sent]
    assert len(senders) == 1, "both engines sent on one sender"
    [idle] = [e for e in (first, second) if e not in senders]
    assert "sms" not in idle.dispatcher.sending_lanes()
    assert "telegram" in idle.dispatcher.sending_lanes()  # no rate: no lease, both send
    assert all(b - a >= 0.25 for a, b in pairwise(send_times(first, second)))


async def test_another_engine_takes_over_once_the_lease_lapses(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, clock, 0, 2)
    dead = make_engine(core, clock, sms_rate=1, owner="engine-a")
    heir = make_engine(core, clock, sms_rate=1, owner="engine-b")
    assert await dead.run() == 2
    enroll(core, clinic, clock, 2, 2)  # then engine-a died: nobody renews its lease

    assert await heir.run() == 0
    clock.advance(LEASE - timedelta(seconds=3))
    assert await heir.run() == 0, "taken over before the lease lapsed"
    clock.advance(timedelta(seconds=2))
    assert await heir.run() == 2
    holder = core.reminders.lanes.holder("sms")
    assert holder is not None and holder[0] == "engine-b"


async def test_a_lane_handed_back_is_taken_at_once_without_breaking_the_rate(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, clock, 0, 3)
    leaving = make_engine(core, clock, sms_rate=1, owner="engine-a")
    staying = make_engine(core, clock, sms_rate=1, owner="engine-b")
    assert await leaving.run() == 3
    await leaving.dispatcher.release_lanes()  # a clean stop
    enroll(core, clinic, clock, 3, 3)

    assert await staying.run() == 3

    times = send_times(leaving, staying)
    assert len(times) == 6
    assert all(b - a >= 1.0 for a, b in pairwise(times))


async def test_an_engine_that_lost_its_lane_stops_sending_on_it(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, clock, 0, 1)
    stalled = make_engine(core, clock, sms_rate=1, owner="engine-a")
    other = make_engine(core, clock, sms_rate=1, owner="engine-b")
    assert await stalled.run() == 1
    clock.advance(LEASE + timedelta(seconds=1))  # engine-a hung past its lease
    enroll(core, clinic, clock, 1, 2)
    assert await other.run() == 2

    await stalled.dispatcher.renew_lanes()

    assert "sms" not in stalled.dispatcher.sending_lanes()
    enroll(core, clinic, clock, 3, 1)
    assert await stalled.run() == 0
    assert await other.run() == 1
