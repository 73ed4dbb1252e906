"""Lane leases: one engine at a time sends on a rate-limited lane (one provider sender).

A per-process rate limiter spaces one engine's sends; with N engines on one database the
sender would see N times its rate. The lease makes the lane exclusive instead: the holder
sends, the others leave the lane alone until the lease lapses (the holder died or stopped)
and one of them takes it over. `next_send_at` carries the holder's rate across a hand-over,
so a clean stop followed by an immediate takeover cannot put two sends closer than the rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import LaneLease


@dataclass(frozen=True)
class LaneGrant:
    until: datetime  # the holder may send until then unless it renews
    taken_over: bool  # the lane was held by another engine (or nobody) before
    next_send_at: datetime | None  # earliest next send, as the previous holder left it


class LaneLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(
        self,
        lane: str,
        owner: str,
        now: datetime,
        until: datetime,
        next_send_at: datetime | None = None,
    ) -> LaneGrant | None:
        """Take or renew the lane for `owner` until `until`; None while another engine's
        lease is running. A renewal stores `next_send_at`; a takeover returns the one the
        previous holder left."""
        try:
            with self._db.session() as session:
                row = session.scalar(
                    select(LaneLease).where(LaneLease.lane == lane).with_for_update()
                )
                if row is None:
                    session.add(
                        LaneLease(
                            lane=lane, holder=owner, lease_until=until, next_send_at=next_send_at
                        )
                    )
                    return LaneGrant(until, True, None)
                if row.holder == owner:
                    row.lease_until = until
                    if next_send_at is not None:
                        row.next_send_at = next_send_at
                    return LaneGrant(until, False, row.next_send_at)
                if row.lease_until > now:
                    return None
                previous = row.next_send_at
                row.holder, row.lease_until = owner, until
                return LaneGrant(until, True, previous)
        except IntegrityError:
            return None  # another engine created the row first: it holds the lane

    def renew(
        self, lane: str, owner: str, until: datetime, next_send_at: datetime | None = None
    ) -> bool:
        """Extend a lease `owner` holds; False if another engine has taken the lane."""
        values: dict[str, object] = {"lease_until": until}
        if next_send_at is not None:
            values["next_send_at"] = next_send_at
        with self._db.session() as session:
            result = session.execute(
                update(LaneLease)
                .where(LaneLease.lane == lane, LaneLease.holder == owner)
                .values(values)
                .execution_options(synchronize_session=False)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(self, lane: str, owner: str, now: datetime, next_send_at: datetime | None) -> bool:
        """Hand the lane back (clean stop): another engine may take it at once, and will
        not send before `next_send_at`."""
        values: dict[str, object] = {"lease_until": now}
        if next_send_at is not None:
            values["next_send_at"] = next_send_at
        with self._db.session() as session:
            result = session.execute(
                update(LaneLease)
                .where(LaneLease.lane == lane, LaneLease.holder == owner)
                .values(values)
                .execution_options(synchronize_session=False)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def holder(self, lane: str) -> tuple[str, datetime] | None:
        """Who holds the lane and until when (for operators and tests)."""
        with self._db.session() as session:
            row = session.execute(
                select(LaneLease.holder, LaneLease.lease_until).where(LaneLease.lane == lane)
            ).first()
        return None if row is None else (str(row[0]), row[1])
