"""A dashboard on a real database, driven over HTTP (httpx, in process): two clinics,
staff accounts made as the CLI makes them, and a client that signs in like a browser.

Page tests use it like this:

    async def test_something(site: Site) -> None:
        site.add_staff("nurse@glow.example")
        async with site.client() as browser:
            await browser.sign_in("nurse@glow.example")
            page = await browser.get("/app/whatever")
            answer = await browser.post_form("/app/whatever", {"field": "value"})
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import text
from starlette.applications import Starlette

from aftercare.dashboard.accounts import COMMAND_LINE, StaffAccounts
from aftercare.dashboard.app import build_dashboard_app, forwarding_routes
from aftercare.dashboard.context import Dashboard, build_dashboard
from aftercare.dashboard.passwords import Passwords
from aftercare.wiring import Core, Runtime, build_runtime
from storage.db import Database
from storage.patients import ClinicView
from storage.staff import StaffAccount
from tests.conftest import TABLES

PASSWORD = "correct horse battery"
# Real Argon2id, with the cheapest parameters, so the suite hashes quickly.
CHEAP_PASSWORDS = Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST))
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_in(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Browser:
    """An httpx client that keeps cookies and fills in CSRF tokens like a page would."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.get(path, **kwargs)  # type: ignore[arg-type]

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        form = await self.http.get("/login")
        return await self.http.post(
            "/login",
            data={"csrf_token": csrf_token_in(form.text), "email": email, "password": password},
        )

    async def csrf(self, page: str = "/app") -> str:
        return csrf_token_in((await self.http.get(page)).text)

    async def post_form(
        self, path: str, data: dict[str, str] | None = None, *, token_from: str | None = "/app"
    ) -> httpx.Response:
        """POST a form with the session's CSRF token (`token_from=None`: without one)."""
        fields = dict(data or {})
        if token_from is not None:
            fields["csrf_token"] = await self.csrf(token_from)
        return await self.http.post(path, data=fields)


@dataclass
class Site:
    core: Core
    runtime: Runtime
    dashboard: Dashboard
    app: Starlette
    clinic: ClinicView
    other: ClinicView  # a second clinic, whose records the first must never reach

    @property
    def accounts(self) -> StaffAccounts:
        return self.dashboard.accounts

    def add_staff(
        self,
        email: str,
        role: str = "nurse",
        clinic: ClinicView | None = None,
        password: str | None = PASSWORD,
    ) -> StaffAccount:
        owner = clinic or self.clinic
        return self.accounts.add(owner.id, email, role, password, COMMAND_LINE).account

    @asynccontextmanager
    async def client(
        self, address: str = "203.0.113.7", scheme: str = "http"
    ) -> AsyncIterator[Browser]:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://test") as http:
            yield Browser(http)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """HTTP tests run on SQLite; the storage tests cover both databases."""
    return sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def both_databases_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """For pages whose point is what they read from storage: a module runs them on both
    databases with `database_url = both_databases` (see below)."""
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    db.dispose()
    return url


def both_databases(both_databases_url: str) -> str:
    """`database_url = pytest.fixture(both_databases)` in a module: its tests run twice."""
    return both_databases_url


def make_site(core: Core, clinic: ClinicView) -> Site:
    other = core.patients.add_clinic(
        "other", "Other Clinic", "+12125550199", "America/Chicago", "US", "en"
    )
    runtime = build_runtime(core, console_stream=io.StringIO())
    dashboard = build_dashboard(runtime, CHEAP_PASSWORDS)
    app = Starlette(routes=forwarding_routes(build_dashboard_app(dashboard)))
    return Site(core, runtime, dashboard, app, clinic, other)


@pytest.fixture
def site(core: Core, clinic: ClinicView) -> Site:
    return make_site(core, clinic)
