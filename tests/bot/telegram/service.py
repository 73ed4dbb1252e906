"""The whole service (runtime, HTTP app, engine) served by uvicorn on a random local port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn

from aftercare.web import create_app
from aftercare.wiring import Core, Runtime, build_runtime


@dataclass
class Served:
    runtime: Runtime
    url: str


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(core: Core, sock: socket.socket) -> AsyncIterator[Served]:
    runtime = build_runtime(core)
    config = uvicorn.Config(create_app(runtime), lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # uvicorn offers no event for this
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        host, port = sock.getsockname()
        yield Served(runtime, f"http://{host}:{port}")
    finally:
        server.should_exit = True
        await task
