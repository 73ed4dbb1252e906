"""A nurse answers a patient who just texted a warning sign, in a real Chromium: the whole
service (aftercare.web.create_app with the real runtime) on a real SQLite file, SMS through
the real Twilio client to a fake Twilio on 127.0.0.1. The page fixture fails a test on any
console error and any request that would leave the machine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from starlette.types import ASGIApp

from scheduler.planning import NewPatient
from storage.models import Escalation
from tests.browser.dashboard_site import DashboardSite
from tests.browser.harness import PageGuard, ServedApp
from tests.browser.sms_site import PUBLIC_BASE_URL, STAFF_NUMBER, SmsSite, open_sms_site
from tests.storage.escalation_kit import enroll, escalate

NURSE = "nurse@glow.example"
ANA = "+12125550199"
RED_FLAG = "There is pus on my cheek and I have a fever"
REPLY = "Hi Ana, this is Glow.\nPlease call us now on 212 555 0100 so we can look at it."
Shoot = Callable[[Page, str], Path]
VIEWPORTS = [
    pytest.param("390", id="390px"),
    pytest.param("1280", id="1280px", marks=pytest.mark.viewport(1280, 900)),
]


@pytest.fixture
def sms_site(sqlite_url: str, serve_asgi: Callable[[ASGIApp], ServedApp]) -> Iterator[SmsSite]:
    site = open_sms_site(sqlite_url, serve_asgi)
    yield site
    site.close()


def enroll_ana(site: SmsSite) -> int:
    registration = site.core.planner.register(
        site.clinic.id,
        NewPatient("P-1042", "America/New_York", "en", "Ana", ANA),
        datetime.now(UTC) - timedelta(hours=5),
    )
    return registration.patient_id


def open_count(page: Page) -> str:
    return page.locator(".nav .count .visually-hidden").inner_text()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_a_nurse_answers_a_red_flag_a_patient_just_texted(
    page: Page, sms_site: SmsSite, screenshot: Shoot, width: str
) -> None:
    enroll_ana(sms_site)
    sms_site.dispatch()  # the welcome goes out, as it would have hours ago
    sms_site.add_staff(NURSE)
    sms_site.sign_in(page, NURSE)
    expect(page.get_by_text("No open escalations.")).to_be_visible()

    answered = sms_site.text_in(ANA, RED_FLAG)

    assert answered.status_code == 200
    page.goto(sms_site.url("/app"))
    item = page.get_by_role("link", name=re.compile("Red flag"))
    expect(item).to_contain_text("Ana")
    expect(item).to_contain_text("P-1042")
    expect(item).to_contain_text("SMS")
    expect(item).to_contain_text("just now")
    expect(item).to_contain_text(RED_FLAG)
    assert open_count(page) == "1 open"
    screenshot(page, f"inbox-{width}")
    # The clinic's alert links to the escalation, ids only.
    [alert] = sms_site.texts_to(STAFF_NUMBER)
    escalation_path = re.search(r"/app/escalations/\d+", alert.form["Body"])
    assert escalation_path and alert.form["Body"].endswith(PUBLIC_BASE_URL + escalation_path[0])
    assert "Ana" not in alert.form["Body"] and "pus" not in alert.form["Body"]

    item.click()
    expect(page).to_have_url(sms_site.url(escalation_path[0]))
    expect(page.get_by_role("heading", name="Ana")).to_be_visible()
    expect(page.locator(f'a[href="tel:{ANA}"]')).to_be_visible()
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text(RED_FLAG)
    expect(conversation).to_contain_text("Reminder: ")
    reply_box = page.get_by_label("Reply", exact=True)
    reply_box.fill(REPLY)
    expect(page.locator("#reply-counter")).to_contain_text("1 SMS")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply is on its way.")).to_be_visible()

    sms_site.dispatch()

    replies = [r for r in sms_site.texts_to(ANA) if r.form["Body"] == REPLY]
    assert len(replies) == 1, [r.form["Body"] for r in sms_site.texts_to(ANA)]
    sms_site.dispatch()  # nothing is sent twice
    assert len([r for r in sms_site.texts_to(ANA) if r.form["Body"] == REPLY]) == 1
    page.reload()
    sent = page.locator(".message-staff")
    expect(sent).to_contain_text(f"Reply by {NURSE}")
    expect(sent).to_contain_text("Please call us now")
    expect(sent.locator(".state")).to_have_text("Sent")
    screenshot(page, f"escalation-with-reply-{width}")

    page.get_by_label("Note (optional)").fill("Called back; seen at 4 pm.")
    page.get_by_role("button", name="Resolve escalation").click()

    expect(page).to_have_url(re.compile(r"/app\?notice=resolve.done$"))
    expect(page.get_by_text("The escalation is resolved.")).to_be_visible()
    assert open_count(page) == "0 open"
    expect(page.get_by_text("No open escalations.")).to_be_visible()


def test_another_clinics_escalation_is_not_found_and_a_post_without_the_token_is_refused(
    page: Page, sms_site: SmsSite, page_guard: PageGuard
) -> None:
    enroll_ana(sms_site)
    sms_site.text_in(ANA, RED_FLAG)
    theirs = sms_site.core.planner.register(
        sms_site.other.id,
        NewPatient("O-1", "America/Chicago", "en", "Olu", "+13125550111"),
        datetime.now(UTC) - timedelta(hours=5),
    )
    sms_site.text_in("+13125550111", RED_FLAG)
    ours_id, theirs_id = escalation_ids(sms_site, theirs.patient_id)
    sms_site.add_staff(NURSE)
    sms_site.sign_in(page, NURSE)

    other = page.goto(sms_site.url(f"/app/escalations/{theirs_id}"))
    assert other is not None and other.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    not_found = page_guard.take()  # the 404 is what this step provokes; nothing else
    assert not_found.console_errors and all("404" in e for e in not_found.console_errors)

    page.goto(sms_site.url(f"/app/escalations/{ours_id}"))
    forged = page.request.post(
        sms_site.url(f"/app/escalations/{ours_id}/reply"), form={"text": "Hello"}
    )
    assert forged.status == 403
    page.locator('form[action$="/reply"] input[name="csrf_token"]').evaluate(
        "input => input.value = 'not-the-token'"
    )
    page.get_by_label("Reply", exact=True).fill("Hello")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    refused = page_guard.take()
    assert refused.console_errors and all("403" in e for e in refused.console_errors)
    sms_site.dispatch()
    assert not [r for r in sms_site.texts_to(ANA) if r.form["Body"] == "Hello"]


def escalation_ids(site: SmsSite, their_patient: int) -> tuple[int, int]:
    with site.core.db.session() as session:
        rows = session.execute(select(Escalation.id, Escalation.patient_id)).all()
    ours = [row[0] for row in rows if row[1] != their_patient]
    theirs = [row[0] for row in rows if row[1] == their_patient]
    assert len(ours) == 1 and len(theirs) == 1
    return ours[0], theirs[0]


@pytest.mark.parametrize("width", VIEWPORTS)
def test_the_inbox_puts_emergencies_first_then_red_flags_then_check_in_concerns(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot, width: str
) -> None:
    core, clinic, now = dashboard_site.core, dashboard_site.clinic, datetime.now(UTC)
    people = {
        name: enroll(core, clinic, external_id, now - timedelta(days=2), first_name=name).patient_id
        for name, external_id in (("Ana", "P-1042"), ("Sam", "P-0987"), ("Lee", "P-1100"))
    }
    escalate(core, clinic, people["Lee"], "Answer 2: a bit more red", now, "checkin_concern")
    escalate(core, clinic, people["Sam"], "yellow crust on my cheek", now - timedelta(hours=2))
    escalate(core, clinic, people["Ana"], "it is hot and there is pus", now - timedelta(minutes=9))
    escalate(core, clinic, people["Ana"], "my lips are swelling", now, "emergency")
    dashboard_site.add_staff(NURSE)
    dashboard_site.sign_in(page, NURSE)

    items = page.get_by_role("list", name="Open escalations").get_by_role("listitem")

    expect(items).to_have_count(4)
    expect(items.nth(0)).to_contain_text("Emergency")
    expect(items.nth(0)).to_contain_text("my lips are swelling")
    expect(items.nth(1)).to_contain_text("9 min ago")
    expect(items.nth(2)).to_contain_text("2 h ago")
    expect(items.nth(3)).to_contain_text("Check-in concern")
    assert open_count(page) == "4 open"
    screenshot(page, f"inbox-priorities-{width}")
