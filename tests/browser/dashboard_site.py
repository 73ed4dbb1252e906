"""The whole service (aftercare.web.create_app: webhooks, clinic API, dashboard) served on
127.0.0.1 over a real SQLite file, with two clinics, for browser tests of the dashboard.

    def test_something(page: Page, dashboard_site: DashboardSite) -> None:
        dashboard_site.add_staff("nurse@glow.example")          # role "nurse" by default
        dashboard_site.sign_in(page, "nurse@glow.example")      # through the real form
        page.goto(dashboard_site.url("/app/patients"))

`dashboard_site.core` reaches the database and the planner (to enroll patients), and
`dashboard_site.served.call(coro)` runs a coroutine on the service's own event loop.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect
from starlette.types import ASGIApp

from aftercare.dashboard.accounts import COMMAND_LINE, StaffAccounts
from aftercare.dashboard.passwords import Passwords
from aftercare.web import create_app
from aftercare.wiring import Core, build_core, build_runtime
from storage.patients import ClinicView
from storage.staff import StaffAccount
from tests.browser.harness import ServedApp
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


@dataclass
class DashboardSite:
    served: ServedApp
    core: Core
    clinic: ClinicView  # "glow", New York
    other: ClinicView  # "other", Chicago: its records must never show at glow

    def url(self, path: str) -> str:
        return self.served.url + path

    def add_staff(
        self,
        email: str,
        role: str = "nurse",
        clinic: ClinicView | None = None,
        password: str = PASSWORD,
    ) -> StaffAccount:
        accounts = StaffAccounts(self.core.db, self.core.clock, Passwords())
        owner = clinic or self.clinic
        return accounts.add(owner.id, email, role, password, COMMAND_LINE).account

    def sign_in(self, page: Page, email: str, password: str = PASSWORD) -> None:
        """Sign in through the form, as staff do, and wait for the dashboard."""
        page.goto(self.url("/login"))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(self.url("/app"))


def open_dashboard_site(database_url: str, serve: Callable[[ASGIApp], ServedApp]) -> DashboardSite:
    """Two clinics on the database, and the service serving it (lifespan and all)."""
    core = build_core(make_settings(database_url))
    clinic = core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+12125550100", "America/New_York", "US", "en"
    )
    other = core.patients.add_clinic(
        "other", "Other Clinic", "+13125550100", "America/Chicago", "US", "en"
    )
    served = serve(create_app(build_runtime(core, console_stream=io.StringIO())))
    return DashboardSite(served, core, clinic, other)
