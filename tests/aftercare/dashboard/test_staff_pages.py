"""The admin pages over HTTP: staff accounts, one-time passwords, roles and clinic scoping."""

from __future__ import annotations

import re

from aftercare.dashboard.accounts import COMMAND_LINE
from storage.audit import AuditQuery
from tests.aftercare.dashboard.conftest import PASSWORD, Site

ADMIN = "admin@glow.example"
ONE_TIME = re.compile(r'id="one-time-password">([a-z2-9-]+)<')


async def test_an_admin_adds_a_nurse_who_sees_the_one_time_password_once(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        added = await admin.post_form(
            "/app/staff", {"email": "New.Nurse@glow.example", "role": "nurse"}
        )
        listing = await admin.get("/app/staff")

    found = ONE_TIME.search(added.text)
    assert added.status_code == 200
    assert found, "the one-time password is on the page"
    assert "new.nurse@glow.example can now sign in." in added.text
    assert found.group(1) not in listing.text  # shown once
    assert "Must choose a password" in listing.text
    account = site.accounts.store.by_email("new.nurse@glow.example")
    assert account is not None and account.role == "nurse"
    assert found.group(1) not in account.password_hash


async def test_a_one_time_password_leads_to_choosing_ones_own(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    one_time = site.accounts.add(
        site.clinic.id, "new@glow.example", "nurse", None, COMMAND_LINE
    ).one_time_password
    assert one_time is not None
    async with site.client() as nurse:
        signed_in = await nurse.sign_in("new@glow.example", one_time)
        elsewhere = await nurse.get("/app/audit")
        form = await nurse.get("/app/password")
        mismatch = await nurse.post_form(
            "/app/password",
            {"current": one_time, "new": "my own passphrase", "repeat": "my own passfrase"},
            token_from="/app/password",
        )
        changed = await nurse.post_form(
            "/app/password",
            {"current": one_time, "new": "my own passphrase", "repeat": "my own passphrase"},
            token_from="/app/password",
        )
        home = await nurse.get(changed.headers["location"])
        await nurse.post_form("/logout")
        old_again = await nurse.sign_in("new@glow.example", one_time)

    assert signed_in.status_code == 303
    assert elsewhere.status_code == 303
    assert elsewhere.headers["location"] == "/app/password"
    assert "the one you were given works only once" in form.text
    assert mismatch.status_code == 400
    assert "The two new passwords are not the same." in mismatch.text
    assert changed.status_code == 303
    assert "Your password is changed." in home.text
    assert "Email or password is not right." in old_again.text


async def test_adding_refuses_a_bad_email_or_one_in_use_and_keeps_what_was_typed(
    site: Site,
) -> None:
    site.add_staff(ADMIN, "admin")
    site.add_staff("taken@other.example", clinic=site.other)
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        bad = await admin.post_form("/app/staff", {"email": "nurse at glow", "role": "nurse"})
        taken = await admin.post_form(
            "/app/staff", {"email": "taken@other.example", "role": "admin"}
        )

    assert bad.status_code == 400
    assert "is not an email address" in bad.text
    assert 'value="nurse at glow"' in bad.text
    assert taken.status_code == 400
    assert "Taken@other.example already has a dashboard account." in taken.text
    assert "Other Clinic" not in taken.text


async def test_reset_and_remove_work_on_the_members_page(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    nurse = site.add_staff("nurse@glow.example")
    async with site.client() as nurse_browser:
        await nurse_browser.sign_in("nurse@glow.example")
        async with site.client() as admin:
            await admin.sign_in(ADMIN)
            page = await admin.get(f"/app/staff/{nurse.id}")
            reset = await admin.post_form(f"/app/staff/{nurse.id}/reset")
            nurse_after_reset = await nurse_browser.get("/app")
            removed = await admin.post_form(f"/app/staff/{nurse.id}/remove")
            gone = await admin.get(f"/app/staff/{nurse.id}")

    assert page.status_code == 200
    assert "Recent activity" in page.text and "Signed in" in page.text
    assert reset.status_code == 200
    assert ONE_TIME.search(reset.text)
    assert nurse_after_reset.status_code == 303  # signed out everywhere
    assert removed.status_code == 200
    assert "nurse@glow.example was removed." in removed.text
    assert gone.status_code == 404
    actions = [e.action for e in site.dashboard.audit.entries(site.clinic.id, AuditQuery(), 20)]
    assert actions[:2] == ["staff.remove", "staff.password"]


async def test_an_admin_cannot_remove_themselves_or_the_last_admin(site: Site) -> None:
    me = site.add_staff(ADMIN, "admin")
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        own_page = await admin.get(f"/app/staff/{me.id}")
        myself = await admin.post_form(f"/app/staff/{me.id}/remove")

    assert f'action="/app/staff/{me.id}/remove"' not in own_page.text
    assert myself.status_code == 400
    assert "You cannot remove your own account." in myself.text
    assert site.accounts.store.by_email(ADMIN) is not None


async def test_another_clinics_staff_member_is_not_found(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    stranger = site.add_staff("zed@other.example", "admin", clinic=site.other)
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        page = await admin.get(f"/app/staff/{stranger.id}")
        removal = await admin.post_form(f"/app/staff/{stranger.id}/remove")
        reset = await admin.post_form(f"/app/staff/{stranger.id}/reset")
        huge = await admin.get("/app/staff/99999999999999")
        listing = await admin.get("/app/staff")

    assert [page.status_code, removal.status_code, reset.status_code] == [404, 404, 404]
    assert huge.status_code == 404
    assert "Page not found" in page.text
    assert "zed@other.example" not in page.text + listing.text
    assert site.accounts.store.by_email("zed@other.example") is not None


async def test_nurses_may_not_open_the_admin_pages(site: Site) -> None:
    site.add_staff("nurse@glow.example")
    async with site.client() as nurse:
        await nurse.sign_in("nurse@glow.example")
        home = await nurse.get("/app")
        pages = [
            await nurse.get(path)
            for path in ("/app/staff", "/app/audit", "/app/audit.csv", "/app/settings/api-key")
        ]
        add = await nurse.post_form("/app/staff", {"email": "x@glow.example", "role": "admin"})

    assert home.status_code == 200
    assert 'href="/app/staff"' not in home.text
    assert [p.status_code for p in pages] == [403, 403, 403, 403]
    assert "dashboard admins can open this page." in pages[0].text
    assert add.status_code == 403
    assert site.accounts.store.by_email("x@glow.example") is None


async def test_every_admin_form_needs_the_csrf_token(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    nurse = site.add_staff("nurse@glow.example")
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        answers = [
            await admin.post_form(path, data, token_from=None)
            for path, data in [
                ("/app/staff", {"email": "x@glow.example", "role": "admin"}),
                (f"/app/staff/{nurse.id}/reset", {}),
                (f"/app/staff/{nurse.id}/remove", {}),
                ("/app/settings/api-key", {}),
                ("/app/password", {"current": PASSWORD, "new": "x" * 20, "repeat": "x" * 20}),
                ("/logout", {}),
            ]
        ]
        other_session = await admin.http.post(
            "/app/staff",
            data={"email": "y@glow.example", "role": "admin", "csrf_token": "A" * 43},
        )

    assert [a.status_code for a in answers] == [403] * 6
    assert other_session.status_code == 403
    assert site.accounts.store.by_email("x@glow.example") is None
    assert len(site.accounts.store.list(site.clinic.id)) == 2
