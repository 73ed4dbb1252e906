"""/app/protocol over HTTP on SQLite and PostgreSQL: every staff member reads which
protocol the clinic's new sessions get, the services mapped to one of their own, the
day-before switch and how far ahead appointments are taken, and each protocol's steps."""

from __future__ import annotations

import re

import pytest

from scheduler.clock import FakeClock
from storage.clinic_columns import save_days_ahead
from storage.day_before import save_day_before
from tests.aftercare.dashboard.conftest import Site, both_databases
from tests.scheduler.protocol_kit import clinic_toml, upload

NURSE = "nurse@glow.example"
PRP = "Microneedling with PRP"
STEP = re.compile(
    r'<td data-label="Step"><span class="cell-strong">([^<]+)</span></td>\s*'
    r'<td data-label="Kind"><span class="badge [^"]+">([^<]+)</span></td>\s*'
    r'<td data-label="When">([^<]+)</td>'
)

database_url = pytest.fixture(both_databases)  # the page is what it reads


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}-title"')
    return html[start : html.index("</section>", start)]


async def read_page(site: Site) -> str:
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/protocol")
    assert page.status_code == 200
    return page.text.replace("&#39;", "'")


async def test_a_clinic_on_the_built_in_protocol_sees_its_steps_and_the_switches_off(
    site: Site,
) -> None:
    html = await read_page(site)

    settings = section(html, "settings")
    assert re.search(r"<dd>Built-in \(microneedling, version \d+\)\.</dd>", settings)
    assert "None: services whose name says microneedling" in settings
    assert ">Off</span>" in settings
    assert "Up to 90 days" in settings
    steps = STEP.findall(section(html, "protocol-default"))
    assert steps[0] == (
        "Day before",
        "Reminder",
        "1 day before the appointment (off: the day-before reminder is off)",
    )
    assert steps[1] == (
        "Welcome",
        "Welcome",
        "1 hour after a booked appointment; at once when enrolled after the treatment",
    )
    assert ("Sunscreen", "Advice", "14 days after the treatment") in steps
    assert ("Check-in", "Check-in", "24 hours after the treatment") in steps
    assert 'href="/app/protocol" aria-current="page"' in html


async def test_a_clinics_own_versions_services_and_switches_are_shown(
    site: Site, clock: FakeClock
) -> None:
    upload(site.core.db, site.clinic.id, clock.now(), clinic_toml())
    upload(site.core.db, site.clinic.id, clock.now(), clinic_toml("prp", "7d"), service=PRP)
    save_day_before(site.core.db, site.clinic.slug, True)
    save_days_ahead(site.core.db, site.clinic.slug, 30)

    html = await read_page(site)

    settings = section(html, "settings")
    assert "<dd>The clinic's version 1, uploaded 2 Mar 2026, 10:00 (clinic.toml).</dd>" in html
    assert f"{PRP}</span>: The clinic's version 2, uploaded" in settings
    assert ">On</span>" in settings
    assert "Up to 30 days" in settings
    default = STEP.findall(section(html, "protocol-default"))
    assert default[0][2] == "1 day before the appointment"
    assert default[1][2].startswith("2 hours after a booked appointment")  # its welcome delay
    assert ("Sunscreen", "Advice", "10 days after the treatment") in default
    service = section(html, "protocol-service-1")
    assert f">{PRP}</h2>" in service
    assert ("Sunscreen", "Advice", "7 days after the treatment") in STEP.findall(service)


async def test_the_page_is_for_signed_in_staff_only(site: Site) -> None:
    async with site.client() as stranger:
        page = await stranger.get("/app/protocol")

    assert page.status_code in (302, 303)
    assert page.headers["location"].startswith("/login")
