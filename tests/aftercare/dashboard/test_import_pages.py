"""/app/import over HTTP: an admin uploads a CSV, sees a dry-run preview that names every
bad row and writes nothing, then imports that same file (kept on the server) and gets the
result, the invite links and a formula-escaped report. Runs happen in worker threads."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from aftercare.dashboard.import_jobs import ImportJob
from aftercare.settings import Settings
from clinic.reader import Limits
from scheduler.clock import FakeClock
from storage.audit import AuditQuery
from storage.models import Patient, Reminder
from tests.aftercare.dashboard.conftest import Browser, Site, csrf_token_in
from tests.aftercare.dashboard.import_files import REJECTED_ROWS, VALID_IDS, messy_csv
from tests.aftercare.dashboard.series_kit import ANA, BEA, HEADER, book_a_series, local
from tests.conftest import T0, make_settings

ADMIN = "admin@glow.example"
NURSE = "nurse@glow.example"
JOB_URL = re.compile(r"^/app/import/([A-Za-z0-9_-]{16,64})$")


@pytest.fixture
def settings(database_url: str) -> Settings:
    """With a bot username, so imported patients get Telegram invite links."""
    return make_settings(database_url, telegram_bot_username="GlowClinicBot")


def patients_in(site: Site) -> int:
    with site.core.db.session() as session:
        return session.scalar(select(func.count()).select_from(Patient)) or 0


async def settle(site: Site) -> None:
    assert await asyncio.to_thread(site.dashboard.imports.wait_idle, 30)


async def upload(
    browser: Browser, data: str | bytes, *, name: str = "patients.csv", token: str | None = None
) -> httpx.Response:
    fields = {"csrf_token": token if token is not None else await browser.csrf("/app/import")}
    raw = data.encode() if isinstance(data, str) else data
    return await browser.http.post(
        "/app/import", data=fields, files={"file": (name, raw, "text/csv")}
    )


async def checked(site: Site, browser: Browser, data: str | bytes) -> str:
    """Upload `data` and wait for its dry run; returns the job's URL."""
    answer = await upload(browser, data)
    assert answer.status_code == 303
    url = answer.headers["location"]
    assert JOB_URL.match(url)
    await settle(site)
    return url


async def test_nurses_get_403_on_the_import_pages(site: Site) -> None:
    site.add_staff(NURSE)
    async with site.client() as browser:
        await browser.sign_in(NURSE)
        page = await browser.get("/app/import")
        answer = await upload(browser, messy_csv(T0), token=await browser.csrf())
        nav = await browser.get("/app")

    assert page.status_code == 403
    assert "Not for your role" in page.text
    assert answer.status_code == 403
    assert 'href="/app/import"' not in nav.text
    assert patients_in(site) == 0


async def test_the_preview_names_every_bad_row_and_writes_nothing(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        url = await checked(site, browser, messy_csv(T0))
        page = await browser.get(url)

    assert page.status_code == 200
    html = page.text
    assert "This is a preview. Nothing has been saved yet." in html
    rejected = re.findall(
        r'<td class="num" data-label="Row">(\d+)</td>\s*<td data-label="Column">'
        r'<span class="mono">([a-z_]+)</span></td>\s*<td data-label="Reason" class="break">'
        r"([^<]+)</td>",
        html,
    )
    assert [(int(row), column) for row, column, _ in rejected] == [
        (row, column) for row, (column, _) in sorted(REJECTED_ROWS.items())
    ]
    for (_, _, reason), (_, words) in zip(rejected, sorted(REJECTED_ROWS.items()), strict=True):
        assert words[1] in reason.replace("&#39;", "'")
    assert "Notes" in html and "unknown column; ignored" in html  # the header's warning
    sample = re.findall(r'<span class="cell-strong mono">([^<]+)</span>', html)
    assert sample == VALID_IDS
    assert "+12125550101" in html  # the phone as it will be stored
    assert "Rows with data: 8. Blank rows skipped: 1." in html
    assert patients_in(site) == 0  # nothing was written


async def test_import_applies_the_checked_file_once_and_reports_it(site: Site) -> None:
    admin = site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        url = await checked(site, browser, messy_csv(T0))
        preview = await browser.get(url)
        first = await browser.post_form(url, token_from=url)
        second = await browser.post_form(url, token_from=url)  # a double click
        await settle(site)
        result = await browser.get(url)
        report = await browser.get(url + "/report.csv")

    assert first.status_code == second.status_code == 303
    assert patients_in(site) == 3
    with site.core.db.session() as session:
        stored = session.execute(
            select(Patient.external_id, Patient.phone, Patient.channel).order_by(Patient.id)
        ).all()
        reminders = session.scalar(select(func.count()).select_from(Reminder)) or 0
    assert [tuple(row) for row in stored] == [
        ("P-101", "+12125550101", "sms"),
        ("=1+1", "+12125550103", "sms"),
        ("P-106", None, "telegram"),
    ]
    assert reminders > 0
    assert "Import finished" in result.text
    assert "3 patients added, 0 updated, 0 unchanged, 5 rejected." in result.text
    assert len(re.findall(r"https://t\.me/GlowClinicBot\?start=[\w-]+", result.text)) == 6
    assert 'value="' + csrf_token_in(preview.text) in preview.text

    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    by_row = {int(line["row"]): line for line in csv.DictReader(io.StringIO(report.text))}
    assert sorted(by_row) == [2, 3, 5, 6, 7, 8, 9, 10]
    assert by_row[5]["external_id"] == "'=1+1"  # a spreadsheet shows it as text, never runs it
    assert [by_row[row]["status"] for row in (2, 5, 8)] == ["created"] * 3
    assert all(by_row[row]["status"] == "rejected" for row in REJECTED_ROWS)
    assert by_row[3]["errors"].startswith("phone: ")
    assert by_row[2]["invite_url"].startswith("https://t.me/GlowClinicBot?start=")

    trail = site.dashboard.audit.entries(site.clinic.id, AuditQuery(action="import"), 10)
    assert [(e.staff_id, e.target_kind) for e in trail] == [(admin.id, "import")]
    assert trail[0].target_id is not None
    assert trail[0].target_id.endswith("3 created, 0 updated, 0 unchanged, 5 rejected")


async def test_the_check_report_lists_every_row_as_it_would_go(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        url = await checked(site, browser, messy_csv(T0))
        report = await browser.get(url + "/check.csv")
        not_yet = await browser.get(url + "/report.csv")

    lines = list(csv.DictReader(io.StringIO(report.text)))
    assert [line["status"] for line in lines] == [
        "would create",
        "rejected",
        "would create",
        "rejected",
        "rejected",
        "would create",
        "rejected",
        "rejected",
    ]
    assert not_yet.status_code == 404


async def test_an_upload_works_only_in_the_session_that_made_it(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    site.add_staff("other-admin@glow.example", "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        url = await checked(site, browser, messy_csv(T0))
    async with site.client() as elsewhere:
        await elsewhere.sign_in(ADMIN)  # the same person, another browser
        page = await elsewhere.get(url)
        apply = await elsewhere.post_form(url)
        report = await elsewhere.get(url + "/check.csv")
        progress = await elsewhere.get(url + "/progress")

    assert page.status_code == 404
    assert "That upload is no longer here" in page.text
    assert apply.status_code == report.status_code == progress.status_code == 404
    assert patients_in(site) == 0


async def test_an_upload_without_its_csrf_token_is_refused_and_not_kept(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        answer = await upload(browser, messy_csv(T0), token="")
        apply = await browser.http.post("/app/import/" + "x" * 32, data={})

    assert answer.status_code == 403
    assert apply.status_code == 403
    assert site.dashboard.imports.wait_idle(1)
    assert patients_in(site) == 0


async def test_a_file_over_the_size_limit_is_refused_as_it_streams_in(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    site.dashboard.imports.importer.limits = Limits(max_bytes=2000)
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        form = await browser.get("/app/import")
        answer = await upload(browser, "external_id,treatment_at\n" + "P,2026\n" * 400)

    assert "CSV or text, up to 2 kB and 200,000 rows." in form.text
    assert answer.status_code == 413
    assert "The file is larger than 2 kB." in answer.text


async def test_a_file_that_cannot_be_read_says_why(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        url = await checked(site, browser, "name,when\nAna,today\n")
        page = await browser.get(url)
        apply = await browser.post_form(url, token_from=url)
        await settle(site)

    assert "This file cannot be imported" in page.text
    assert "missing required column(s) external_id, treatment_at" in page.text
    assert "Import another file" in page.text
    assert apply.status_code == 303
    assert patients_in(site) == 0


async def test_the_preview_says_what_each_booking_does_to_the_patients_sessions(
    site: Site, clock: FakeClock
) -> None:
    """Patients already on file: the next export's rows show as a new session (a new
    appointment id), a corrected time (the same id, moved) and a new patient."""
    book_a_series(site.core, clock, site.clinic.slug)
    ahead = clock.now() + timedelta(days=21)
    export = HEADER + (
        f"{ANA},{local(clock.now() + timedelta(days=42))},A-5,Microneedling,Booked\n"
        f"{BEA},{local(clock.now() + timedelta(days=4))},B-1,Microneedling,Booked\n"
        f"C-3,Cy,(212) 555-0103,{local(ahead)},C-1,Microneedling,Booked\n"
    )
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        page = await browser.get(await checked(site, browser, export))

    results = re.findall(r'data-label="Result"><span class="badge [^"]+">([^<]+)<', page.text)
    assert results == ["New session", "Time corrected", "New patient"]


async def test_an_empty_file_field_asks_for_a_file(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        token = await browser.csrf("/app/import")
        # what a browser sends when no file was chosen
        body = (
            f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            '--b\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
            "Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
        )
        answer = await browser.http.post(
            "/app/import",
            content=body.encode(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )

    assert answer.status_code == 400
    assert "Choose a CSV file to upload." in answer.text


async def test_progress_is_readable_as_json_and_says_when_the_run_is_over(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        url = await checked(site, browser, messy_csv(T0))
        progress = await browser.get(url + "/progress")

    assert progress.json() == {
        "state": "checked",
        "finished": True,
        "percent": 100,
        "text": "Comparing with your patients",
    }


async def test_an_upload_is_dropped_some_time_after_it_was_last_used(
    site: Site, clock: FakeClock
) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as browser:
        await browser.sign_in(ADMIN)
        url = await checked(site, browser, messy_csv(T0))
        clock.advance(timedelta(minutes=20))
        kept = await browser.get(url)
        clock.advance(timedelta(minutes=29))
        still_kept = await browser.get(url)  # reading the preview keeps it
        clock.advance(timedelta(minutes=31))
        gone = await browser.get(url)
        apply = await browser.post_form(url)

    assert kept.status_code == still_kept.status_code == 200
    assert gone.status_code == 404
    assert "uploads are kept for 30 minutes" in gone.text
    assert apply.status_code == 404
    assert patients_in(site) == 0


async def test_while_an_import_runs_its_page_shows_progress_and_the_server_answers(
    site: Site,
) -> None:
    site.add_staff(ADMIN, "admin")
    jobs = site.dashboard.imports
    jobs.importer.batch_size = 1
    held = threading.Event()
    release = threading.Event()

    def hold_after_the_first_patient(job: ImportJob) -> None:  # between two batches
        if job.progress.step == "writing" and job.progress.done == 1:
            held.set()
            assert release.wait(30)

    jobs.observer = hold_after_the_first_patient
    try:
        async with site.client() as browser:
            await browser.sign_in(ADMIN)
            url = await checked(site, browser, messy_csv(T0))
            await browser.post_form(url, token_from=url)
            assert await asyncio.to_thread(held.wait, 30)
            page = await browser.get(url)
            progress = await browser.get(url + "/progress")
            other_page = await browser.get("/app/import")  # the event loop is free
            release.set()
            await settle(site)
            done = await browser.get(url)
    finally:
        release.set()
        jobs.observer = None

    assert page.status_code == 200
    assert "<h1>Importing</h1>" in page.text
    assert '<progress id="import-progress" max="100" value="' in page.text
    assert f'data-import-progress="{url}/progress"' in page.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
    assert "/app/static/import.js?v=" in page.text
    assert f'href="{url}">Refresh</a>' in page.text
    assert progress.json() == {
        "state": "importing",
        "finished": False,
        "percent": 66,  # the file read (50%), then 1 of 3 patients saved
        "text": "Saving patients: 1 of 3",
    }
    assert other_page.status_code == 200
    assert "Import finished" in done.text
    assert patients_in(site) == 3
