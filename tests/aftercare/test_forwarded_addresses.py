"""Over real HTTP, served the way `aftercare run` serves: the failed-auth limit counts the
connecting address, and X-Forwarded-For only when FORWARDED_ALLOW_IPS names the proxy.

The attack: 30 bad keys, each with a new X-Forwarded-For, from one address. uvicorn's
defaults believed the header from 127.0.0.1, so the limit never triggered.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from aftercare.web import create_app, server_config
from aftercare.wiring import Core, build_core, build_runtime
from clinic.keys import hash_api_key, new_api_key
from scheduler.clock import FakeClock
from storage.enrollment import EnrollmentStore
from tests.conftest import make_settings

PATIENT = "/api/v1/patients/P1"


@asynccontextmanager
async def served(core: Core) -> AsyncIterator[httpx.AsyncClient]:
    """The whole service app on a free loopback port, configured by `server_config`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(create_app(build_runtime(core)), core.settings))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # uvicorn offers no event for this
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        host, port = sock.getsockname()
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            yield http
    finally:
        server.should_exit = True
        await task
        sock.close()


def service_core(database_url: str, clock: FakeClock, **settings: object) -> tuple[Core, str]:
    core = build_core(make_settings(database_url, log_level="WARNING", **settings), clock)
    core.patients.add_clinic("glow", "Glow", "+12125550100", "America/New_York")
    key = new_api_key()
    EnrollmentStore(core.db).set_key_hash("glow", hash_api_key(key))
    return core, key


def wrong_key(attempt: int) -> dict[str, str]:
    return {"Authorization": f"Bearer ack_wrong{attempt:020d}"}


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_by_default_a_rotating_x_forwarded_for_does_not_evade_the_limit(
    database_url: str, clock: FakeClock
) -> None:
    core, _key = service_core(database_url, clock)
    try:
        async with served(core) as http:
            statuses = [
                (
                    await http.get(
                        PATIENT, headers={**wrong_key(n), **forwarded(f"198.51.100.{n}")}
                    )
                ).status_code
                for n in range(30)
            ]
    finally:
        core.close()
    assert statuses == [401] * 10 + [429] * 20


async def test_behind_a_named_proxy_the_forwarded_address_is_the_one_limited(
    database_url: str, clock: FakeClock
) -> None:
    core, _key = service_core(database_url, clock, forwarded_allow_ips="127.0.0.1")
    try:
        async with served(core) as http:
            rotating = [
                (
                    await http.get(
                        PATIENT, headers={**wrong_key(n), **forwarded(f"198.51.100.{n}")}
                    )
                ).status_code
                for n in range(30)
            ]
            one_client = [
                (
                    await http.get(PATIENT, headers={**wrong_key(n), **forwarded("203.0.113.9")})
                ).status_code
                for n in range(11)
            ]
            # A client behind the proxy that put a forged address in front of its own is
            # counted by the address the proxy saw (the last one), so it is blocked too.
            forged = await http.get(
                PATIENT, headers={**wrong_key(99), **forwarded("10.9.9.9, 203.0.113.9")}
            )
            other_client = await http.get(
                PATIENT, headers={**wrong_key(0), **forwarded("203.0.113.10")}
            )
    finally:
        core.close()
    assert rotating == [401] * 30  # thirty clients behind the proxy, one failure each
    assert one_client == [401] * 10 + [429]
    assert forged.status_code == 429
    assert other_client.status_code == 401


async def test_the_right_key_passes_after_ten_failures_from_its_address(
    database_url: str, clock: FakeClock
) -> None:
    core, key = service_core(database_url, clock)
    try:
        async with served(core) as http:
            failures = [
                (await http.get(PATIENT, headers=wrong_key(n))).status_code for n in range(10)
            ]
            blocked = await http.get(PATIENT, headers=wrong_key(10))
            right = await http.get(PATIENT, headers={"Authorization": f"Bearer {key}"})
    finally:
        core.close()
    assert failures == [401] * 10
    assert blocked.status_code == 429
    assert right.status_code == 404  # authenticated: the clinic has no patient P1
