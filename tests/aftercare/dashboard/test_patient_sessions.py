"""A patient's sessions on the dashboard, over HTTP on SQLite and PostgreSQL: the list's
status and next booked session, and on the patient page each session with its state, the
upcoming one first and prominent, and the timeline of the plan that is current."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from scheduler.clock import FakeClock
from storage.day_before import save_day_before
from storage.models import Treatment
from tests.aftercare.dashboard.conftest import Site, both_databases
from tests.aftercare.dashboard.series_kit import (
    BEA,
    NEW_YORK,
    book_a_series,
    import_bookings,
    local,
)
from tests.scheduler.protocol_kit import clinic_toml, upload

NURSE = "nurse@glow.example"
SESSION = re.compile(r'<li class="session-(\w+)( session-current)?">(.*?)</li>', re.S)
APPOINTMENT = re.compile(r'<span class="mono">([^<]+)</span>')
ROW = re.compile(r'<tr>\s*<td class="cell-name">.*?href="/app/patients/([^"]+)".*?</tr>', re.S)
STATUS = re.compile(r'<span class="badge patient-(\w+)">')


database_url = pytest.fixture(both_databases)  # these pages are what they read


def sessions_of(html: str) -> list[tuple[str, str, bool]]:
    """(state, appointment id, current) of each session listed, in page order."""
    found = []
    for state, current, body in SESSION.findall(html):
        appointment = APPOINTMENT.search(body)
        found.append((state, appointment.group(1) if appointment else "", bool(current)))
    return found


def statuses_of(html: str) -> dict[str, str]:
    return {external_id: STATUS.findall(row)[0] for external_id, row in _rows(html)}


def _rows(html: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(0)) for m in ROW.finditer(html)]


def clinic_time(moment: datetime) -> str:
    local = moment.astimezone(NEW_YORK)
    return f"{local.day} {local:%b %Y, %H:%M}"


async def test_the_list_shows_who_is_booked_and_their_next_session(
    site: Site, clock: FakeClock
) -> None:
    now = book_a_series(site.core, clock, site.clinic.slug)
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        everyone = await nurse.get("/app/patients")
        booked = await nurse.get("/app/patients", params={"status": "booked"})
        active = await nurse.get("/app/patients", params={"status": "active"})

    # Ana's plan of two days ago runs (her next session does not make her "booked"); Bea's
    # only session is ahead.
    assert statuses_of(everyone.text) == {"C-2": "booked", "C-1": "active"}
    assert [i for i, _ in _rows(booked.text)] == ["C-2"]
    assert [i for i, _ in _rows(active.text)] == ["C-1"]
    rows = dict(_rows(everyone.text))
    assert clinic_time(now - timedelta(days=2, hours=2)) in rows["C-1"]  # the latest session
    assert "day 2" in rows["C-1"]
    assert "Next: <time" in rows["C-1"]
    assert clinic_time(now + timedelta(days=21)) in rows["C-1"]  # A-4, not the cancelled A-3
    assert clinic_time(now + timedelta(days=7)) not in rows["C-1"]
    assert clinic_time(now + timedelta(days=3)) in rows["C-2"]
    assert "day " not in rows["C-2"]


async def test_the_patient_page_lists_each_session_with_its_state_and_the_next_one_first(
    site: Site, clock: FakeClock
) -> None:
    now = book_a_series(site.core, clock, site.clinic.slug)
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/patients/C-1")

    html = page.text
    assert page.status_code == 200
    assert sessions_of(html) == [
        ("upcoming", "A-4", False),
        ("cancelled", "A-3", False),
        ("active", "A-2", True),
        ("ended", "A-1", False),
    ]
    # The next session stands above everything else, with when its aftercare starts.
    upcoming = html.index('class="card upcoming-card"')
    assert upcoming < html.index('class="patient-layout"')
    card = html[upcoming : html.index("</section>", upcoming)]
    assert clinic_time(now + timedelta(days=21)) in card
    assert "Appointment A-4" in card
    welcome = now + timedelta(days=21, hours=1)  # the protocol's welcome_delay
    assert f"the welcome is due {clinic_time(welcome)}." in card
    assert re.search(r"Its plan \(\d+ messages\)", card)
    # The timeline and its table are of the active plan (A-2, two days ago).
    assert "Day 2 of recovery" in html
    assert f"The plan of the session on {clinic_time(now - timedelta(days=2, hours=2))}." in html
    assert 'class="badge patient-active"' in html


async def test_a_patient_whose_only_session_is_ahead_is_booked_and_sees_that_plan(
    site: Site, clock: FakeClock
) -> None:
    now = book_a_series(site.core, clock, site.clinic.slug)
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/patients/C-2")

    html = page.text
    assert 'class="badge patient-booked">Booked<' in html
    assert sessions_of(html) == [("upcoming", "B-1", True)]
    assert "No session has happened yet: the timeline shows the plan" in html
    assert "of recovery" not in html
    assert "<dd>Not yet</dd>" in html
    welcome = now + timedelta(days=3, hours=1)
    assert f"the welcome is due {clinic_time(welcome)}." in html
    assert "Its plan (" not in html  # the timeline already shows it
    assert 'state-planned">Planned<' in html


async def test_each_session_names_the_protocol_version_it_was_planned_with(
    site: Site, clock: FakeClock
) -> None:
    """Sessions booked before the clinic uploaded its own protocol keep the built-in; the
    one booked after follows the clinic's version 1 (its welcome 2 hours after)."""
    now = book_a_series(site.core, clock, site.clinic.slug)
    upload(site.core.db, site.clinic.id, now, clinic_toml())
    later = now + timedelta(days=20)
    import_bookings(site.core, site.clinic.slug, [f"{BEA},{local(later)},B-2,Microneedling,Booked"])
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        ana = await nurse.get("/app/patients/C-1")
        bea = await nurse.get("/app/patients/C-2")

    assert "Protocol built-in (microneedling)" in ana.text
    assert "clinic&#39;s version" not in ana.text
    sessions = bea.text[bea.text.index('id="sessions-title"') :]
    labels = re.findall(r"Protocol ([^<·]+?)\s*(?:·|</span>)", sessions)
    assert labels == ["clinic&#39;s version 1", "built-in (microneedling)"]  # B-2, then B-1
    # B-1 stays the next session, planned with the built-in's 1-hour welcome.
    assert f"the welcome is due {clinic_time(now + timedelta(days=3, hours=1))}." in bea.text


async def test_a_reminder_the_day_before_is_on_the_timeline_before_the_treatment(
    site: Site, clock: FakeClock
) -> None:
    save_day_before(site.core.db, site.clinic.slug, True)
    booked = clock.now() + timedelta(days=3)
    import_bookings(
        site.core, site.clinic.slug, [f"C-7,Dee,(212) 555-0107,{local(booked)},D-1,Microneedling,"]
    )
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/patients/C-7")

    html = page.text
    start = html.index('<svg class="timeline"')
    picture = html[start : html.index("</svg>", start)]
    assert 'text-anchor="middle">-1</text>' in picture  # the line starts a day early
    assert ">Day before</text>" in picture
    assert 'class="timeline-now"' not in picture  # now is before the line's start
    assert re.search(r"<td>Day before</td>\s*<td class=\"nowrap\"><time", html)


async def test_a_sessions_booking_service_is_shown_when_it_is_stored(
    site: Site, clock: FakeClock
) -> None:
    book_a_series(site.core, clock, site.clinic.slug)
    with site.core.db.session() as session:  # as the import stores the export's service
        session.execute(
            update(Treatment)
            .where(Treatment.appointment_id == "B-1")
            .values(service="Microneedling with PRP")
        )
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        bea = await nurse.get("/app/patients/C-2")
        ana = await nurse.get("/app/patients/C-1")

    card = bea.text[bea.text.index('class="card upcoming-card"') :]
    assert '<span class="break">Microneedling with PRP</span> ·' in card.split("</section>")[0]
    sessions = bea.text[bea.text.index('id="sessions-title"') :]
    assert '<span class="break">Microneedling with PRP</span> ·' in sessions
    assert "Microneedling with PRP" not in ana.text  # Ana booked plain Microneedling
