"""The HTTP app: health, provider webhooks, the clinic API and the clinic dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aftercare.dashboard.app import dashboard_routes
from aftercare.health import HealthMonitor
from aftercare.http_metrics import HttpMetrics
from aftercare.operations import operations_routes, runtime_metrics
from aftercare.settings import Settings
from aftercare.wiring import ConsoleAdapter, Runtime, clinic_api
from clinic.api_docs import docs_routes


def create_app(runtime: Runtime) -> Starlette:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    health = HealthMonitor(runtime.core.db, runtime.service, runtime.core.clock)

    async def healthz(_request: Request) -> JSONResponse:
        """200 when the database takes writes and the dispatcher sweeps, else 503 naming why."""
        report = await health.check()
        body = {
            "status": "ok" if report.ok else "unhealthy",
            "failing": report.failing,
            "checks": report.checks,
            "channels": configured_channels(runtime),
        }
        return JSONResponse(body, status_code=200 if report.ok else 503)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        *operations_routes(runtime, health),
        *runtime.routes,
        *clinic_api(runtime.core),
        *docs_routes(),
        *dashboard_routes(runtime),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(HttpMetrics, metrics=runtime_metrics(runtime))
    app.state.runtime = runtime
    app.state.health = health
    return app


def configured_channels(runtime: Runtime) -> list[str]:
    """The providers that are set up: "console" when it stands in for both."""
    names = {
        "console" if isinstance(adapter, ConsoleAdapter) else adapter.name
        for adapter in runtime.adapters
    }
    return sorted(names)


def server_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """How `aftercare run` serves the app.

    uvicorn believes X-Forwarded-For from 127.0.0.1 by default (or from its own
    FORWARDED_ALLOW_IPS variable), so anyone who reaches the port locally, or through a proxy
    that passes the header on, could choose the address the failed-auth limit counts. Here
    the header is read only from the proxies FORWARDED_ALLOW_IPS names, and not at all when
    it is unset.
    """
    trusted = settings.forwarded_allow_ips
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=False,
        # LOG_FORMAT=json: uvicorn's own lines go through the root logger's JSON handler.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        proxy_headers=trusted is not None,
        forwarded_allow_ips=trusted or "",
    )
