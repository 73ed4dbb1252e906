"""Pieces of the browser tests: a guard on each page, and any ASGI app served in a thread.

Playwright's sync API is used, so the pages are driven from plain (non-async) tests. The
app under test runs in a thread of its own with its own event loop; `ServedApp.call` runs
a coroutine there (to reach a runtime or a fake server that lives in that loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page, Route
from starlette.types import ASGIApp

T = TypeVar("T")

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class PageGuard:
    """Records what must never happen on a page: console errors (CSP violations among
    them), uncaught script errors, and any request that would leave this machine. Such
    requests are blocked before they are sent."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.route("**/*", self._route)
        context.on("page", self._watch)
        for page in context.pages:
            self._watch(page)

    def _watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{error.name}: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked_requests.append(url)
            route.abort("blockedbyclient")

    def problems(self) -> list[str]:
        return [
            *(f"request leaving 127.0.0.1 (blocked): {url}" for url in self.blocked_requests),
            *(f"console error: {text}" for text in self.console_errors),
            *(f"page error: {text}" for text in self.page_errors),
        ]

    def check(self) -> None:
        """What the page fixture does after each test: fail it if anything was recorded."""
        found = self.problems()
        if found:
            pytest.fail("the page broke the browser rules:\n  " + "\n  ".join(found), False)

    def take(self) -> PageGuard:
        """Hand over what was recorded and start afresh: for a test that provokes a
        problem on purpose and asserts on it."""
        taken = PageGuard(
            list(self.console_errors), list(self.page_errors), list(self.blocked_requests)
        )
        self.console_errors.clear()
        self.page_errors.clear()
        self.blocked_requests.clear()
        return taken


def pump_events(page: Page) -> None:
    """Let Playwright deliver the events that arrived since the last call (console
    messages are dispatched only while the sync API waits for something)."""
    with contextlib.suppress(Error):  # a closed or crashed page has nothing more to say
        page.evaluate("0")


def local_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ServedApp:
    """An ASGI app served by uvicorn on 127.0.0.1 (random port) in a daemon thread."""

    def __init__(self, app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "auto") -> None:
        self._sock = local_socket()
        host, port = self._sock.getsockname()
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(app, lifespan=lifespan, log_level="warning")
        self._server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="served-app", daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # handed to the test thread by start()
            self._failure = exc
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def start(self, timeout: float = 10.0) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:  # uvicorn offers no event for this
            if not self._thread.is_alive():
                raise RuntimeError("the app did not start") from self._failure
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not start in time")
            time.sleep(0.01)
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the app's own event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
        if self._thread.is_alive():
            raise RuntimeError("the app did not stop in time")
