"""Lane leases on SQLite and PostgreSQL: one engine at a time holds a sender's lane."""

from __future__ import annotations

import threading
from datetime import timedelta

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from storage.lanes import LaneLeases

LEASE = timedelta(seconds=60)


def test_the_first_engine_takes_the_lane_and_the_second_waits(core: Core, clock: FakeClock) -> None:
    lanes = LaneLeases(core.db)
    now = clock.now()
    grant = lanes.acquire("sms", "engine-a", now, now + LEASE)
    assert grant is not None and grant.taken_over and grant.until == now + LEASE
    assert lanes.acquire("sms", "engine-b", now, now + LEASE) is None
    assert lanes.acquire("telegram", "engine-b", now, now + LEASE) is not None
    assert lanes.holder("sms") == ("engine-a", now + LEASE)


def test_the_holder_renews_and_keeps_its_rate_for_whoever_comes_next(
    core: Core, clock: FakeClock
) -> None:
    lanes = LaneLeases(core.db)
    start = clock.now()
    lanes.acquire("sms", "engine-a", start, start + LEASE)
    clock.advance(50)
    next_send = clock.now() + timedelta(seconds=1)
    renewed = lanes.acquire("sms", "engine-a", clock.now(), clock.now() + LEASE, next_send)
    assert renewed is not None and not renewed.taken_over
    clock.advance(30)  # the first lease would have lapsed; the renewed one has not
    assert lanes.acquire("sms", "engine-b", clock.now(), clock.now() + LEASE) is None
    assert lanes.renew("sms", "engine-a", clock.now() + LEASE, next_send)


def test_a_lapsed_lease_is_taken_over_with_the_previous_holders_next_send(
    core: Core, clock: FakeClock
) -> None:
    lanes = LaneLeases(core.db)
    now = clock.now()
    next_send = now + timedelta(seconds=1)
    lanes.acquire("sms", "engine-a", now, now + LEASE, next_send)
    lanes.renew("sms", "engine-a", now + LEASE, next_send)
    clock.advance(LEASE)  # engine-a died: nothing renewed it
    grant = lanes.acquire("sms", "engine-b", clock.now(), clock.now() + LEASE)
    assert grant is not None and grant.taken_over
    assert grant.next_send_at == next_send
    assert lanes.holder("sms") == ("engine-b", clock.now() + LEASE)
    # The old holder finds out when it next renews, and stops sending.
    assert not lanes.renew("sms", "engine-a", clock.now() + LEASE)


def test_a_released_lane_is_free_at_once_but_not_before_the_next_send(
    core: Core, clock: FakeClock
) -> None:
    lanes = LaneLeases(core.db)
    now = clock.now()
    lanes.acquire("sms", "engine-a", now, now + LEASE)
    next_send = now + timedelta(milliseconds=700)
    assert lanes.release("sms", "engine-a", now, next_send)
    grant = lanes.acquire("sms", "engine-b", now, now + LEASE)
    assert grant is not None and grant.next_send_at == next_send
    assert not lanes.release("sms", "engine-a", now, None), "no longer engine-a's to release"


def test_engines_racing_for_a_new_lane_get_it_once(core: Core, clock: FakeClock) -> None:
    lanes = LaneLeases(core.db)
    now = clock.now()
    barrier = threading.Barrier(4)
    grants: dict[str, bool] = {}

    def race(owner: str) -> None:
        barrier.wait()
        grants[owner] = lanes.acquire("sms", owner, now, now + LEASE) is not None

    threads = [threading.Thread(target=race, args=(f"engine-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(grants.values()) == 1
    [winner] = [owner for owner, won in grants.items() if won]
    assert lanes.holder("sms") == (winner, now + LEASE)
