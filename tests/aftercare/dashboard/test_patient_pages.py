"""The patient list and a patient's page over HTTP: search, filter and pages; the page and
its actions (pause and resume, channel, Telegram invite, treatment time with a preview,
erase), each audited, role-checked, and refused without the CSRF token or for another
clinic's patient."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from aftercare.wiring import build_core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.audit import AuditAction, AuditQuery
from storage.invites import InviteRepository
from storage.models import Invite, Patient, Reminder
from storage.patients import ClinicView
from tests.aftercare.dashboard.conftest import Site, make_site
from tests.conftest import make_settings

ADMIN = "admin@glow.example"
NURSE = "nurse@glow.example"
ROW_LINK = re.compile(r'<a class="cell-strong[^"]*" href="/app/patients/([^"]+)">')
INVITE_LINK = re.compile(r'id="invite-link">(https://t\.me/[^<]+)<')


def enroll(
    site: Site,
    external_id: str,
    *,
    first_name: str = "Ana",
    phone: str | None = "+12125550199",
    hours_ago: float = 2,
    clinic: ClinicView | None = None,
    channel: str | None = None,
) -> int:
    now = site.core.clock.now()
    registration = site.core.planner.register(
        (clinic or site.clinic).id,
        NewPatient(external_id, "America/New_York", "en", first_name, phone, channel=channel),
        now - timedelta(hours=hours_ago),
    )
    return registration.patient_id


def listed(html: str) -> list[str]:
    return ROW_LINK.findall(html)


def audit_actions(site: Site, action: AuditAction) -> list[tuple[str | None, str | None]]:
    entries = site.dashboard.audit.entries(site.clinic.id, AuditQuery(action=action.value), 20)
    return [(entry.actor, entry.target_id) for entry in entries]


def patient_row(site: Site, patient_id: int) -> Patient:
    with site.core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        session.expunge(patient)
        return patient


# -- the list ---------------------------------------------------------------------------


async def test_the_list_shows_the_clinics_patients_newest_first_with_their_status(
    site: Site,
) -> None:
    site.add_staff(NURSE)
    enroll(site, "P1", first_name="Ana")
    enroll(site, "P2", first_name="Bea", phone="+12125550111")
    enroll(site, "X9", first_name="Zoe", clinic=site.other)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/patients")

    assert page.status_code == 200
    assert listed(page.text) == ["P2", "P1"]
    assert "Zoe" not in page.text
    assert "(212) 555-0111" in page.text  # the clinic's own country, written nationally
    assert page.text.count(">Active</span>") == 2
    assert page.headers["cache-control"] == "no-store"


async def test_a_search_finds_a_name_an_external_id_or_a_phone_typed_any_way(site: Site) -> None:
    site.add_staff(NURSE)
    enroll(site, "P1", first_name="Anabel", phone="+12125550199")
    enroll(site, "P2", first_name="ana", phone="+12125550111")
    enroll(site, "P3", first_name="Bea", phone="+12125550122")
    enroll(site, "P4", first_name="Mariana", phone="+12125550133")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        by_name = await nurse.get("/app/patients", params={"q": "ANA"})
        by_id = await nurse.get("/app/patients", params={"q": "p3"})
        by_phone = await nurse.get("/app/patients", params={"q": "(212) 555-0111"})
        by_e164 = await nurse.get("/app/patients", params={"q": "+1 212 555 0199"})
        nothing = await nurse.get("/app/patients", params={"q": "Zoe"})

    assert listed(by_name.text) == ["P2", "P1"]  # the start of a first name, A to Z
    assert listed(by_id.text) == ["P3"]
    assert listed(by_phone.text) == ["P2"]
    assert listed(by_e164.text) == ["P1"]
    assert listed(nothing.text) == []
    assert "No patient matches." in nothing.text
    assert 'value="Zoe"' in nothing.text  # the search box keeps what was typed


async def test_the_status_filter_and_the_pages_keep_the_search(site: Site) -> None:
    site.add_staff(NURSE)
    ids = [enroll(site, f"P{n:03d}", first_name="Ana") for n in range(55)]
    site.core.patients.set_flag(ids[3], "paused")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        first = await nurse.get("/app/patients", params={"q": "ana"})
        next_url = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert next_url
        second = await nurse.get(next_url.group(1).replace("&amp;", "&"))
        back_url = re.search(r'href="([^"]+)" rel="prev"', second.text)
        assert back_url
        back = await nurse.get(back_url.group(1).replace("&amp;", "&"))
        paused = await nurse.get("/app/patients", params={"status": "paused"})

    # A name search runs by name, then in enrollment order for the same name.
    assert listed(first.text) == [f"P{n:03d}" for n in range(50)]
    assert "q=ana" in next_url.group(1)
    assert listed(second.text) == [f"P{n:03d}" for n in range(50, 55)]
    assert 'rel="next"' not in second.text
    assert listed(back.text) == listed(first.text)
    assert 'rel="prev"' not in back.text
    assert listed(paused.text) == ["P003"]
    assert re.search(r'<option value="paused" selected>', paused.text)


async def test_the_list_needs_a_signed_in_staff_member(site: Site) -> None:
    async with site.client() as stranger:
        answer = await stranger.get("/app/patients?q=Ana")

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


# -- the patient page -------------------------------------------------------------------


async def test_the_page_shows_the_timeline_and_is_audited(site: Site) -> None:
    site.add_staff(NURSE)
    patient_id = enroll(site, "P1", first_name="Ana", hours_ago=26)
    with site.core.db.session() as session:  # the welcome went out
        welcome = session.query(Reminder).filter_by(patient_id=patient_id).first()
        assert welcome is not None and welcome.milestone == "welcome"
        welcome.status = "sent"
        welcome.sent_at = site.core.clock.now()
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/patients/P1")

    assert page.status_code == 200
    assert '<svg class="timeline"' in page.text
    assert 'class="milestone state-sent"' in page.text
    assert 'class="milestone state-planned"' in page.text
    assert "Day 1 of recovery" in page.text
    assert audit_actions(site, AuditAction.PATIENT_VIEW) == [(NURSE, str(patient_id))]


async def test_another_clinics_patient_or_an_unknown_one_is_not_found(site: Site) -> None:
    site.add_staff(NURSE)
    enroll(site, "X9", clinic=site.other)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        theirs = await nurse.get("/app/patients/X9")
        unknown = await nurse.get("/app/patients/nobody")
        action = await nurse.post_form("/app/patients/X9/pause")

    assert theirs.status_code == unknown.status_code == action.status_code == 404
    assert audit_actions(site, AuditAction.PATIENT_VIEW) == []


async def test_an_external_id_with_a_slash_has_its_page(site: Site) -> None:
    site.add_staff(NURSE)
    enroll(site, "2026/17 A")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        listing = await nurse.get("/app/patients")
        page = await nurse.get("/app/patients/" + listed(listing.text)[0])
        paused = await nurse.post_form("/app/patients/2026%2F17%20A/pause")

    assert page.status_code == 200 and "2026/17 A" in page.text
    assert paused.status_code == 303


# -- actions ----------------------------------------------------------------------------


async def test_pause_and_resume_are_plain_forms_and_audited(site: Site) -> None:
    site.add_staff(NURSE)
    patient_id = enroll(site, "P1")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        paused = await nurse.post_form("/app/patients/P1/pause")
        after_pause = await nurse.get(paused.headers["location"])
        was_paused = patient_row(site, patient_id).paused
        resumed = await nurse.post_form("/app/patients/P1/resume")

    assert paused.status_code == resumed.status_code == 303
    assert paused.headers["location"] == "/app/patients/P1?notice=patients.paused"
    assert "Reminders are paused." in after_pause.text
    assert ">Paused</span>" in after_pause.text
    assert was_paused and not patient_row(site, patient_id).paused
    assert [a for a, _ in audit_actions(site, AuditAction.PATIENT_PAUSE)] == [NURSE]
    assert [a for a, _ in audit_actions(site, AuditAction.PATIENT_RESUME)] == [NURSE]


async def test_an_action_without_the_csrf_token_is_refused(site: Site) -> None:
    site.add_staff(NURSE)
    patient_id = enroll(site, "P1")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        answer = await nurse.post_form("/app/patients/P1/pause", token_from=None)

    assert answer.status_code == 403
    assert not patient_row(site, patient_id).paused


async def test_the_channel_changes_with_the_pending_reminders_when_it_can_reach_them(
    site: Site,
) -> None:
    site.add_staff(NURSE)
    patient_id = enroll(site, "P1", phone="+12125550199", channel="telegram")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        to_sms = await nurse.post_form("/app/patients/P1/channel", {"channel": "sms"})
        to_telegram = await nurse.post_form("/app/patients/P1/channel", {"channel": "telegram"})
        nonsense = await nurse.post_form("/app/patients/P1/channel", {"channel": "fax"})

    assert to_sms.status_code == 303
    assert to_telegram.status_code == 400
    assert "Telegram cannot reach this patient yet" in to_telegram.text
    assert nonsense.status_code == 400
    assert patient_row(site, patient_id).channel == "sms"
    with site.core.db.session() as session:
        pending = session.query(Reminder).filter_by(patient_id=patient_id, status="pending")
        assert {r.channel for r in pending} == {"sms"}
    assert len(audit_actions(site, AuditAction.PATIENT_CHANNEL)) == 1


@pytest.fixture
def bot_site(sqlite_url: str, clock: FakeClock) -> Site:
    core = build_core(make_settings(sqlite_url, telegram_bot_username="GlowCareBot"), clock)
    clinic = core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+15551234567", "America/New_York", "US", "en"
    )
    return make_site(core, clinic)


async def test_a_new_telegram_invite_link_is_shown_once_and_works(bot_site: Site) -> None:
    site = bot_site
    site.add_staff(NURSE)
    patient_id = enroll(site, "P1", channel="telegram")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        made = await nurse.post_form("/app/patients/P1/invite", token_from="/app/patients/P1")
        again = await nurse.get("/app/patients/P1")

    found = INVITE_LINK.search(made.text)
    assert made.status_code == 200 and found
    link = found.group(1)
    assert link.startswith("https://t.me/GlowCareBot?start=")
    assert link not in again.text
    assert "An invite link works until" in again.text
    token = link.rsplit("=", 1)[1]
    with site.core.db.session() as session:
        assert all(token not in i.token_hash for i in session.query(Invite))
    invites = InviteRepository(site.core.db)
    assert invites.redeem(token, site.core.clock.now()) == patient_id
    assert len(audit_actions(site, AuditAction.PATIENT_INVITE)) == 1


async def test_without_a_bot_no_invite_link_is_made(site: Site) -> None:
    site.add_staff(NURSE)
    enroll(site, "P1", channel="telegram")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/patients/P1")
        refused = await nurse.post_form("/app/patients/P1/invite")

    assert "no invite link can be made" in page.text
    assert refused.status_code == 409
    assert audit_actions(site, AuditAction.PATIENT_INVITE) == []


async def test_a_treatment_time_is_previewed_then_saved_by_an_admin(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    patient_id = enroll(site, "P1", hours_ago=2)
    now = site.core.clock.now()  # 10:00 in New York; treated at 08:00
    before = dues(site, patient_id)
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        earlier = await admin.get("/app/patients/P1/treatment", params={"at": "2026-03-02T07:00"})
        day_before = await admin.get(
            "/app/patients/P1/treatment", params={"at": "2026-03-01T09:00"}
        )
        previewed = dues(site, patient_id)
        saved = await admin.post_form(
            "/app/patients/P1/treatment", {"at": "2026-03-02T07:00"}, token_from="/app/patients/P1"
        )
        page = await admin.get(saved.headers["location"])

    assert earlier.status_code == day_before.status_code == 200
    assert "Nothing has changed yet" in earlier.text
    assert re.search(r"<td[^>]*>Makeup</td>.*?3 Mar 2026, 07:00.*?Moves", earlier.text, re.S)
    assert re.search(r"<td[^>]*>Makeup</td>.*?Not sent: already past", day_before.text, re.S)
    assert previewed == before  # a preview changes nothing
    assert saved.status_code == 303
    assert "The treatment time is corrected" in page.text
    after = dues(site, patient_id)
    assert before["makeup"] == now - timedelta(hours=2) + timedelta(hours=24)
    assert after["makeup"] == now - timedelta(hours=3) + timedelta(hours=24)
    assert after["welcome"] == before["welcome"]  # the welcome is not repeated
    assert len(audit_actions(site, AuditAction.PATIENT_TREATMENT)) == 1


def dues(site: Site, patient_id: int) -> dict[str, object]:
    with site.core.db.session() as session:
        return {
            r.milestone: r.due_at
            for r in session.query(Reminder).filter_by(patient_id=patient_id)
            if r.status == "pending"
        }


async def test_a_treatment_time_out_of_the_window_is_refused_with_the_reason(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    enroll(site, "P1")
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        too_old = await admin.get("/app/patients/P1/treatment", params={"at": "2026-01-05T09:00"})
        garbage = await admin.get("/app/patients/P1/treatment", params={"at": "soon"})

    assert too_old.status_code == garbage.status_code == 400
    assert "Treatment time: treatment is older than" in too_old.text
    assert "Treatment time: not" in garbage.text
    assert 'aria-invalid="true"' in too_old.text
    assert 'value="soon"' in garbage.text  # the form keeps what was typed


async def test_a_correction_keeps_the_sessions_in_order(site: Site) -> None:
    """Between two sessions the form corrects the one that happened, and never moves it
    onto or past the one booked ahead (that appointment is the booking export's)."""
    site.add_staff(ADMIN, "admin")
    patient_id = enroll(site, "P1", hours_ago=2)  # Mon 2 Mar 08:00 in New York
    now = site.core.clock.now()
    with site.core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        booked = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Mon 9 Mar 10:00 in New York
        site.core.planner.add_treatment(session, patient, booked, now)
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        past_it = await admin.get("/app/patients/P1/treatment", params={"at": "2026-03-09T11:00"})
        onto_it = await admin.post_form(
            "/app/patients/P1/treatment", {"at": "2026-03-09T10:00"}, token_from="/app/patients/P1"
        )
        before_it = await admin.get("/app/patients/P1/treatment", params={"at": "2026-03-02T09:00"})

    assert past_it.status_code == onto_it.status_code == 400
    for refused in (past_it, onto_it):
        assert "Treatment time: the patient has another session on 9 Mar 2026, 10:00" in (
            refused.text
        )
    assert before_it.status_code == 200
    assert "2 Mar 2026, 08:00" in before_it.text  # the session that happened is corrected
    assert audit_actions(site, AuditAction.PATIENT_TREATMENT) == []


async def test_nurses_may_not_correct_a_treatment_time_or_erase(site: Site) -> None:
    site.add_staff(NURSE)
    patient_id = enroll(site, "P1")
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/patients/P1")
        preview = await nurse.get("/app/patients/P1/treatment", params={"at": "2026-03-02T09:00"})
        erase = await nurse.post_form("/app/patients/P1/erase", {"confirm": "erase"})

    assert "Preview new times" not in page.text and "Erase patient" not in page.text
    assert preview.status_code == erase.status_code == 403
    assert patient_row(site, patient_id).erased_at is None


async def test_erasing_asks_first_then_follows_the_apis_rule(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    patient_id = enroll(site, "P1", first_name="Ana")
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        confirm = await admin.get("/app/patients/P1/erase")
        unconfirmed = await admin.post_form("/app/patients/P1/erase")
        still_there = patient_row(site, patient_id)
        erased = await admin.post_form("/app/patients/P1/erase", {"confirm": "erase"})
        page = await admin.get(erased.headers["location"])

    assert confirm.status_code == 200 and "Erase Ana?" in confirm.text
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == "/app/patients/P1/erase"
    assert still_there.erased_at is None
    assert erased.status_code == 303
    row = patient_row(site, patient_id)
    assert (row.first_name, row.phone, row.erased_at) == (None, None, site.core.clock.now())
    with site.core.db.session() as session:
        statuses = {r.status for r in session.query(Reminder).filter_by(patient_id=patient_id)}
    assert statuses == {"cancelled"}
    assert "Erased patient" in page.text and "personal data was erased" in page.text
    assert "Ana" not in page.text
    assert [a for a, _ in audit_actions(site, AuditAction.PATIENT_ERASE)] == [ADMIN]
