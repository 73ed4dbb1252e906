"""APScheduler drives the timing; the reminders table remains the only queue.

Jobs: `wake` (a date job armed at the earliest pending due time, re-armed after each run and
whenever an earlier reminder is added in this process), `sweep` (every few seconds: recovers
expired claims, expires overdue reminders, picks up rows written by other processes),
`heartbeat` (renews this engine's leases) and `maintenance` (hourly housekeeping).

Each sweep's recovery step marks the engine alive (`last_sweep_at`, on the injected clock);
no mark for STALL_INTERVALS sweep intervals means the dispatcher is stalled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from scheduler.dispatcher import Dispatcher
from scheduler.observe import Swept

log = logging.getLogger(__name__)

STALL_INTERVALS = 3
# The hourly purge of old personal data (README: retention), given the current instant;
# returns what it removed, by kind, for the log.
Purge = Callable[[datetime], dict[str, int]]


class DispatchService:
    def __init__(
        self, dispatcher: Dispatcher, sweep_interval: float, purge: Purge | None = None
    ) -> None:
        self.dispatcher = dispatcher
        self.sweep_interval = sweep_interval
        self._purge = purge
        self._scheduler: AsyncIOScheduler | None = None
        self._armed_at: datetime | None = None
        self._sweep_sending: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        # Until the first sweep, stall time counts from when the engine was made.
        self._alive_since = dispatcher.clock.now()
        self.last_sweep_at: datetime | None = None

    async def start(self) -> None:
        """Needs the running loop: AsyncIOScheduler binds to it on start."""
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            # misfire_grace_time=None: a job that fires late still runs (default is 1 s).
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        lease = self.dispatcher.config.lease.total_seconds()
        now = datetime.now(UTC)
        scheduler.add_job(
            self.sweep_job,
            "interval",
            seconds=self.sweep_interval,
            id="sweep",
            next_run_time=now,
        )
        scheduler.add_job(self.heartbeat, "interval", seconds=max(lease / 3, 0.5), id="heartbeat")
        scheduler.add_job(self.maintenance, "interval", hours=1, id="maintenance")
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        """Let the chunk in flight finish, then hand unsent claims back."""
        self.dispatcher.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await self.dispatcher.idle()
        if self._sweep_sending is not None:
            await asyncio.gather(self._sweep_sending, return_exceptions=True)
        released = await asyncio.to_thread(self.dispatcher.reminders.release, self.dispatcher.owner)
        await self.dispatcher.release_lanes()
        log.info("dispatch stopped; %s unsent claims released", released)

    def notify(self, due_at: datetime) -> None:
        """A reminder was added in this process: wake earlier if it is due sooner."""
        if self._armed_at is None or due_at < self._armed_at:
            self._arm(due_at)

    def sweep_overdue(self, now: datetime) -> timedelta | None:
        """How long since the last sweep, when that is more than STALL_INTERVALS intervals."""
        since = now - (self.last_sweep_at or self._alive_since)
        if since > timedelta(seconds=self.sweep_interval * STALL_INTERVALS):
            return since
        return None

    async def sweep(self) -> None:
        """Recover claims and expire what is overdue, then send everything due."""
        await self._recover()
        await self.wake()
        self.ready.set()

    async def sweep_job(self) -> None:
        """What the scheduler runs every interval: recovery now, sending in the background."""
        # Sending a backlog at 1 SMS/s can take many intervals. Had the job awaited it, the
        # next sweeps would be skipped (one instance at a time): no recovery, and an engine
        # that is busy sending would look stalled. Recovery runs every interval; sending
        # continues in the background, one sweep-started drain at a time.
        await self._recover()
        if self._sweep_sending is None or self._sweep_sending.done():
            self._sweep_sending = asyncio.create_task(self._send_after_sweep())

    async def _send_after_sweep(self) -> None:
        try:
            await self.wake()
        except Exception:
            log.exception("sweep: sending failed; the next sweep tries again")
            return
        self.ready.set()

    async def _recover(self) -> None:
        now = self.dispatcher.clock.now()
        repo = self.dispatcher.reminders
        recovery = await asyncio.to_thread(repo.recover_expired_claims, now)
        expired = await asyncio.to_thread(repo.expire_overdue_by, now)
        if recovery.released or recovery.in_doubt or expired:
            log.info(
                "sweep: %s claims released, %s in doubt, %s expired",
                recovery.released,
                recovery.in_doubt,
                expired.total(),
            )
        if recovery.in_doubt or expired:
            try:
                self.dispatcher.observer.swept(Swept(expired, recovery.in_doubt_by))
            except Exception:
                log.exception("the dispatch observer raised")
        self.last_sweep_at = self.dispatcher.clock.now()

    async def wake(self) -> None:
        await self.dispatcher.dispatch_due()
        await self._rearm()

    async def heartbeat(self) -> None:
        until = self.dispatcher.clock.now() + self.dispatcher.config.lease
        await asyncio.to_thread(self.dispatcher.reminders.renew_lease, self.dispatcher.owner, until)
        await self.dispatcher.renew_lanes()

    async def maintenance(self) -> None:
        cutoff = self.dispatcher.clock.now() - timedelta(days=30)
        pruned = await asyncio.to_thread(self.dispatcher.patients.prune_inbound, cutoff)
        if pruned:
            log.info("maintenance: %s old webhook ids pruned", pruned)
        if self._purge is not None:
            purged = await asyncio.to_thread(self._purge, self.dispatcher.clock.now())
            if any(purged.values()):
                counts = ", ".join(f"{count} {kind}" for kind, count in purged.items())
                log.info("maintenance: retention purged %s", counts)

    async def _rearm(self) -> None:
        # Only lanes this engine sends on: a lane another engine holds would wake it at once.
        earliest = await asyncio.to_thread(
            self.dispatcher.reminders.earliest_pending, self.dispatcher.sending_lanes()
        )
        self._armed_at = None
        if earliest is not None:
            self._arm(earliest)

    def _arm(self, when: datetime) -> None:
        if self._scheduler is None:
            return
        self._armed_at = when
        # Several wake instances may overlap briefly; the dispatcher's per-lane locks make
        # that harmless, while max_instances=1 could silently drop a re-armed date job.
        self._scheduler.add_job(
            self.wake,
            DateTrigger(run_date=when, timezone=UTC),
            id="wake",
            replace_existing=True,
            max_instances=4,
        )
