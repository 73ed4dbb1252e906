"""Dispatch engine benchmark: planning, throughput, lateness, memory. Prints figures.

    .venv/bin/python bench/dispatch.py [--patients 100000] [--pending 1000000]

Runs on fresh SQLite files in a temporary folder (the embedded default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from aftercare.settings import Settings
from aftercare.wiring import Core, build_core
from scheduler.clock import FakeClock, SystemClock
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.planning import NewPatient
from scheduler.ports import OutboundMessage, SendResult
from scheduler.rate_limit import RateLimiter
from scheduler.service import DispatchService
from storage.migrate import upgrade
from storage.models import Reminder

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/Madrid", "Europe/London", "Asia/Tokyo"]
BATCH = 5000


class NullChannel:
    """Zero latency, keeps nothing: measures the engine, not the channel."""

    name = "null"

    def __init__(self) -> None:
        self.count = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        self.count += 1
        return SendResult.sent(None)


def fresh_core(folder: Path, name: str, clock: FakeClock | SystemClock) -> Core:
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url, quiet_hours="off")  # type: ignore[call-arg, arg-type]
    return build_core(settings, clock)


def enroll(core: Core, patients: int, treated_at: datetime) -> float:
    clinic = core.patients.add_clinic("bench", "Bench Clinic", "+15551234567", "UTC")
    started = time.perf_counter()
    for start in range(0, patients, BATCH):
        items = [
            (NewPatient(f"P{n}", ZONES[n % len(ZONES)], phone="+15550001111"), treated_at)
            for n in range(start, min(start + BATCH, patients))
        ]
        core.planner.register_batch(clinic.id, items)
    return time.perf_counter() - started


def dispatcher_for(core: Core, channel: NullChannel) -> Dispatcher:
    lane = ChannelLane("sms", channel, RateLimiter(None, core.clock))
    return Dispatcher(
        core.reminders,
        core.patients,
        [lane],
        core.protocols,
        core.protocol,
        core.clock,
        DispatchConfig(batch_size=500),
    )


def bench_planning(folder: Path, patients: int) -> None:
    now = datetime.now(UTC)
    core = fresh_core(folder, "plan.db", FakeClock(now))
    seconds = enroll(core, patients, now)
    rows = core.reminders.counts_by_status().get("pending", 0)
    core.close()
    print(
        f"plan+persist: {patients:,} patients, {rows:,} reminders in {seconds:.2f} s "
        f"= {patients / seconds:,.0f} patients/s, {rows / seconds:,.0f} reminder rows/s"
    )


def bench_throughput(folder: Path, messages: int) -> None:
    now = datetime.now(UTC)
    clock = FakeClock(now)
    core = fresh_core(folder, "throughput.db", clock)
    enroll(core, messages, now)  # every welcome is due now
    channel = NullChannel()
    dispatcher = dispatcher_for(core, channel)
    started = time.perf_counter()
    sent = asyncio.run(dispatcher.dispatch_due())
    seconds = time.perf_counter() - started
    core.close()
    print(f"dispatch: {sent:,} messages in {seconds:.2f} s = {sent / seconds:,.0f} messages/s")


async def _lateness(core: Core, count: int, spread: float) -> list[float]:
    channel = NullChannel()
    service = DispatchService(dispatcher_for(core, channel), sweep_interval=3600)
    await service.start()
    core.planner.subscribe(service.notify)
    clinic = core.patients.add_clinic("late", "Late Clinic", "+15551234567", "UTC")
    start = datetime.now(UTC) + timedelta(seconds=2)
    # Treated 24 h before a random instant in the next `spread` seconds: the makeup reminder
    # falls due then. The welcomes go out at once and are not measured.
    items = [
        (
            NewPatient(f"L{n}", "UTC", phone="+15550001111"),
            start + timedelta(seconds=random.uniform(0, spread)) - timedelta(hours=24),
        )
        for n in range(count)
    ]
    core.planner.register_batch(clinic.id, items)
    await asyncio.sleep(spread + 3)
    await service.stop()
    with core.db.session() as session:
        rows = session.execute(
            select(Reminder.due_at, Reminder.sent_at).where(Reminder.milestone == "makeup")
        ).all()
    return [(sent - due).total_seconds() for due, sent in rows if sent is not None]


def bench_lateness(folder: Path, count: int, spread: float) -> None:
    core = fresh_core(folder, "lateness.db", SystemClock())
    lateness = asyncio.run(_lateness(core, count, spread))
    core.close()
    lateness.sort()
    p50 = statistics.median(lateness)
    p99 = lateness[int(len(lateness) * 0.99) - 1]
    print(
        f"lateness: {len(lateness):,}/{count:,} reminders due over {spread:.0f} s, "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lateness[-1] * 1000:.0f} ms"
    )


def rss_probe(url: str) -> None:
    """Run in a child process: start the engine on `url`, sweep a few times, report peak RSS."""
    settings = Settings(_env_file=None, database_url=url, quiet_hours="off")  # type: ignore[call-arg, arg-type]
    core = build_core(settings, SystemClock())

    async def run() -> int:
        service = DispatchService(dispatcher_for(core, NullChannel()), sweep_interval=3600)
        await service.start()
        for _ in range(5):
            await service.sweep()
        await service.stop()
        return sum(core.reminders.counts_by_status().values())

    pending = asyncio.run(run())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"pending": pending, "peak_rss_mb": peak_kb / 1024}))


def bench_memory(folder: Path, pending: int) -> None:
    future = datetime.now(UTC) + timedelta(days=1)
    empty = fresh_core(folder, "empty.db", FakeClock(future))
    empty.close()
    full = fresh_core(folder, "full.db", FakeClock(future))
    enroll(full, pending // 5, future)  # 5 pending reminders each, none due yet
    full.close()
    results = []
    for name in ("empty.db", "full.db"):
        out = subprocess.run(
            [sys.executable, __file__, "--rss-probe", f"sqlite:///{folder / name}"],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base, loaded = results
    print(
        f"memory: engine peak RSS {base['peak_rss_mb']:.0f} MB with {base['pending']:,} reminders, "
        f"{loaded['peak_rss_mb']:.0f} MB with {loaded['pending']:,} pending"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--lateness-count", type=int, default=1_000)
    parser.add_argument("--lateness-spread", type=float, default=30.0)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["plan", "dispatch", "lateness", "memory"])
    parser.add_argument("--rss-probe", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_probe:
        rss_probe(args.rss_probe)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "plan"):
            bench_planning(folder, args.patients)
        if args.only in (None, "dispatch"):
            bench_throughput(folder, args.messages)
        if args.only in (None, "lateness"):
            bench_lateness(folder, args.lateness_count, args.lateness_spread)
        if args.only in (None, "memory"):
            bench_memory(folder, args.pending)


if __name__ == "__main__":
    main()
