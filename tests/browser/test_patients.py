"""The patient list and a patient's page in a real Chromium: the dashboard on a real SQLite
file with an injected clock and no dispatcher running, so what was sent is exactly what
the test sent through the dispatcher's own repository. The page fixture fails a test on
any console error and any request that would leave 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.types import ASGIApp

from aftercare.dashboard.accounts import COMMAND_LINE, StaffAccounts
from aftercare.dashboard.app import dashboard_routes
from aftercare.dashboard.passwords import Passwords
from aftercare.wiring import Core, build_core, build_runtime
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.patients import ClinicView
from storage.reminders import Outcome
from storage.values import ReminderStatus
from tests.browser.conftest import MOBILE
from tests.browser.dashboard_site import PASSWORD
from tests.browser.harness import PageGuard, ServedApp
from tests.conftest import make_settings

ADMIN = "admin@glow.example"
NURSE = "nurse@glow.example"
NEW_YORK = ZoneInfo("America/New_York")
Shoot = Callable[[Page, str], Path]
VIEWPORTS = [
    pytest.param("390", id="390px"),
    pytest.param("1280", id="1280px", marks=pytest.mark.viewport(1280, 900)),
]


@dataclass
class PatientSite:
    served: ServedApp
    core: Core
    clock: FakeClock
    clinic: ClinicView

    def url(self, path: str) -> str:
        return self.served.url + path

    def add_staff(self, email: str, role: str = "nurse") -> None:
        accounts = StaffAccounts(self.core.db, self.clock, Passwords())
        accounts.add(self.clinic.id, email, role, PASSWORD, COMMAND_LINE)

    def sign_in(self, page: Page, email: str) -> None:
        page.goto(self.url("/login"))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(self.url("/app"))

    def enroll(
        self,
        external_id: str,
        first_name: str,
        phone: str | None,
        treated_ago: timedelta,
        channel: str | None = None,
    ) -> int:
        """Enrolled at the clock's time, `treated_ago` before it."""
        patient = NewPatient(external_id, "America/New_York", "en", first_name, phone)
        if channel:
            patient = NewPatient(
                external_id, "America/New_York", "en", first_name, phone, channel=channel
            )
        return self.core.planner.register(
            self.clinic.id, patient, self.clock.now() - treated_ago
        ).patient_id

    def send_what_is_due(self) -> int:
        """What a dispatcher would do now, through its own repository: claim what is due
        and record it sent."""
        now = self.clock.now()
        sent = 0
        for channel in ("sms", "telegram"):
            claimed = self.core.reminders.claim_due(
                channel, now, 100, "browser-test", now + timedelta(minutes=1)
            )
            outcomes = [
                Outcome(c.id, ReminderStatus.SENT, now, provider_message_id=f"SM{c.id}")
                for c in claimed
            ]
            self.core.reminders.record(outcomes, "browser-test")
            sent += len(claimed)
        return sent


@pytest.fixture
def patient_site(
    sqlite_url: str, serve_asgi: Callable[[ASGIApp], ServedApp]
) -> Iterator[PatientSite]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = FakeClock(now)
    core = build_core(make_settings(sqlite_url, telegram_bot_username="GlowCareBot"), clock)
    clinic = core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+12125550100", "America/New_York", "US", "en"
    )
    runtime = build_runtime(core, console_stream=io.StringIO())
    # The dashboard alone, without the service's lifespan: no dispatcher sends meanwhile.
    served = serve_asgi(Starlette(routes=dashboard_routes(runtime)))
    yield PatientSite(served, core, clock, clinic)
    core.close()


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def enrolled_yesterday(site: PatientSite) -> None:
    """Ana, treated and enrolled yesterday: her welcome went out then, and this morning's
    steps (makeup, the first check-in) went out today; the rest is still to come."""
    now = site.clock.now()
    site.clock.set(now - timedelta(days=1))
    site.enroll("P-1042", "Ana", "+12125550199", timedelta(hours=1))
    assert site.send_what_is_due() == 1  # the welcome
    site.clock.set(now)
    assert site.send_what_is_due() >= 2  # makeup and the 24 h check-in


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_timeline_shows_sent_and_planned_milestones_for_a_patient_enrolled_yesterday(
    page: Page, patient_site: PatientSite, screenshot: Shoot, width: str
) -> None:
    enrolled_yesterday(patient_site)
    patient_site.add_staff(NURSE)
    patient_site.sign_in(page, NURSE)

    page.goto(patient_site.url("/app/patients"))
    page.get_by_role("link", name="Ana").click()
    # A click waits for the navigation to start, not for the stylesheet that hides the
    # picture's other layout: until it loads, both layouts are in the page.
    page.wait_for_load_state()

    expect(page.get_by_role("heading", name="Ana", level=1)).to_be_visible()
    picture = page.get_by_role("img", name="Recovery timeline")
    expect(picture).to_be_visible()
    expect(picture.locator("g.milestone.state-sent").first).to_be_visible()
    expect(picture.locator("g.milestone.state-planned").first).to_be_visible()
    expect(picture.locator("text", has_text="Sent").first).to_be_visible()
    expect(picture.locator("text", has_text="Planned").first).to_be_visible()
    expect(picture.locator("g.timeline-now")).to_be_visible()
    expect(picture.locator("g.milestone", has_text="Sunscreen")).to_have_class(
        "milestone state-planned"
    )
    expect(picture.locator("g.milestone", has_text="Welcome")).to_have_class("milestone state-sent")
    expect(page.get_by_text("Day 1 of recovery")).to_be_visible()
    assert fits_the_width(page)
    screenshot(page, f"patient-timeline-{width}")


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_list_searches_and_pages_and_fits_a_phone(
    page: Page, patient_site: PatientSite, screenshot: Shoot, width: str
) -> None:
    names = ["Ana", "Bea", "Carmen", "Dolores", "Elena", "Fatima", "Grace", "Hana"]
    for n in range(56):
        patient_site.enroll(
            f"P-{1000 + n}", names[n % len(names)], f"+1212555{n:04d}", timedelta(hours=n)
        )
    patient_site.add_staff(NURSE)
    patient_site.sign_in(page, NURSE)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    rows = page.locator("table.patient-table tbody tr")
    expect(rows).to_have_count(50)
    assert fits_the_width(page)
    screenshot(page, f"patients-{width}")

    page.get_by_role("link", name="Next").click()
    expect(rows).to_have_count(6)
    page.get_by_role("link", name="Previous").click()
    expect(rows).to_have_count(50)

    page.get_by_label("Search").fill("(212) 555-0042")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("P-1042")
    page.get_by_label("Search").fill("car")
    page.get_by_label("Status").select_option(label="Active")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(7)
    assert fits_the_width(page)


@pytest.fixture
def plain_page(browser: Browser, page_guard: PageGuard) -> Iterator[Page]:
    """A phone-sized page with JavaScript off: every action must work as a plain form."""
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": MOBILE[0], "height": MOBILE[1]},
        is_mobile=True,
        has_touch=True,
    )
    page_guard.attach(context)
    try:
        yield context.new_page()
        page_guard.check()
    finally:
        context.close()


def test_the_actions_work_as_plain_forms(
    plain_page: Page, patient_site: PatientSite, screenshot: Shoot
) -> None:
    page = plain_page
    enrolled_yesterday(patient_site)
    patient_site.enroll("T-7", "Bea", "+12125550142", timedelta(hours=3), channel="telegram")
    patient_site.add_staff(ADMIN, "admin")
    patient_site.sign_in(page, ADMIN)
    page.goto(patient_site.url("/app/patients/T-7"))

    page.get_by_role("button", name="Pause reminders").click()
    expect(page.get_by_role("status")).to_have_text("Reminders are paused.")
    page.get_by_role("button", name="Resume reminders").click()
    expect(page.get_by_role("status")).to_have_text("Reminders are resumed.")

    page.get_by_role("button", name="Make a new invite link").click()
    expect(page.locator("#invite-link")).to_contain_text("https://t.me/GlowCareBot?start=")

    page.get_by_label("Send reminders by").select_option("sms")
    page.get_by_role("button", name="Change channel").click()
    expect(page.get_by_role("status")).to_have_text("Reminders now go by the channel chosen.")

    treated = page.get_by_label("Correct treatment time")
    earlier = (patient_site.clock.now() - timedelta(hours=4)).astimezone(NEW_YORK)
    treated.fill(earlier.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Preview new times").click()
    expect(page.get_by_role("heading", name="Correct the treatment time")).to_be_visible()
    expect(page.get_by_role("cell", name="Moves").first).to_be_visible()
    assert fits_the_width(page)
    screenshot(page, "patient-treatment-preview-390")
    page.get_by_role("button", name="Save new time").click()
    expect(page.get_by_role("status")).to_have_text(
        "The treatment time is corrected and the reminders moved."
    )

    page.get_by_role("link", name="Erase patient").click()
    expect(page.get_by_role("heading", name="Erase Bea?")).to_be_visible()
    screenshot(page, "patient-erase-390")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("status")).to_have_text("The patient's personal data is erased.")
    expect(page.get_by_role("heading", name="Erased patient", level=1)).to_be_visible()
    expect(page.get_by_text("Bea")).to_have_count(0)
