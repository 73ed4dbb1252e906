"""A patient's sessions in a real Chromium, on a phone and on a wide screen: the next
booked session above everything, each session with its state, the timeline of the plan
that is current, and the list's "Booked" status. The dashboard runs on a real SQLite file
with an injected clock; the series is imported as the clinic's booking exports."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.types import ASGIApp

from aftercare.dashboard.app import dashboard_routes
from aftercare.wiring import build_core, build_runtime
from scheduler.clock import FakeClock
from tests.aftercare.dashboard.series_kit import book_a_series
from tests.browser.harness import ServedApp
from tests.browser.test_patients import NURSE, VIEWPORTS, PatientSite, fits_the_width
from tests.conftest import make_settings

Shoot = Callable[[Page, str], Path]


@pytest.fixture
def series_site(
    sqlite_url: str, serve_asgi: Callable[[ASGIApp], ServedApp]
) -> Iterator[PatientSite]:
    """Ana's series and Bea's booking (series_kit), the dashboard alone (no dispatcher)."""
    clock = FakeClock(datetime.now(UTC).replace(second=0, microsecond=0))
    core = build_core(make_settings(sqlite_url), clock)
    clinic = core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+12125550100", "America/New_York", "US", "en"
    )
    book_a_series(core, clock, clinic.slug)
    runtime = build_runtime(core, console_stream=io.StringIO())
    served = serve_asgi(Starlette(routes=dashboard_routes(runtime)))
    site = PatientSite(served, core, clock, clinic)
    site.add_staff(NURSE)
    yield site
    core.close()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_next_session_stands_out_and_each_session_shows_its_state(
    page: Page, series_site: PatientSite, screenshot: Shoot, width: str
) -> None:
    series_site.sign_in(page, NURSE)
    page.goto(series_site.url("/app/patients"))
    rows = page.locator("table.patient-table tbody tr")
    expect(rows.filter(has_text="Bea")).to_contain_text("Booked")
    expect(rows.filter(has_text="Ana")).to_contain_text("Active")
    expect(rows.filter(has_text="Ana")).to_contain_text("Next:")
    assert fits_the_width(page)
    screenshot(page, f"patients-booked-{width}")

    page.get_by_role("link", name="Ana").click()
    # A click waits for the navigation to start, not for the stylesheet that hides the
    # picture's other layout: until it loads, both layouts are in the page.
    page.wait_for_load_state()
    upcoming = page.get_by_role("region", name="Next session")
    expect(upcoming).to_be_visible()
    expect(upcoming).to_contain_text("Appointment A-4")
    expect(upcoming).to_contain_text("the welcome is due")
    upcoming.get_by_text("Its plan").click()  # unfolds the booked session's plan
    expect(upcoming.get_by_role("table")).to_be_visible()
    sessions = page.get_by_role("region", name="Sessions").get_by_role("listitem")
    expect(sessions).to_have_count(4)
    for index, (state, appointment) in enumerate(
        [("Upcoming", "A-4"), ("Cancelled", "A-3"), ("Active plan", "A-2"), ("Ended", "A-1")]
    ):
        expect(sessions.nth(index)).to_contain_text(state)
        expect(sessions.nth(index)).to_contain_text(appointment)
    expect(page.get_by_text("Day 2 of recovery")).to_be_visible()
    expect(page.get_by_role("img", name="Recovery timeline")).to_be_visible()
    # The card comes before the timeline on either screen.
    card_top = upcoming.bounding_box()
    timeline_top = page.get_by_role("img", name="Recovery timeline").bounding_box()
    assert card_top is not None and timeline_top is not None
    assert card_top["y"] < timeline_top["y"]
    assert fits_the_width(page)
    screenshot(page, f"patient-sessions-{width}")


def test_a_patient_booked_ahead_sees_that_sessions_plan_as_planned(
    page: Page, series_site: PatientSite, screenshot: Shoot
) -> None:
    series_site.sign_in(page, NURSE)
    page.goto(series_site.url("/app/patients/C-2"))

    expect(page.locator(".patient-header .badge").first).to_have_text("Booked")
    expect(page.get_by_text("No session has happened yet")).to_be_visible()
    picture = page.get_by_role("img", name="Recovery timeline")
    expect(picture).to_be_visible()
    expect(picture.locator("g.milestone.state-sent")).to_have_count(0)
    expect(picture.locator("g.timeline-now")).to_have_count(0)  # now is before its line
    expect(page.get_by_role("region", name="Next session")).to_contain_text("Appointment B-1")
    assert fits_the_width(page)
    screenshot(page, "patient-booked-390")
