"""`/healthz` says 503, naming the check, when the database cannot be written or the
dispatcher has stopped sweeping; start-up refuses such a database in one line.

The attack: run the service where it can read but not write the database. `/healthz` used to
say 200 while every inbound SMS failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import DBAPIError

from aftercare.web import create_app
from aftercare.wiring import build_core, build_runtime
from scheduler.clock import FakeClock
from storage.db import Database
from storage.health import WriteProbe, probe_writes
from tests.aftercare.conftest import SWEEP_INTERVAL, Serve
from tests.aftercare.process_kit import AFTERCARE, service_env
from tests.conftest import make_settings
from tests.storage.test_health import read_only


async def test_a_writable_database_and_a_sweeping_dispatcher_are_healthy(
    serve: Serve, database_url: str
) -> None:
    _runtime, http = await serve(database_url)
    response = await http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert body["checks"] == {"database": "ok", "dispatcher": "ok"}


async def test_a_database_that_cannot_be_written_is_a_503_naming_the_database(
    serve: Serve, database_url: str
) -> None:
    _runtime, http = await serve(read_only(database_url))
    response = await http.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == "read-only"


async def test_no_sweep_for_three_intervals_is_a_stalled_dispatcher(
    serve: Serve, database_url: str, clock: FakeClock
) -> None:
    runtime, http = await serve(database_url)
    await runtime.service.sweep()
    clock.advance(3 * SWEEP_INTERVAL)
    assert (await http.get("/healthz")).status_code == 200
    clock.advance(1)
    response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["dispatcher"]
    assert response.json()["checks"]["dispatcher"] == "stalled: no sweep for 46 s"
    await runtime.service.sweep()
    assert (await http.get("/healthz")).status_code == 200


async def test_sweeps_failing_on_a_read_only_database_also_stall_the_dispatcher(
    serve: Serve, database_url: str, clock: FakeClock
) -> None:
    runtime, http = await serve(read_only(database_url))
    await runtime.service.start()  # the first sweep runs at once, and fails
    try:
        await asyncio.sleep(0.5)
        clock.advance(3 * SWEEP_INTERVAL + 1)
        response = await http.get("/healthz")
    finally:
        with contextlib.suppress(DBAPIError):  # handing claims back is a write, refused too
            await runtime.service.stop()
    assert response.status_code == 503
    assert response.json()["failing"] == ["database", "dispatcher"]


async def test_the_write_probe_runs_once_per_two_seconds_however_many_ask(
    database_url: str, clock: FakeClock
) -> None:
    core = build_core(make_settings(database_url), clock)
    probes: list[WriteProbe] = []

    def counted(db: Database) -> WriteProbe:
        probes.append(probe_writes(db))
        return probes[-1]

    runtime = build_runtime(core)
    app = create_app(runtime)
    app.state.health._probe = counted
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(*(http.get("/healthz") for _ in range(50)))
            assert {a.status_code for a in answers} == {200} and len(probes) == 1
            clock.advance(1.9)
            await http.get("/healthz")
            assert len(probes) == 1
            clock.advance(0.2)
            await http.get("/healthz")  # answered from the last probe while a new one runs
            await asyncio.sleep(0.2)
            assert len(probes) == 2
    finally:
        core.close()


def start(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AFTERCARE, "run"],
        env=service_env(database_url, LOG_LEVEL="INFO"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_start_up_refuses_a_database_it_cannot_write_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    result = start(read_only(database_url), tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the database cannot be written (read-only: ")
    assert "DATABASE_URL" in lines[0]


@pytest.mark.slow
def test_start_up_refuses_a_read_only_sqlite_file_it_would_have_to_create(
    tmp_path: Path,
) -> None:
    result = start(f"sqlite:///file:{tmp_path / 'new.db'}?mode=ro&uri=true", tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: the database cannot be migrated (unable to open database file); check "
        "DATABASE_URL and that this user may write the database (for SQLite, the file and "
        "its directory)"
    ]
