"""The HTTP app: health, provider webhooks and (later) the clinic API and dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aftercare.wiring import Runtime
from clinic.api import build_api as clinic_api


def create_app(runtime: Runtime) -> Starlette:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "channels": runtime.dispatcher.channel_names})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        *runtime.routes,
        *clinic_api(runtime.core),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    return app
