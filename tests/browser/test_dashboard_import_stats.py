"""CSV import and delivery statistics in a real Chromium, against the whole service on
127.0.0.1: a messy file's preview names the bad rows and writes nothing until "Import";
the statistics page draws its charts and table; nurses cannot reach the import."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect
from sqlalchemy import func, select

from storage.models import Patient, Reminder
from tests.aftercare.dashboard.import_files import REJECTED_ROWS, VALID_IDS, messy_csv
from tests.browser.dashboard_site import DashboardSite
from tests.browser.harness import PageGuard
from tests.storage.stats_rows import Rows

ADMIN = "admin@glow.example"
NURSE = "nurse@glow.example"
Shoot = Callable[[Page, str], Path]
VIEWPORTS = [
    pytest.param("390", id="390px"),
    pytest.param("1280", id="1280px", marks=pytest.mark.viewport(1280, 900)),
]


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def stored(site: DashboardSite) -> tuple[list[str], int]:
    with site.core.db.session() as session:
        ids = list(session.scalars(select(Patient.external_id).order_by(Patient.id)))
        reminders = session.scalar(select(func.count()).select_from(Reminder)) or 0
    return ids, reminders


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_messy_csv_is_previewed_with_its_bad_rows_and_written_only_on_import(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot, width: str
) -> None:
    dashboard_site.add_staff(ADMIN, "admin")
    dashboard_site.sign_in(page, ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", name="Import patients")).to_be_visible()
    screenshot(page, f"import-upload-{width}")

    upload: FilePayload = {
        "name": "patients.csv",
        "mimeType": "text/csv",
        "buffer": messy_csv(datetime.now(UTC)).encode(),
    }
    page.get_by_label("CSV file").set_input_files(files=[upload])
    page.get_by_role("button", name="Check file").click()

    expect(page.get_by_role("heading", name="Preview", exact=True)).to_be_visible()
    expect(page.get_by_text("This is a preview. Nothing has been saved yet.")).to_be_visible()
    rejected = page.locator("section[aria-labelledby=rejected-title] tbody tr")
    expect(rejected).to_have_count(len(REJECTED_ROWS))
    for line, (row, (column, words)) in zip(
        rejected.all(), sorted(REJECTED_ROWS.items()), strict=True
    ):
        cells = line.get_by_role("cell")
        expect(cells.nth(0)).to_have_text(str(row))
        expect(cells.nth(1)).to_have_text(column)
        expect(cells.nth(2)).to_contain_text(words)
    sample = page.locator("section[aria-labelledby=sample-title] tbody tr")
    expect(sample).to_have_count(len(VALID_IDS))
    expect(sample.first).to_contain_text("+12125550101")
    assert stored(dashboard_site) == ([], 0)  # the preview wrote nothing
    assert fits_the_width(page)
    screenshot(page, f"import-preview-{width}")

    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "3 patients added, 0 updated, 0 unchanged, 5 rejected."
    )
    ids, reminders = stored(dashboard_site)
    assert ids == VALID_IDS
    assert reminders > 0
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    report = csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8")))
    by_row = {line["row"]: line for line in report}
    assert (by_row["5"]["external_id"], by_row["5"]["status"]) == ("'=1+1", "created")
    assert by_row["3"]["status"] == "rejected"
    assert fits_the_width(page)
    screenshot(page, f"import-result-{width}")


def test_nurses_get_403_on_the_import_page(
    page: Page, dashboard_site: DashboardSite, page_guard: PageGuard
) -> None:
    dashboard_site.add_staff(NURSE)
    dashboard_site.sign_in(page, NURSE)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Stats")).to_be_visible()
    expect(nav.get_by_role("link", name="Import")).to_have_count(0)

    answer = page.goto(dashboard_site.url("/app/import"))

    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
    refused = page_guard.take()  # the 403 is what this test provokes; nothing else
    assert refused.console_errors and all("403" in e for e in refused.console_errors)


def seed_activity(site: DashboardSite) -> None:
    """A few weeks of a small clinic, dated back from now."""
    now = datetime.now(UTC)
    with site.core.db.session() as session:
        rows = Rows(session, site.clinic.id)
        for week in range(6):
            for n in range(week + 2):
                treatment = rows.patient(now - timedelta(weeks=week, hours=n * 5 + 1))
                when = now - timedelta(weeks=week, hours=n * 5)
                delivery = "delivered" if n % 3 else "undelivered"
                rows.reminder(treatment, "sms", "sent", when, delivery=delivery, segments=1 + n % 2)
                rows.reminder(treatment, "telegram", "sent" if n % 2 else "expired", when)
            patient = rows.patient(now - timedelta(weeks=week, days=1))
            flag = rows.escalation(patient, "red_flag", now - timedelta(weeks=week, hours=3))
            rows.staff_reply(patient, flag, now - timedelta(weeks=week, hours=2, minutes=15 * week))
            if week % 2:
                rows.escalation(patient, "emergency", now - timedelta(weeks=week, hours=6))


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_stats_page_draws_charts_with_a_table_of_the_numbers(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot, width: str
) -> None:
    seed_activity(dashboard_site)
    dashboard_site.add_staff(NURSE)
    dashboard_site.sign_in(page, NURSE)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Stats").click()

    expect(page.get_by_role("heading", name="Delivery statistics")).to_be_visible()
    charts = page.locator("svg.chart:visible")
    expect(charts).to_have_count(6)
    expect(page.get_by_role("img", name="SMS reminders")).to_be_visible()
    table = page.get_by_role("table")
    expect(table.locator("thead th")).to_have_count(1 + 8 + 1)  # measure, weeks, total
    enrolled = table.get_by_role("row", name="Enrolled")
    expect(enrolled.get_by_role("cell").last).to_have_text("33")
    expect(page.get_by_text("Median time to first reply").first).to_be_visible()
    assert fits_the_width(page)
    screenshot(page, f"stats-{width}")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    lines = Path(download.value.path()).read_text("utf-8").splitlines()
    assert lines[0].startswith("period_start,period_end,enrolled,sms_sent,")
    assert len(lines) == 1 + 8
