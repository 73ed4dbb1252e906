"""The dashboard's CSV import with a big file: upload, dry-run preview, then Import, through
the real app, while the event loop is watched. Prints timings, the progress seen, how late
the event loop ran and how long other requests took meanwhile.

    .venv/bin/python bench/dashboard_import.py [--rows 100000] [--only sqlite|postgresql]

An admin signs in through the form and uploads a generated file (clinic.example_csv, every
row importable) as a browser would (multipart). The page's progress is polled as import.js
does; meanwhile one task measures event-loop lag (how late a 20 ms sleep wakes) and another
fetches /app/import (a page that reads the session from the database) every 100 ms.
Afterwards every reminder already due is marked sent, and /app/stats is timed.
Requests go through httpx's ASGITransport in this process, so the lag is the app's own.
SQLite is a fresh file in a temporary folder; PostgreSQL a fresh database of its own on
127.0.0.1:5432 (BENCH_PG_ADMIN to change), dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg
from argon2 import PasswordHasher, profiles
from sqlalchemy import text
from starlette.applications import Starlette

from aftercare.dashboard.accounts import COMMAND_LINE
from aftercare.dashboard.app import build_dashboard_app, forwarding_routes
from aftercare.dashboard.context import build_dashboard
from aftercare.dashboard.passwords import Passwords
from aftercare.settings import Settings
from aftercare.wiring import build_core, build_runtime
from clinic.example_csv import example_csv
from storage.db import Database
from storage.migrate import upgrade

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
EMAIL, PASSWORD = "admin@glow.example", "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATS_REQUESTS = 20


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settle_due_reminders(db: Database) -> int:
    """What a running engine would have done by now: every reminder already due is sent
    (SMS ones delivered), so the statistics have rows to count."""
    with db.session() as session:
        done = session.execute(
            text(
                "UPDATE reminder SET status = 'sent', sent_at = due_at, settled_at = due_at, "
                "segments = CASE WHEN channel = 'sms' THEN 2 END, delivery_status = CASE WHEN "
                "channel = 'sms' THEN 'delivered' END WHERE status = 'pending' AND due_at <= :now"
            ),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        )
    return int(done.rowcount)  # type: ignore[attr-defined]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def watch_loop(stop: asyncio.Event, lags: list[tuple[float, float]]) -> None:
    """(when, how late) of each 20 ms sleep."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.02)
        lags.append((started, time.perf_counter() - started - 0.02))


async def other_requests(http: httpx.AsyncClient, stop: asyncio.Event, took: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        answer = await http.get("/app/import")
        assert answer.status_code == 200
        took.append(time.perf_counter() - started)
        await asyncio.sleep(0.1)


async def until_finished(http: httpx.AsyncClient, job: str, seen: list[tuple[float, int]]) -> None:
    started = time.perf_counter()
    while True:
        status = (await http.get(job + "/progress")).json()
        seen.append((time.perf_counter() - started, status["percent"]))
        if status["finished"]:
            return
        await asyncio.sleep(0.7)


async def run(kind: str, url: str, rows: int) -> None:
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url, quiet_hours="off")  # type: ignore[call-arg, arg-type]
    core = build_core(settings)
    clinic = core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+12125550100", "America/New_York", "US", "en"
    )
    runtime = build_runtime(core, console_stream=io.StringIO())
    dashboard = build_dashboard(
        runtime, Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST))
    )
    dashboard.accounts.add(clinic.id, EMAIL, "admin", PASSWORD, COMMAND_LINE)
    app = Starlette(routes=forwarding_routes(build_dashboard_app(dashboard)))
    data = example_csv(datetime.now(UTC), core.protocol, rows).encode()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=600) as http:
        token = CSRF.search((await http.get("/login")).text)
        assert token
        await http.post(
            "/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD}
        )
        token = CSRF.search((await http.get("/app/import")).text)
        assert token
        stop = asyncio.Event()
        lags: list[tuple[float, float]] = []
        took: list[float] = []
        watchers = [
            asyncio.create_task(watch_loop(stop, lags)),
            asyncio.create_task(other_requests(http, stop, took)),
        ]
        started = time.perf_counter()
        answer = await http.post(
            "/app/import",
            data={"csrf_token": token.group(1)},
            files={"file": ("patients.csv", data, "text/csv")},
        )
        uploaded = time.perf_counter() - started
        upload_ended = time.perf_counter()
        job = answer.headers["location"]
        check_seen: list[tuple[float, int]] = []
        await until_finished(http, job, check_seen)
        checked = time.perf_counter() - started
        preview = await http.get(job)
        assert "This is a preview" in preview.text, preview.text[-2000:]
        token = CSRF.search(preview.text)
        assert token
        import_started = time.perf_counter()
        await http.post(job, data={"csrf_token": token.group(1)})
        import_seen: list[tuple[float, int]] = []
        await until_finished(http, job, import_seen)
        imported = time.perf_counter() - import_started
        stop.set()
        await asyncio.gather(*watchers)
        result = await http.get(job)
        added = re.search(r"([\d,]+) patients added", result.text)
        settled = settle_due_reminders(core.db)
        stats_took = []
        for _ in range(STATS_REQUESTS):
            started = time.perf_counter()
            page = await http.get("/app/stats")
            assert page.status_code == 200
            stats_took.append(time.perf_counter() - started)
    dashboard.imports.close()
    core.close()
    ms = 1000
    during_runs = [lag for at, lag in lags if at >= upload_ended]
    during_upload = [lag for at, lag in lags if at < upload_ended]
    print(f"{kind}: {rows:,} rows, {len(data) / 1e6:.1f} MB")
    print(f"  upload {uploaded:.2f} s; check (dry run) {checked - uploaded:.1f} s")
    print(f"  import {imported:.1f} s ({rows / imported:,.0f} rows/s); {added and added.group(0)}")
    print(
        "  progress seen while checking: "
        + ", ".join(f"{p}% at {t:.0f} s" for t, p in check_seen[:: max(1, len(check_seen) // 6)])
    )
    print(
        "  progress seen while importing: "
        + ", ".join(f"{p}% at {t:.0f} s" for t, p in import_seen[:: max(1, len(import_seen) // 6)])
    )
    print(
        f"  event-loop lag while checking and importing: p50 "
        f"{statistics.median(during_runs) * ms:.1f} ms, p99 "
        f"{percentile(during_runs, 0.99) * ms:.1f} ms, max {max(during_runs) * ms:.0f} ms "
        f"({len(during_runs)} samples)"
    )
    if during_upload:
        # ASGITransport hands the app the whole body at once; a server reads ~64 kB chunks
        print(
            f"  event-loop lag during the upload (one {len(data) / 1e6:.1f} MB chunk): "
            f"max {max(during_upload) * ms:.0f} ms"
        )
    print(
        f"  GET /app/stats (8 weeks, {settled:,} settled reminders): p50 "
        f"{statistics.median(stats_took) * ms:.0f} ms, "
        f"p95 {percentile(stats_took, 0.95) * ms:.0f} ms"
    )
    print(
        f"  GET /app/import meanwhile: p50 {statistics.median(took) * ms:.0f} ms, "
        f"p95 {percentile(took, 0.95) * ms:.0f} ms, max {max(took) * ms:.0f} ms "
        f"({len(took)} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql"):
        if args.only and kind != args.only:
            continue
        with database(kind) as url:
            asyncio.run(run(kind, url, args.rows))


if __name__ == "__main__":
    main()
