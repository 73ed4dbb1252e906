"""Bulk enrollment end to end: generate a CSV, import it into a fresh SQLite database.

    .venv/bin/python bench/enroll.py [--rows 100000] [--batch 2000] [--keep DIR]

Measures the real importer (parse, validate, spool, upsert patients, treatments, planned
reminders and invites) on a migrated database, then prints rows/s, seconds and peak RSS.
Target on the reference 2-core machine: <= 15 s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aftercare.settings import Settings
from aftercare.wiring import build_core, invite_links
from clinic.importer import Importer
from clinic.reader import Limits
from scheduler.clock import FakeClock
from scheduler.quiet_hours import QuietHours
from storage.enrollment import EnrollmentStore
from storage.migrate import upgrade

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
AREAS = (212, 646, 718, 917, 312, 415, 617, 202, 305, 713)
ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Madrid")


def write_csv(path: Path, rows: int) -> None:
    """Realistic rows: local phone formats, naive and offset times, a few languages."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "external_id,treatment_at,first_name,phone,timezone,language,channel,"
            "appointment_id,service,status\n"
        )
        for i in range(rows):
            # Minute-precise times over the last two days (nearly every milestone still
            # ahead: the most reminders to plan), one in four booked for the coming week,
            # unique phones across several area codes; a booking export's appointment id,
            # service (one in 20 not microneedling) and status (one in 50 cancelled).
            treated = NOW - timedelta(minutes=61 + (i * 7919) % 2820)
            if i % 4 == 0:
                treated = NOW + timedelta(minutes=(i * 7919) % 10080)
            zone = ZONES[i % len(ZONES)]
            when = (
                treated.strftime("%Y-%m-%dT%H:%M:%SZ")
                if i % 3
                else treated.strftime("%Y-%m-%d %H:%M+00:00")
            )
            area = AREAS[i % len(AREAS)]
            phone = f"({area}) {200 + (i // 10) % 700}-{i % 10000:04d}" if i % 5 else ""
            channel = "sms" if phone else "telegram"
            language = "es" if i % 7 == 0 else "en"
            service = "Botox" if i % 20 == 7 else "Microneedling with PRP"
            status = "Cancelled" if i % 50 == 3 else "Booked"
            out.write(
                f"P{i:07d},{when},Name{i % 997},{phone},{zone},{language},{channel},"
                f"A{i:07d},{service},{status}\n"
            )


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--keep", type=Path, help="write the CSV and database here, and keep them")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="enroll-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / "patients.csv"
    db_path = workdir / "bench.db"
    db_path.unlink(missing_ok=True)
    write_csv(csv_path, args.rows)
    url = f"sqlite:///{db_path}"
    upgrade(url)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        quiet_hours=QuietHours.parse("21:00-08:00"),
        telegram_bot_username="Bench",
    )
    core = build_core(settings, FakeClock(NOW))
    core.patients.add_clinic("bench", "Bench Clinic", "+12125550100", "America/New_York")
    store = EnrollmentStore(core.db)
    importer = Importer(
        store,
        core.planner,
        invite_ttl=timedelta(hours=settings.invite_ttl_hours),
        invite_link=invite_links(settings.telegram_bot_username),
        limits=Limits(max_rows=max(args.rows, 1)),
        batch_size=args.batch,
    )
    rss_before = peak_rss_mb()
    cpu_before = cpu_seconds()
    size = csv_path.stat().st_size
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def progress(phase: str, _done: int, _total: int) -> None:
        phases[phase] = time.perf_counter() - started

    with csv_path.open("rb") as stream:
        result = importer.run(store.profile("bench"), stream, total_bytes=size, progress=progress)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    with core.db.engine.connect() as conn:
        reminders = conn.exec_driver_sql("SELECT count(*) FROM reminder").scalar_one()
    core.close()
    if args.keep is None:  # about 200 MB for 100,000 rows
        shutil.rmtree(workdir, ignore_errors=True)
    where = csv_path if args.keep else "removed after the run; --keep DIR keeps it"
    print(f"file: {args.rows:,} rows, {size / 1e6:.1f} MB ({where})")
    print(f"created {result.created:,}  rejected {result.rejected:,}  reminders {reminders:,}")
    checking = phases.get("checking", 0.0)
    print(
        f"seconds: {seconds:.2f} (read and validate {checking:.2f}, write {seconds - checking:.2f})"
    )
    print(f"CPU seconds in this process: {cpu:.2f} (wall time suffers when the machine is busy)")
    print(f"rows/s: {args.rows / seconds:,.0f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (before import {rss_before:.0f} MB)")
    per_100k = seconds * 100_000 / max(args.rows, 1)
    verdict = "met" if per_100k <= 15 else "NOT met"
    print(f"target: <= 15 s per 100,000 rows: {per_100k:.1f} s, {verdict}")


if __name__ == "__main__":
    main()
