"""The clinic's protocol page in a real Chromium, on a phone and on a wide screen: a nurse
opens it from the navigation and reads the settings and each step of the protocol."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from storage.day_before import save_day_before
from tests.browser.dashboard_site import DashboardSite
from tests.browser.test_dashboard_import_stats import VIEWPORTS, fits_the_width

NURSE = "nurse@glow.example"
Shoot = Callable[[Page, str], Path]


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_nurse_reads_the_protocol_and_its_steps(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot, width: str
) -> None:
    save_day_before(dashboard_site.core.db, "glow", True)
    dashboard_site.add_staff(NURSE)
    dashboard_site.sign_in(page, NURSE)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Protocol").click()

    expect(page.get_by_role("heading", name="Aftercare protocol", level=1)).to_be_visible()
    settings = page.get_by_role("region", name="For new sessions")
    expect(settings).to_contain_text("Built-in (microneedling")
    expect(settings).to_contain_text("On")
    steps = page.get_by_role("table", name="Steps of The clinic's protocol").locator("tbody tr")
    expect(steps.first).to_contain_text("1 day before the appointment")
    expect(steps.nth(1)).to_contain_text("Welcome")
    expect(steps.filter(has_text="Sunscreen")).to_contain_text("14 days after the treatment")
    assert fits_the_width(page)
    screenshot(page, f"protocol-{width}")
