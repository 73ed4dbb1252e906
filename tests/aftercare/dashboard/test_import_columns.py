"""The import's column names over HTTP: the saved names shown on the upload page, changed
in a form (admins, CSRF, audited, checked field by field), and offered pre-filled with
the header of an upload that lacks a required column, which is then checked again."""

from __future__ import annotations

import re

import pytest

from aftercare.dashboard.column_form import mapping_problems, read_mapping
from clinic.csv_rows import COLUMNS
from storage.audit import AuditAction, AuditQuery
from storage.clinic_columns import column_map, save_column_map
from tests.aftercare.dashboard.conftest import Browser, Site, both_databases
from tests.aftercare.dashboard.test_import_pages import checked, patients_in, settle

ADMIN = "admin@glow.example"
NURSE = "nurse@glow.example"
OWN_HEADER = "Client Number,Given Name,Cell Phone,Appt Start,Appt Ref\n"
OWN_NAMES = {
    "external_id": "Client Number",
    "treatment_at": "Appt Start",
    "appointment_id": "Appt Ref",
    "phone": "Cell Phone",
    "first_name": "Given Name",
}

database_url = pytest.fixture(both_databases)  # the names are stored on the clinic


def own_export(site: Site) -> str:
    """A booking system's export under its own header: two appointments, one ahead."""
    return OWN_HEADER + (
        "C-1,Ana,(212) 555-0101,2026-03-02 09:00,A-1\nC-2,Bea,(212) 555-0102,2026-03-04 11:00,A-2\n"
    )


def form_of(mapping: dict[str, str]) -> dict[str, str]:
    return {f"map.{column}": mapping.get(column, "") for column in COLUMNS}


def field_value(html: str, column: str) -> str:
    found = re.search(rf'id="map-{column}" name="map\.{column}" type="text" value="([^"]*)"', html)
    assert found, column
    return found.group(1)


def audited(site: Site) -> list[tuple[str | None, str | None]]:
    entries = site.dashboard.audit.entries(
        site.clinic.id, AuditQuery(action=AuditAction.IMPORT_COLUMNS.value), 10
    )
    return [(entry.actor, entry.target_id) for entry in entries]


async def signed_in_admin(site: Site, browser: Browser) -> None:
    site.add_staff(ADMIN, "admin")
    await browser.sign_in(ADMIN)


async def test_the_upload_page_shows_the_saved_names_and_the_booking_columns(site: Site) -> None:
    save_column_map(site.core.db, site.clinic.slug, {"external_id": "Client Number"})
    async with site.client() as browser:
        await signed_in_admin(site, browser)
        page = await browser.get("/app/import")

    html = page.text
    own = html[html.index('class="card own-names"') :]
    assert re.search(
        r'<dt><span class="mono">external_id</span></dt>\s*'
        r'<dd><span class="mono break">Client Number</span></dd>',
        own,
    )
    assert 'href="/app/import/columns"' in own
    for column in ("appointment_id", "service", "status"):
        assert f'<span class="mono">{column}</span>' in html
    assert "Start Time" in html and "Client ID" in html  # the aliases
    assert "created, new session, corrected, cancelled, unchanged or skipped" in html


async def test_an_admin_changes_the_names_in_a_form_and_it_is_audited(site: Site) -> None:
    save_column_map(site.core.db, site.clinic.slug, {"phone": "Mobile Number"})
    async with site.client() as browser:
        await signed_in_admin(site, browser)
        form = await browser.get("/app/import/columns")
        saved = await browser.post_form(
            "/app/import/columns", form_of(OWN_NAMES), token_from="/app/import/columns"
        )
        shown = await browser.get(saved.headers["location"])

    assert form.status_code == 200
    assert field_value(form.text, "phone") == "Mobile Number"  # what is saved, pre-filled
    assert field_value(form.text, "external_id") == ""
    assert saved.status_code == 303
    assert saved.headers["location"] == "/app/import?notice=import.columns_saved"
    assert "Your column names are saved." in shown.text
    assert column_map(site.core.db, site.clinic.slug) == OWN_NAMES  # phone replaced, not kept
    assert audited(site) == [(ADMIN, site.clinic.slug)]


async def test_blank_fields_go_back_to_the_usual_names(site: Site) -> None:
    save_column_map(site.core.db, site.clinic.slug, OWN_NAMES)
    async with site.client() as browser:
        await signed_in_admin(site, browser)
        saved = await browser.post_form(
            "/app/import/columns", form_of({}), token_from="/app/import/columns"
        )

    assert saved.status_code == 303
    assert column_map(site.core.db, site.clinic.slug) == {}


async def test_names_that_cannot_be_saved_are_marked_and_nothing_is_saved(site: Site) -> None:
    async with site.client() as browser:
        await signed_in_admin(site, browser)
        answer = await browser.post_form(
            "/app/import/columns",
            form_of({"external_id": "Client", "appointment_id": " client ", "service": "x" * 201}),
            token_from="/app/import/columns",
        )

    html = answer.text
    assert answer.status_code == 400
    assert "Nothing was saved: please fix the names marked below." in html
    assert re.search(r'id="map-appointment_id-error">The same name as for external_id', html)
    assert 'id="map-service-error">At most 200 characters.' in html
    assert 'id="map-external_id-error"' not in html
    assert field_value(html, "appointment_id") == "client"  # what was typed stays
    assert column_map(site.core.db, site.clinic.slug) == {}
    assert audited(site) == []


async def test_only_admins_and_only_with_the_csrf_token(site: Site) -> None:
    site.add_staff(NURSE)
    async with site.client() as nurse:
        await nurse.sign_in(NURSE)
        page = await nurse.get("/app/import/columns")
        post = await nurse.post_form("/app/import/columns", form_of(OWN_NAMES))
    async with site.client() as admin:
        await signed_in_admin(site, admin)
        forged = await admin.post_form("/app/import/columns", form_of(OWN_NAMES), token_from=None)

    assert (page.status_code, post.status_code, forged.status_code) == (403, 403, 403)
    assert column_map(site.core.db, site.clinic.slug) == {}


async def test_a_file_lacking_a_required_column_offers_the_form_with_its_header(
    site: Site,
) -> None:
    async with site.client() as browser:
        await signed_in_admin(site, browser)
        url = await checked(site, browser, own_export(site))
        failed = await browser.get(url)
        offered = re.search(r'href="(/app/import/columns\?token=[^"]+)"', failed.text)
        assert offered, failed.text
        form = await browser.get(offered.group(1).replace("&amp;", "&"))
        token = url.rsplit("/", 1)[1]
        # Still without a treatment time: refused, and the file's header is offered again.
        short = await browser.post_form(
            "/app/import/columns",
            {**form_of({"external_id": "Client Number"}), "token": token},
            token_from="/app/import/columns",
        )
        refused = column_map(site.core.db, site.clinic.slug)
        fixed = await browser.post_form(
            "/app/import/columns",
            {**form_of(OWN_NAMES), "token": token},
            token_from="/app/import/columns",
        )
        await settle(site)
        preview = await browser.get(fixed.headers["location"])

    assert "This file cannot be imported" in failed.text
    assert "missing required column(s) external_id, treatment_at" in failed.text
    for cell in ("Client Number", "Given Name", "Cell Phone", "Appt Start", "Appt Ref"):
        assert f'<li><span class="mono break">{cell}</span></li>' in form.text
        assert f'<option value="{cell}"></option>' in form.text
    assert f'name="token" value="{token}"' in form.text
    assert "Save and check the file again" in form.text
    assert short.status_code == 400
    assert "still has no column for treatment_at" in short.text
    assert refused == {}
    assert column_map(site.core.db, site.clinic.slug) == OWN_NAMES
    assert fixed.status_code == 303 and fixed.headers["location"] == url  # checked again
    assert "This is a preview. Nothing has been saved yet." in preview.text
    assert re.findall(r'<span class="cell-strong mono">([^<]+)</span>', preview.text) == [
        "C-1",
        "C-2",
    ]
    assert patients_in(site) == 0  # a preview, still
    assert audited(site) == [(ADMIN, site.clinic.slug)]


async def test_another_sessions_upload_is_never_offered(site: Site) -> None:
    async with site.client() as first:
        await signed_in_admin(site, first)
        url = await checked(site, first, own_export(site))
    async with site.client() as second:
        await second.sign_in(ADMIN)
        form = await second.get(f"/app/import/columns?token={url.rsplit('/', 1)[1]}")

    assert form.status_code == 200
    assert "Client Number" not in form.text
    assert 'name="token"' not in form.text


def test_a_form_is_read_blank_fields_left_out_and_checked_field_by_field() -> None:
    mapping = read_mapping({"map.external_id": "  Client ", "map.phone": "  ", "other": "x"})

    assert mapping == {"external_id": "Client"}
    assert mapping_problems({"external_id": "A\tB"}) == {
        "external_id": "Letters, digits and punctuation only (no tabs or line breaks)."
    }
    assert mapping_problems({"nonsense": "A"}) == {
        "nonsense": "nonsense is not a column of the import."
    }
    assert mapping_problems({"external_id": "Client_ID", "phone": "client id"}) == {
        "phone": "The same name as for external_id: each of your columns holds one of ours."
    }
