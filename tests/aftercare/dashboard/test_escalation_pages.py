"""The escalation inbox and one escalation over HTTP: what staff see, replying through the
reminder outbox, resolving, and clinic scoping."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from scheduler.clock import FakeClock
from storage.audit import AuditQuery
from storage.models import Escalation, Reminder
from storage.values import STAFF_REPLY
from tests.aftercare.dashboard.conftest import Browser, Site
from tests.storage.escalation_kit import enroll, escalate

NURSE = "nurse@glow.example"


def replies(site: Site) -> list[Reminder]:
    with site.core.db.session() as session:
        return list(
            session.scalars(
                select(Reminder).where(Reminder.milestone == STAFF_REPLY).order_by(Reminder.id)
            )
        )


@dataclass(frozen=True)
class Opened:
    """An open escalation of one of the clinic's patients, on the dashboard at `path`."""

    patient_id: int
    escalation_id: int

    @property
    def path(self) -> str:
        return f"/app/escalations/{self.escalation_id}"


@pytest.fixture
def swollen(site: Site, clock: FakeClock) -> Opened:
    """Glow's patient P1 wrote "swollen": a red flag, open."""
    patient = enroll(site.core, site.clinic, "P1", clock.now()).patient_id
    return Opened(patient, escalate(site.core, site.clinic, patient, "swollen", clock.now()))


@pytest.fixture
async def nurse(site: Site) -> AsyncIterator[Browser]:
    """A nurse of the clinic, signed in."""
    site.add_staff(NURSE)
    async with site.client() as browser:
        await browser.sign_in(NURSE)
        yield browser


def audited(site: Site, action: str) -> list[tuple[str | None, str | None]]:
    entries = site.dashboard.audit.entries(site.clinic.id, AuditQuery(action=action), 50)
    return [(entry.target_id, entry.actor) for entry in entries]


async def test_the_inbox_shows_open_escalations_most_urgent_first(
    site: Site, clock: FakeClock
) -> None:
    core, clinic = site.core, site.clinic
    ana = enroll(core, clinic, "P-1042", clock.now() - timedelta(hours=3)).patient_id
    sam = enroll(core, clinic, "P-0987", clock.now(), first_name="Sam", chat_id=77).patient_id
    stranger = enroll(core, site.other, "X-1", clock.now(), first_name="Zed").patient_id
    escalate(core, clinic, sam, "a bit more red than yesterday", clock.now(), "checkin_concern")
    escalate(core, clinic, ana, "yellow crust on my cheek", clock.now(), channel="sms")
    escalate(core, clinic, sam, "something else", clock.now(), "wound_photo", "telegram")
    escalate(core, site.other, stranger, "not glow's patient", clock.now(), "emergency")
    clock.advance(timedelta(minutes=4))
    escalate(core, clinic, sam, "my lips are swelling & I <feel> dizzy", clock.now(), "emergency")
    clock.advance(timedelta(minutes=3))
    site.add_staff(NURSE)

    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app")

    body = page.text
    assert page.status_code == 200
    order = [
        body.index("my lips are swelling &amp; I &lt;feel&gt; dizzy"),
        body.index("yellow crust on my cheek"),
        body.index("something else"),
        body.index("a bit more red than yesterday"),
    ]
    assert order == sorted(order)
    for label in ("Emergency", "Red flag", "Wound photo", "Check-in concern"):
        assert label in body
    assert "not glow&#39;s patient" not in body and "Zed" not in body
    assert "Ana" in body and "P-1042" in body and "SMS" in body and "Telegram" in body
    assert "3 min ago" in body and "7 min ago" in body
    assert '<span class="visually-hidden">4 open</span>' in body


async def test_an_escalation_shows_the_whole_conversation_in_the_clinics_zone(
    site: Site, clock: FakeClock
) -> None:
    core, clinic = site.core, site.clinic
    patient = enroll(core, clinic, "P-1042", clock.now() - timedelta(hours=3)).patient_id
    await site.runtime.dispatcher.dispatch_due()  # the welcome goes out (console)
    clock.advance(timedelta(minutes=10))
    escalation_id = escalate(core, clinic, patient, "there is pus\nand it hurts", clock.now())
    site.add_staff(NURSE)

    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get(f"/app/escalations/{escalation_id}")

    body = html.unescape(page.text)
    assert page.status_code == 200
    assert 'href="tel:+15550001111"' in body
    assert "P-1042" in body and "Red flag" in body and "Open" in body
    welcome, wrote, answer = (
        body.index("Reminder: "),
        body.index("there is pus\nand it hurts"),
        body.index("Please contact your clinic."),
    )
    assert welcome < wrote < answer
    # 15:10 UTC is 10:10 in New York, the clinic's zone.
    assert "2 Mar 2026, 10:10" in body and "Times in America/New York." in body
    assert "This escalation" in body
    assert 'data-sms-counter="reply-counter"' in page.text
    assert audited(site, "escalation.view") == [(str(escalation_id), NURSE)]


async def test_a_reply_is_queued_once_in_the_outbox_with_its_text_and_its_author(
    site: Site, swollen: Opened, nurse: Browser
) -> None:
    escalation_id, path = swollen.escalation_id, swollen.path

    sent = await nurse.post_form(
        f"{path}/reply", {"text": "  Hi Ana,\r\nplease call us today.\r\n"}, token_from=path
    )
    after = await nurse.get(sent.headers["location"])

    assert sent.status_code == 303
    assert sent.headers["location"] == f"{path}?notice=reply.queued#conversation"
    [reply] = replies(site)
    assert (reply.body, reply.channel, reply.status) == (
        "Hi Ana,\nplease call us today.",
        "sms",
        "pending",
    )
    assert (reply.staff_email, reply.escalation_id) == (NURSE, escalation_id)
    assert "Your reply is on its way." in after.text
    assert f"Reply by {NURSE}" in after.text and "Sending" in after.text
    assert audited(site, "escalation.reply") == [(str(escalation_id), NURSE)]


async def test_an_sms_reply_that_does_not_fit_is_refused_with_the_reason_and_kept(
    site: Site, swollen: Opened, nurse: Browser
) -> None:
    path = swollen.path

    emoji = await nurse.post_form(f"{path}/reply", {"text": "Call us 🙂"}, token_from=path)
    long = await nurse.post_form(f"{path}/reply", {"text": "word " * 70}, token_from=path)
    empty = await nurse.post_form(f"{path}/reply", {"text": " \r\n "}, token_from=path)

    assert emoji.status_code == 400
    assert "A text message cannot carry 🙂" in html.unescape(emoji.text)
    assert ">Call us 🙂</textarea>" in emoji.text
    assert long.status_code == 400
    assert "This reply needs 3 text messages; at most 2 (306 characters)" in long.text
    assert empty.status_code == 400 and "Please write a reply first." in empty.text
    assert replies(site) == []


async def test_a_patient_who_cannot_be_reached_gets_no_reply_form(
    site: Site, swollen: Opened, nurse: Browser
) -> None:
    site.core.patients.set_flag(swollen.patient_id, "sms_opted_out")
    path = swollen.path

    page = await nurse.get(path)
    posted = await nurse.post_form(f"{path}/reply", {"text": "Hi"}, token_from=path)

    assert "opted out of SMS" in page.text
    assert "The patient cannot be reached" in page.text and 'name="text"' not in page.text
    assert posted.status_code == 409 and replies(site) == []


async def test_resolving_takes_it_out_of_the_inbox_and_records_who(
    site: Site, clock: FakeClock, swollen: Opened, nurse: Browser
) -> None:
    core, escalation_id, path = site.core, swollen.escalation_id, swollen.path
    escalate(core, site.clinic, swollen.patient_id, "still swollen", clock.now())

    before = await nurse.get("/app")
    resolved = await nurse.post_form(
        f"{path}/resolve", {"note": "Called back, all fine."}, token_from=path
    )
    inbox = await nurse.get(resolved.headers["location"])
    again = await nurse.post_form(f"{path}/resolve", {"note": ""}, token_from=path)
    page = await nurse.get(path)

    assert '<span class="visually-hidden">2 open</span>' in before.text
    assert resolved.status_code == 303 and resolved.headers["location"].startswith("/app?")
    assert "The escalation is resolved." in inbox.text
    assert '<span class="visually-hidden">1 open</span>' in inbox.text
    assert f'href="{path}"' not in inbox.text
    assert again.status_code == 303 and "resolve.already" in again.headers["location"]
    assert f"Resolved by {NURSE}" in page.text and "Called back, all fine." in page.text
    with core.db.session() as session:
        row = session.get(Escalation, escalation_id)
        assert row is not None and row.resolution_note == "Called back, all fine."
    assert audited(site, "escalation.resolve") == [(str(escalation_id), NURSE)]


async def test_another_clinics_escalation_is_not_found_and_forms_need_the_csrf_token(
    site: Site, clock: FakeClock
) -> None:
    core = site.core
    theirs = enroll(core, site.other, "P1", clock.now()).patient_id
    their_escalation = escalate(core, site.other, theirs, "swollen", clock.now())
    ours = enroll(core, site.clinic, "P1", clock.now()).patient_id
    our_escalation = escalate(core, site.clinic, ours, "swollen", clock.now())
    site.add_staff(NURSE)
    theirs_path = f"/app/escalations/{their_escalation}"
    ours_path = f"/app/escalations/{our_escalation}"

    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        seen = await nurse.get(theirs_path)
        reply = await nurse.post_form(f"{theirs_path}/reply", {"text": "Hi"}, token_from="/app")
        resolve = await nurse.post_form(f"{theirs_path}/resolve", {}, token_from="/app")
        huge = await nurse.get("/app/escalations/99999999999")
        forged = await nurse.post_form(f"{ours_path}/reply", {"text": "Hi"}, token_from=None)
        forged_resolve = await nurse.post_form(f"{ours_path}/resolve", {}, token_from=None)

    assert (seen.status_code, reply.status_code, resolve.status_code) == (404, 404, 404)
    assert huge.status_code == 404
    assert (forged.status_code, forged_resolve.status_code) == (403, 403)
    assert replies(site) == []
    with core.db.session() as session:
        assert all(row.resolved_at is None for row in session.scalars(select(Escalation)))
