"""Dashboard benchmark: the patient list and a patient's page with 100,000 patients in one
clinic, through the real app, on SQLite and on PostgreSQL. Prints p50/p95 per page.

    .venv/bin/python bench/dashboard.py [--patients 100000] [--requests 200]
                                        [--only sqlite|postgresql]

The clinic's history is built through the one write path (Planner.register_batch, with an
injected clock): patients enrolled a day at a time over two years, each shortly after
their treatment, so the newest 2% are still in their two weeks; reminders already due
marked sent; a few paused, opted out, unreachable and erased (by the API's rule); some
conversations. A nurse signs in through the form; then each page is fetched in turn by an
httpx client over ASGITransport (in process: the figures are the app's own time, without
a network or a server loop). SQLite is a fresh file in a temporary folder; PostgreSQL a
fresh database of its own on 127.0.0.1:5432 (BENCH_PG_ADMIN to change), dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg
from sqlalchemy import text

from aftercare.dashboard.accounts import COMMAND_LINE, StaffAccounts
from aftercare.dashboard.passwords import Passwords
from aftercare.settings import Settings
from aftercare.web import create_app
from aftercare.wiring import Core, build_core, build_runtime
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.conversations import ConversationRepository
from storage.enrollment import EnrollmentStore
from storage.migrate import upgrade

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles"]
NAMES = [
    "Ana", "Maria", "Lucia", "Sofia", "Emma", "Olivia", "Ava", "Isabella", "Mia", "Camila",
    "Valentina", "Elena", "Laura", "Carmen", "Paula", "Sara", "Julia", "Marta", "Alba", "Noa",
    "Grace", "Chloe", "Zoe", "Lily", "Hannah", "Nora", "Ella", "Aria", "Leah", "Ruby",
    "James", "Daniel", "David", "Pablo", "Hugo", "Mateo", "Lucas", "Leo", "Adam", "Noah",
]  # fmt: skip
RARE_NAME = "Zephyrine"  # one patient has it: a search that reads every row to find one
BATCH = 5000
NURSE = "bench.nurse@example.com"
PASSWORD = "bench password 1234"
ROW_LINK = re.compile(r'href="/app/patients/([^"?/]+)"')


def phone_of(n: int) -> str:
    return f"+1646{2_000_000 + n:07d}"


def typed_phone(n: int) -> str:
    """The same number as a person would type it at the front desk."""
    digits = phone_of(n)[2:]
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def populate(core: Core, clock: FakeClock, patients: int, years: float = 2.0) -> int:
    """A clinic's history: `patients` enrolled over `years`, a day at a time, each shortly
    after their treatment, so the newest 2% or so are still in their two weeks. Reminders
    already due are marked sent, as the dispatcher would have. Returns the clinic's id."""
    now = clock.now()
    clinic = core.patients.add_clinic(
        "bench", "Bench Clinic", "+12125550100", "America/New_York", "US", "en"
    )
    rng = random.Random(7)
    days = max(1, int(years * 365))
    first_day = now - timedelta(days=days)
    per_day = patients / days
    done = 0
    for day in range(days):
        upto = patients if day == days - 1 else round((day + 1) * per_day)
        items = []
        for n in range(done, upto):
            name = RARE_NAME if n == patients // 3 else NAMES[n % len(NAMES)]
            treated = first_day + timedelta(days=day, minutes=rng.randrange(8 * 60, 18 * 60))
            patient = NewPatient(f"P{n:06d}", ZONES[n % 3], "en", name, phone_of(n))
            items.append((patient, min(treated, now - timedelta(minutes=30))))
        done = upto
        if items:
            clock.set(max(treated for _, treated in items) + timedelta(minutes=20))
            core.planner.register_batch(clinic.id, items)
    clock.set(now)
    with core.db.session() as session:
        session.execute(
            text(
                "UPDATE reminder SET status = 'sent', attempts = 1, sent_at = due_at, "
                "settled_at = due_at, delivery_status = CASE channel WHEN 'sms' "
                "THEN 'delivered' END WHERE due_at <= :now"
            ),
            {"now": now.replace(tzinfo=None)},
        )
        for modulo, flag in ((40, "paused"), (97, "sms_opted_out"), (211, "sms_unreachable")):
            session.execute(
                text(f"UPDATE patient SET {flag} = :yes WHERE id % :m = 0"),
                {"yes": True, "m": modulo},
            )
    store = EnrollmentStore(core.db)
    for n in range(0, patients, 1000):  # erased through the API's own rule
        store.erase(clinic.id, f"P{n + 1:06d}", now)
    conversations = ConversationRepository(core.db)
    for n in rng.sample(range(patients), min(500, patients)):
        for minutes, words in ((90, "can I wear makeup"), (30, "thanks!")):
            conversations.record(
                patient_id=n + 1,
                clinic_id=clinic.id,
                channel="sms",
                inbound_text=words,
                reply_text="Makeup can go back on after 24 hours.",
                topic="makeup",
                language="en",
                category=None,
                at=now - timedelta(minutes=minutes),
                alert_quiet_period=timedelta(hours=1),
            )
    StaffAccounts(core.db, clock, Passwords()).add(
        clinic.id, NURSE, "nurse", PASSWORD, COMMAND_LINE
    )
    return clinic.id


@dataclass
class Figures:
    name: str
    seconds: list[float]

    def line(self) -> str:
        ordered = sorted(self.seconds)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        return (
            f"  {self.name:<34} p50 {statistics.median(ordered) * 1000:6.1f} ms   "
            f"p95 {p95 * 1000:6.1f} ms   max {ordered[-1] * 1000:6.1f} ms   (n={len(ordered)})"
        )


async def sign_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "no sign-in form"
    answer = await client.post(
        "/login", data={"csrf_token": token.group(1), "email": NURSE, "password": PASSWORD}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/app", answer.text[:300]


async def measure(
    client: httpx.AsyncClient, name: str, paths: Callable[[int], str], requests: int
) -> Figures:
    for warm in range(5):
        await client.get(paths(warm))
    seconds = []
    for i in range(requests):
        path = paths(i)
        started = time.perf_counter()
        answer = await client.get(path)
        seconds.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code}")
    return Figures(name, seconds)


async def run_pages(core: Core, patients: int, requests: int) -> list[Figures]:
    app = create_app(build_runtime(core, console_stream=io.StringIO()))
    transport = httpx.ASGITransport(app=app)
    rng = random.Random(11)
    someone = [rng.randrange(patients) for _ in range(requests + 5)]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await sign_in(client)
        first = await client.get("/app/patients")
        assert first.status_code == 200 and len(ROW_LINK.findall(first.text)) == 50, first.text
        nearby = re.search(r'href="(/app/patients\?after=\d+)"', first.text)
        assert nearby, "no next-page link"
        found = await client.get(f"/app/patients?q={typed_phone(someone[0])}")
        assert f"P{someone[0]:06d}" in found.text, "the typed phone did not find its patient"
        return [
            await measure(client, "/app/patients", lambda i: "/app/patients", requests),
            await measure(
                client,
                "/app/patients (page 2)",
                lambda i: nearby.group(1),
                requests,
            ),
            await measure(
                client,
                "/app/patients?q=<name> (common)",
                lambda i: f"/app/patients?q={NAMES[i % len(NAMES)].lower()}",
                requests,
            ),
            await measure(
                client,
                "/app/patients?q=<first letter>",
                lambda i: f"/app/patients?q={NAMES[i % len(NAMES)][0]}",
                requests,
            ),
            await measure(
                client,
                "/app/patients?q=<name> (1 match)",
                lambda i: f"/app/patients?q={RARE_NAME[:6]}",
                requests,
            ),
            await measure(
                client,
                "/app/patients?q=<typed phone>",
                lambda i: f"/app/patients?q={typed_phone(someone[i])}",
                requests,
            ),
            await measure(
                client,
                "/app/patients?status=paused",
                lambda i: "/app/patients?status=paused",
                requests,
            ),
            await measure(
                client,
                "/app/patients?status=completed",
                lambda i: "/app/patients?status=completed",
                requests,
            ),
            await measure(
                client,
                "/app/patients/{external_id}",
                lambda i: f"/app/patients/P{someone[i]:06d}",
                requests,
            ),
        ]


def bench(url: str, label: str, patients: int, requests: int) -> None:
    upgrade(url)
    settings = Settings(_env_file=None, database_url=url, quiet_hours="off")  # type: ignore[call-arg, arg-type]
    clock = FakeClock(datetime.now(UTC))
    core = build_core(settings, clock)
    try:
        started = time.perf_counter()
        populate(core, clock, patients)
        built = time.perf_counter() - started
        print(f"{label}: {patients:,} patients enrolled in {built:.0f} s")
        with core.db.session() as session:  # fresh statistics, as autovacuum would have
            if core.db.dialect == "postgresql":
                session.execute(text("ANALYZE"))
        for figures in asyncio.run(run_pages(core, patients, requests)):
            print(figures.line())
    finally:
        core.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"aftercare_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"dashboard pages, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'dashboard.db'}"
            bench(url, "SQLite", args.patients, args.requests)
    if args.only in (None, "postgresql"):
        with postgres_database() as url:
            bench(url, "PostgreSQL", args.patients, args.requests)


if __name__ == "__main__":
    main()
