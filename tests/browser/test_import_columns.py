"""The import's column names in a real Chromium, on a phone and on a wide screen: a
booking export under its own header cannot be read, the page offers the column-names form
with the file's header cells, and saving checks the same file again into a preview."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import FilePayload, Page, expect

from storage.clinic_columns import column_map
from tests.browser.dashboard_site import DashboardSite
from tests.browser.test_dashboard_import_stats import VIEWPORTS, fits_the_width, stored

ADMIN = "admin@glow.example"
Shoot = Callable[[Page, str], Path]


def booking_export() -> bytes:
    """This morning's export: one appointment this afternoon, one tomorrow."""
    today = datetime.now(UTC).astimezone(ZoneInfo("America/New_York"))
    later, tomorrow = today + timedelta(hours=2), today + timedelta(days=1)
    return (
        "Client Number,Given Name,Cell Phone,Appt Start,Appt Ref,Service\n"
        f"C-1,Ana,(212) 555-0101,{later:%Y-%m-%d %H:%M},A-1,Microneedling\n"
        f"C-2,Bea,(212) 555-0102,{tomorrow:%Y-%m-%d %H:%M},A-2,Microneedling with PRP\n"
    ).encode()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_header_of_its_own_is_named_in_the_form_and_the_file_checked_again(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot, width: str
) -> None:
    dashboard_site.add_staff(ADMIN, "admin")
    dashboard_site.sign_in(page, ADMIN)
    page.goto(dashboard_site.url("/app/import"))
    expect(page.get_by_role("region", name="Your column names")).to_contain_text("None saved")
    upload: FilePayload = {"name": "today.csv", "mimeType": "text/csv", "buffer": booking_export()}
    page.get_by_label("CSV file").set_input_files(files=[upload])
    page.get_by_role("button", name="Check file").click()

    expect(page.get_by_role("heading", name="This file cannot be imported")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("missing required column(s)")
    assert fits_the_width(page)
    screenshot(page, f"import-header-missing-{width}")
    page.get_by_role("link", name="Name your columns").click()

    expect(page.get_by_role("heading", name="Your column names", level=1)).to_be_visible()
    found = page.get_by_role("region", name="The columns of today.csv").get_by_role("listitem")
    expect(found).to_have_count(6)
    expect(found.first).to_have_text("Client Number")
    for column, header in [
        ("external_id", "Client Number"),
        ("treatment_at", "Appt Start"),
        ("first_name", "Given Name"),
        ("phone", "Cell Phone"),
        ("appointment_id", "Appt Ref"),
    ]:
        page.get_by_label(column).fill(header)
    assert fits_the_width(page)
    screenshot(page, f"import-columns-form-{width}")
    page.get_by_role("button", name="Save and check the file again").click()

    expect(page.get_by_role("heading", name="Preview", exact=True)).to_be_visible()
    sample = page.locator("section[aria-labelledby=sample-title] tbody tr")
    expect(sample).to_have_count(2)
    expect(sample.first).to_contain_text("C-1")
    assert stored(dashboard_site) == ([], 0)  # a preview writes nothing
    assert column_map(dashboard_site.core.db, "glow")["external_id"] == "Client Number"

    page.goto(dashboard_site.url("/app/import"))
    names = page.get_by_role("region", name="Your column names")
    expect(names).to_contain_text("Client Number")
    expect(names).to_contain_text("Appt Ref")
    assert fits_the_width(page)
    screenshot(page, f"import-own-names-{width}")
