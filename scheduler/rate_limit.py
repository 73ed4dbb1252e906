"""A strict per-channel rate: sends are spaced at least 1/rate seconds apart.

A token bucket with a burst would let `rate + burst` messages through in one second; the
providers' limits (1/s for a US long code) are hard, so no burst is allowed. Across engines
the rate holds because only one engine at a time holds a lane (storage.lanes); the next
holder starts from where this limiter left off (`next_free`, `not_before`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.clock import Clock


class RateLimiter:
    def __init__(self, rate_per_second: float | None, clock: Clock) -> None:
        self._interval = timedelta(seconds=1 / rate_per_second) if rate_per_second else None
        self._clock = clock
        self._next: datetime | None = None
        self._paused_until: datetime | None = None

    @property
    def rate(self) -> float | None:
        return 1 / self._interval.total_seconds() if self._interval else None

    def pause(self, seconds: float) -> None:
        """The provider asked us to back off (flood control): nothing goes out until then."""
        until = self._clock.now() + timedelta(seconds=seconds)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until

    def started(self) -> None:
        """The send whose slot came is handed to the provider now (after its `sending` mark):
        the next one waits a full interval from here, so time spent between a slot and its
        provider call can never shorten the spacing the provider sees."""
        if self._interval is not None:
            after = self._clock.now() + self._interval
            if self._next is None or after > self._next:
                self._next = after

    def next_free(self) -> datetime | None:
        """The earliest instant the next send may go out (None: no rate, no pause)."""
        later = [t for t in (self._next, self._paused_until) if t is not None]
        if self._interval is None and self._paused_until is None:
            return None
        return max([self._clock.now(), *later])

    def not_before(self, instant: datetime | None) -> None:
        """Another engine sent on this sender until now: keep its spacing (and pause)."""
        if instant is not None and (self._next is None or instant > self._next):
            self._next = instant

    async def acquire(self) -> None:
        now = self._clock.now()
        slot = now
        if self._paused_until is not None and self._paused_until > slot:
            slot = self._paused_until
        if self._interval is not None:
            if self._next is not None and self._next > slot:
                slot = self._next
            # Reserve before awaiting so concurrent callers get distinct slots.
            self._next = slot + self._interval
        wait = (slot - now).total_seconds()
        if wait > 0:
            await self._clock.sleep(wait)
