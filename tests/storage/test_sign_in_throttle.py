"""Failed sign-ins per key, on SQLite and PostgreSQL, and the backoff policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftercare.wiring import Core
from storage.sign_in_throttle import SignInThrottleStore, ThrottlePolicy
from tests.conftest import T0

POLICY = ThrottlePolicy(
    free_failures=3,
    first_block=timedelta(seconds=30),
    max_block=timedelta(minutes=5),
    forget_after=timedelta(minutes=15),
)


@pytest.fixture
def throttle(core: Core) -> SignInThrottleStore:
    return SignInThrottleStore(core.db)


def test_the_block_doubles_after_the_free_failures_up_to_the_cap() -> None:
    blocks = [POLICY.block_after(n) for n in range(1, 11)]

    assert blocks[:3] == [None, None, None]
    assert blocks[3:] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=5),
        timedelta(minutes=5),
        timedelta(minutes=5),
    ]
    assert POLICY.block_after(10**9) == timedelta(minutes=5)


def test_a_key_is_blocked_only_after_its_free_failures(throttle: SignInThrottleStore) -> None:
    for second in range(3):
        throttle.failed({"account:a": POLICY}, T0 + timedelta(seconds=second))
    assert throttle.blocked_until(["account:a"], T0 + timedelta(seconds=3)) is None

    throttle.failed({"account:a": POLICY}, T0 + timedelta(seconds=3))

    until = T0 + timedelta(seconds=33)
    assert throttle.blocked_until(["account:a", "address:x"], T0 + timedelta(seconds=4)) == until
    assert throttle.blocked_until(["account:b"], T0 + timedelta(seconds=4)) is None
    assert throttle.blocked_until(["account:a"], until) is None  # over when it says


def test_failures_long_ago_are_forgotten(throttle: SignInThrottleStore) -> None:
    for second in range(4):
        throttle.failed({"account:a": POLICY}, T0 + timedelta(seconds=second))

    later = T0 + timedelta(minutes=30)
    throttle.failed({"account:a": POLICY}, later)

    assert throttle.blocked_until(["account:a"], later) is None


def test_clearing_a_key_lifts_its_block(throttle: SignInThrottleStore) -> None:
    for _ in range(5):
        throttle.failed({"account:a": POLICY, "address:x": POLICY}, T0)

    throttle.clear("account:a")

    assert throttle.blocked_until(["account:a"], T0) is None
    assert throttle.blocked_until(["address:x"], T0) is not None


def test_old_unblocked_keys_are_dropped(throttle: SignInThrottleStore) -> None:
    throttle.failed({"account:old": POLICY}, T0)
    for _ in range(10):
        throttle.failed({"account:blocked": POLICY}, T0)
    throttle.failed({"account:new": POLICY}, T0 + timedelta(days=2))

    dropped = throttle.forget(T0 + timedelta(days=1), T0 + timedelta(days=2))

    assert dropped == 2  # the blocked one's block is long over too
    throttle.failed({"account:old": POLICY}, T0 + timedelta(days=2))  # starts afresh
