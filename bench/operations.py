"""Operations benchmark: what a /metrics scrape, `aftercare stats` and the hourly retention
purge cost on a full database. Prints figures.

    .venv/bin/python bench/operations.py [--patients 100000] [--conversations 100000]

On a fresh SQLite file in a temporary folder: the patients' reminders are planned (about
seven each, all pending), then as many conversations as asked are written, the older half
beyond the retention cutoff with their treatments finished.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import generate_latest
from sqlalchemy import insert, select, update

from aftercare.metrics import Metrics, QueueDepth
from aftercare.settings import Settings
from aftercare.wiring import build_core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.activity import activity, queue_depth
from storage.migrate import upgrade
from storage.models import Conversation, Patient, Reminder, ReminderStatus
from storage.reading import read_only_engine
from storage.retention import purge_before

BATCH = 5000
RETENTION = timedelta(days=180)


def timed(action: Callable[[], object], repeat: int = 5) -> tuple[float, object]:
    """Median milliseconds over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'ops.db'}"
        upgrade(url)
        clock = FakeClock(now)
        settings = Settings(_env_file=None, database_url=url, quiet_hours="off")  # type: ignore[call-arg, arg-type]
        core = build_core(settings, clock)
        clinic = core.patients.add_clinic("glow", "Glow", "+15551234567", "UTC")
        for start in range(0, args.patients, BATCH):
            items = [
                (NewPatient(f"P{n}", "UTC", phone="+15550001111"), now - timedelta(hours=1))
                for n in range(start, min(start + BATCH, args.patients))
            ]
            core.planner.register_batch(clinic.id, items)
        with core.db.session() as session:
            pending = len(session.scalars(select(Reminder.id)).all())
            patients = list(session.scalars(select(Patient.id).limit(1000)))
            # The first 1,000 patients' treatments are long finished.
            session.execute(
                update(Reminder)
                .where(Reminder.patient_id.in_(patients))
                .values(status=ReminderStatus.SENT, settled_at=now - timedelta(hours=2))
            )
        old = RETENTION + timedelta(days=1)
        rows = [
            {
                "patient_id": patients[n % len(patients)],
                "clinic_id": clinic.id,
                "channel": "sms",
                "inbound_text": "can I wear makeup tomorrow?",
                "reply_text": "Makeup can go back on 24 hours after treatment.",
                "topic": "makeup",
                "language": "en",
                "escalated": False,
                # The older half is beyond the cutoff, the newer half within the last day.
                "created_at": now - (old if n % 2 else timedelta(hours=3)),
            }
            for n in range(args.conversations)
        ]
        with core.db.session() as session:
            session.execute(insert(Conversation), rows)
        print(f"database: {args.patients:,} patients, {pending:,} reminders, "
              f"{args.conversations:,} conversations")  # fmt: skip

        reader = read_only_engine(core.db)
        depth_ms, _ = timed(lambda: queue_depth(reader, now))
        print(f"queue depth (2 channels, 4 indexed counts): {depth_ms:.1f} ms")
        metrics = Metrics(clock)
        metrics.add_collector(QueueDepth(lambda at: queue_depth(reader, at), clock, ["sms"]))
        generate_latest(metrics.registry)
        cached_ms, _ = timed(lambda: generate_latest(metrics.registry), repeat=50)
        print(f"/metrics render, queue depth cached: {cached_ms:.2f} ms")
        stats_ms, _ = timed(lambda: activity(core.db, now), repeat=3)
        print(f"aftercare stats (last 24 h): {stats_ms:.0f} ms")
        began = time.perf_counter()
        purged = purge_before(core.db, now - RETENTION)
        first = time.perf_counter() - began
        again_ms, _ = timed(lambda: purge_before(core.db, now - RETENTION))
        print(f"retention purge, first run: {purged.conversations:,} conversation texts "
              f"in {first:.2f} s; an hourly run after it: {again_ms:.1f} ms")  # fmt: skip
        core.close()


if __name__ == "__main__":
    main()
