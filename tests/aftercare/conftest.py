"""The whole HTTP app over ASGI, for the tests of its own routes (/healthz, /readyz,
/metrics)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from aftercare.web import create_app
from aftercare.wiring import Runtime, build_core, build_runtime
from scheduler.clock import FakeClock
from tests.conftest import make_settings

SWEEP_INTERVAL = 15.0

Serve = Callable[..., Awaitable[tuple[Runtime, httpx.AsyncClient]]]


@pytest.fixture
async def serve(clock: FakeClock) -> AsyncIterator[Serve]:
    """`await serve(url, **settings)`: the app on that database with those settings (the
    sweep every SWEEP_INTERVAL seconds unless given; the console channel writes to a
    buffer), and a client for it. No engine runs: a test sweeps when it wants one."""
    opened: list[tuple[Runtime, httpx.AsyncClient]] = []

    async def build(url: str, **settings: object) -> tuple[Runtime, httpx.AsyncClient]:
        values: dict[str, object] = {"sweep_interval_seconds": SWEEP_INTERVAL, **settings}
        core = build_core(make_settings(url, **values), clock)
        runtime = build_runtime(core, console_stream=io.StringIO())
        transport = httpx.ASGITransport(app=create_app(runtime))
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        opened.append((runtime, http))
        return runtime, http

    yield build
    for runtime, http in opened:
        await http.aclose()
        for adapter in runtime.adapters:
            await adapter.stop()
        runtime.core.close()
