"""Failed sign-ins counted per key (an account, an address, a browser that signed in
before), kept in the database so every process on it counts the same attempts.

The policy is a pure function of the failure count: a few free failures, then each
further one blocks the key for twice as long as the last, up to a short cap, so even an
attacker who keeps failing never locks the right password out for longer than the cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import SignInThrottle


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int
    first_block: timedelta
    max_block: timedelta
    forget_after: timedelta  # a key with no failure for this long starts afresh

    def block_after(self, failures: int) -> timedelta | None:
        """How long a key is blocked once it has this many recent failures."""
        over = failures - self.free_failures
        if over <= 0:
            return None
        # Capped before multiplying, so a huge count cannot overflow timedelta.
        block: timedelta = self.first_block * 2 ** min(over - 1, 30)
        return min(block, self.max_block)


class SignInThrottleStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def blocked_until(self, keys: Iterable[str], now: datetime) -> datetime | None:
        """The latest end of a block in force on any of the keys, or None."""
        wanted = list(keys)
        if not wanted:
            return None
        with self._db.session() as session:
            ends = [
                end
                for end in session.scalars(
                    select(SignInThrottle.blocked_until).where(
                        SignInThrottle.key.in_(wanted), SignInThrottle.blocked_until > now
                    )
                )
                if end is not None
            ]
        return max(ends, default=None)

    def failed(self, policies: Mapping[str, ThrottlePolicy], now: datetime) -> None:
        """Count one failure against each key, under that key's policy."""
        for key, policy in policies.items():
            for last_try in (False, True):
                try:
                    self._count(key, policy, now)
                    break
                except IntegrityError:  # another process made the row first: count again
                    if last_try:
                        raise

    def _count(self, key: str, policy: ThrottlePolicy, now: datetime) -> None:
        with self._db.session() as session:
            row = session.get(SignInThrottle, key, with_for_update=True)
            if row is None:
                row = SignInThrottle(key=key, failures=0, last_failure_at=now)
                session.add(row)
            elif now - row.last_failure_at >= policy.forget_after:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            block = policy.block_after(row.failures)
            row.blocked_until = now + block if block is not None else None

    def clear(self, key: str) -> None:
        with self._db.session() as session:
            session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))

    def forget(self, failed_before: datetime, now: datetime) -> int:
        """Drop keys with no recent failure and no block in force (bounded table)."""
        with self._db.session() as session:
            gone = session.execute(
                delete(SignInThrottle).where(
                    SignInThrottle.last_failure_at < failed_before,
                    (SignInThrottle.blocked_until.is_(None))
                    | (SignInThrottle.blocked_until <= now),
                )
            )
            return int(gone.rowcount)  # type: ignore[attr-defined]
