"""The service's HTTP app, built by the real wiring, driven in-process from a sync test.

Hypothesis runs synchronous functions, so the app lives on an `asyncio.Runner` owned by the
test: each input is one `runner.run(...)` (PTB's update processing and the fake providers
run on the same loop while it does). The provider adapters are started, the dispatch engine
is not: the fuzz is about what comes in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import update

from aftercare.settings import Settings
from aftercare.web import create_app
from aftercare.wiring import Core, Runtime, build_core, build_runtime
from scheduler.clock import FakeClock
from storage.models import Clinic
from storage.patients import ClinicView

T = TypeVar("T")


@dataclass
class Served:
    runner: asyncio.Runner
    core: Core
    runtime: Runtime
    http: httpx.AsyncClient

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def add_clinic(self, **staff: object) -> ClinicView:
        clinic = self.core.patients.add_clinic(
            "glow", "Glow Skin Clinic", "+15551234567", "America/New_York", "US", "en"
        )
        if staff:
            with self.core.db.session() as session:
                session.execute(update(Clinic).where(Clinic.id == clinic.id).values(**staff))
        return clinic


@contextmanager
def served(runner: asyncio.Runner, settings: Settings, clock: FakeClock) -> Iterator[Served]:
    core = build_core(settings, clock)
    runtime = build_runtime(core)
    transport = httpx.ASGITransport(app=create_app(runtime))
    http = httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000")
    started = []
    try:
        for adapter in runtime.adapters:
            runner.run(adapter.start())
            started.append(adapter)
        yield Served(runner, core, runtime, http)
    finally:
        for adapter in reversed(started):
            runner.run(adapter.stop())
        runner.run(http.aclose())
        core.close()
