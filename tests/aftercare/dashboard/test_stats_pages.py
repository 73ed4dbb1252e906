"""/app/stats over HTTP: the last 8 weeks by default, charts drawn on the server with the
numbers in a table beside them, another period on request, and a CSV export."""

from __future__ import annotations

import csv
import io
import re

from tests.aftercare.dashboard.conftest import Site
from tests.storage.stats_rows import Rows, at

NURSE = "nurse@glow.example"


def seed(site: Site) -> None:
    """Week of 16 Feb: 2 enrolled, 3 SMS sent (1 delivered, 1 undelivered), 2 red flags,
    one answered after 30 min. Week of 23 Feb: 1 enrolled, 1 Telegram sent, 1 emergency."""
    with site.core.db.session() as session:
        rows = Rows(session, site.clinic.id)
        ana = rows.patient(at(16, 6))
        rows.patient(at(18))
        rows.patient(at(24), opted_out=True, updated=at(25))
        rows.reminder(ana, "sms", "sent", at(17), delivery="delivered", segments=2)
        rows.reminder(ana, "sms", "sent", at(18), delivery="undelivered", segments=1)
        rows.reminder(ana, "sms", "sent", at(19), segments=1)
        rows.reminder(ana, "telegram", "sent", at(24))
        flag = rows.escalation(ana, "red_flag", at(17, 10))
        rows.escalation(ana, "red_flag", at(19))
        rows.escalation(ana, "emergency", at(25))
        rows.staff_reply(ana, flag, at(17, 10, 30))


def table_row(html: str, label: str) -> list[str]:
    found = re.search(rf"<th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", html, re.S)
    assert found, f"no table row {label!r}"
    return re.findall(r"<td class=\"num[^\"]*\">([^<]*)</td>", found.group(1))


async def test_the_last_eight_weeks_by_week_as_charts_and_a_table(site: Site) -> None:
    site.add_staff(NURSE)
    seed(site)
    async with site.client() as browser:
        await browser.sign_in(NURSE)
        page = await browser.get("/app/stats")

    assert page.status_code == 200
    html = page.text
    weeks = re.findall(r'<abbr title="([^"]+)">([^<]+)</abbr>', html)
    assert [short for _, short in weeks] == [
        "12 Jan", "19 Jan", "26 Jan", "2 Feb", "9 Feb", "16 Feb", "23 Feb", "2 Mar",
    ]  # fmt: skip
    assert weeks[5][0] == "16–22 Feb 2026"
    assert table_row(html, "Enrolled") == ["0"] * 5 + ["2", "1", "0", "3"]
    assert table_row(html, "Opted out of SMS") == ["0"] * 6 + ["1", "0", "1"]
    sms, telegram = html.split("SMS reminders</th>")[1].split("Telegram reminders</th>")
    assert table_row(sms, "Sent") == ["0"] * 5 + ["3", "0", "0", "3"]
    assert table_row(sms, "Delivered") == ["0"] * 5 + ["1", "0", "0", "1"]
    assert table_row(sms, "Failed") == ["0"] * 5 + ["1", "0", "0", "1"]
    assert table_row(sms, "Segments") == ["0"] * 5 + ["4", "0", "0", "4"]
    assert table_row(telegram, "Sent") == ["0"] * 6 + ["1", "0", "1"]
    assert table_row(html, "Red flag") == ["0"] * 5 + ["2", "0", "0", "2"]
    assert table_row(html, "Emergency") == ["0"] * 6 + ["1", "0", "1"]
    assert table_row(html, "Median time to first reply") == ["—"] * 5 + ["30 min"] + ["—"] * 2 + [
        "30 min"
    ]
    assert html.count('<svg class="chart"') == 2 * 6  # six charts, a phone and a wide layout
    assert "16 Feb, Enrolled: 2" in html  # each bar's exact number, for screen readers
    assert "33% of SMS delivered" in html
    assert "1 of 3 escalations answered" in html
    assert 'href="/app/stats.csv?from=2026-01-12&amp;to=2026-03-02&amp;by=week"' in html


async def test_another_period_by_day(site: Site) -> None:
    site.add_staff(NURSE)
    seed(site)
    async with site.client() as browser:
        await browser.sign_in(NURSE)
        page = await browser.get("/app/stats?from=2026-02-16&to=2026-02-19&by=day")

    days = re.findall(r"<abbr title=\"[^\"]+\">([^<]+)</abbr>", page.text)
    assert days == ["16 Feb", "17 Feb", "18 Feb", "19 Feb"]
    assert table_row(page.text, "Enrolled") == ["1", "0", "1", "0", "2"]
    assert 'value="2026-02-16"' in page.text and 'value="2026-02-19"' in page.text


async def test_a_bad_date_is_named_and_ignored_and_a_long_period_is_cut(site: Site) -> None:
    site.add_staff(NURSE)
    async with site.client() as browser:
        await browser.sign_in(NURSE)
        bad = await browser.get("/app/stats?from=last+week")
        long = await browser.get("/app/stats?from=2025-01-01&by=day")

    assert bad.status_code == 200
    assert "from: &#34;last week&#34; is not a date (YYYY-MM-DD); it was ignored." in bad.text
    assert len(re.findall(r"<abbr title=", bad.text)) == 8
    assert "Showing the last 92 days: group by week for a longer period." in long.text
    assert len(re.findall(r"<abbr title=", long.text)) == 92


async def test_with_no_replies_the_page_says_so(site: Site) -> None:
    site.add_staff(NURSE)
    async with site.client() as browser:
        await browser.sign_in(NURSE)
        page = await browser.get("/app/stats")

    assert "No replies yet" in page.text


async def test_the_table_exports_as_csv_one_line_per_week(site: Site) -> None:
    site.add_staff(NURSE)
    seed(site)
    async with site.client() as browser:
        await browser.sign_in(NURSE)
        answer = await browser.get("/app/stats.csv?from=2026-02-16&to=2026-02-28")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert (
        'filename="stats-glow-2026-02-16-2026-02-28.csv"' in answer.headers["content-disposition"]
    )
    lines = list(csv.DictReader(io.StringIO(answer.text)))
    assert [line["period_start"] for line in lines] == ["2026-02-16", "2026-02-23"]
    first, second = lines
    assert (first["enrolled"], first["sms_sent"], first["sms_delivered"]) == ("2", "3", "1")
    assert (first["sms_failed"], first["sms_segments"], first["telegram_sent"]) == ("1", "4", "0")
    assert (first["escalations_red_flag"], first["escalations_answered"]) == ("2", "1")
    assert first["median_minutes_to_first_reply"] == "30.0"
    assert (second["enrolled"], second["sms_opt_outs"], second["escalations_emergency"]) == (
        "1",
        "1",
        "1",
    )
    assert second["median_minutes_to_first_reply"] == ""
