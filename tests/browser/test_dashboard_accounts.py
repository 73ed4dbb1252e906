"""Staff sign-in, sign-out and the admin pages in a real Chromium, against the whole
service on 127.0.0.1 (the page fixture fails a test on any console error, CSP violation
included, and on any request that would leave the machine)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Dialog, Page, expect

from storage.audit import AuditAction, AuditLog
from tests.browser.dashboard_site import PASSWORD, DashboardSite
from tests.browser.harness import PageGuard

ADMIN = "admin@glow.example"
NURSE = "nurse@glow.example"
Shoot = Callable[[Page, str], Path]


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_staff_sign_in_with_email_and_password(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot
) -> None:
    dashboard_site.add_staff(NURSE)

    page.goto(dashboard_site.url("/app"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fapp$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert fits_the_width(page)
    screenshot(page, "login-390")
    page.get_by_label("Email").fill(NURSE)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(dashboard_site.url("/app"))
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {NURSE}")).to_be_attached()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Staff")).to_have_count(0)  # nurses: no admin pages


def test_a_wrong_password_gets_the_generic_message_and_keeps_the_email(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot
) -> None:
    dashboard_site.add_staff(NURSE)

    page.goto(dashboard_site.url("/login"))
    page.get_by_label("Email").fill(NURSE)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Email or password is not right. Please try again.")
    expect(page.get_by_label("Email")).to_have_value(NURSE)
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "login-failed-390")
    page.goto(dashboard_site.url("/app"))
    expect(page).to_have_url(re.compile(r"/login"))  # no session was opened


def test_a_form_sent_without_its_csrf_token_is_refused(
    page: Page, dashboard_site: DashboardSite, page_guard: PageGuard
) -> None:
    dashboard_site.add_staff(ADMIN, "admin")
    dashboard_site.sign_in(page, ADMIN)
    page.goto(dashboard_site.url("/app/staff"))
    form = page.locator("form[action='/app/staff']")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    form.get_by_label("Email").fill("new@glow.example")

    with page.expect_response(dashboard_site.url("/app/staff")) as answer:
        form.get_by_role("button", name="Add staff member").click()

    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    api = page.request.post(dashboard_site.url("/logout"), form={})
    assert api.status == 403
    page.goto(dashboard_site.url("/app/staff"))
    expect(page.get_by_text("new@glow.example")).to_have_count(0)
    refused = page_guard.take()  # the 403 is what this test provokes; nothing else
    assert refused.console_errors and all("403" in e for e in refused.console_errors)


def test_another_clinics_staff_page_is_not_found_and_its_trail_never_shows(
    page: Page, dashboard_site: DashboardSite, page_guard: PageGuard
) -> None:
    dashboard_site.add_staff(ADMIN, "admin")
    stranger = dashboard_site.add_staff("zed@other.example", "admin", dashboard_site.other)
    AuditLog(dashboard_site.core.db).record(
        dashboard_site.core.clock.now(),
        dashboard_site.other.id,
        stranger.id,
        AuditAction.PATIENT_VIEW,
        "patient",
        4242,
        actor=stranger.email,
    )
    dashboard_site.sign_in(page, ADMIN)

    answer = page.goto(dashboard_site.url(f"/app/staff/{stranger.id}"))

    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    not_found = page_guard.take()
    assert not_found.console_errors and all("404" in e for e in not_found.console_errors)
    page.goto(dashboard_site.url("/app/audit"))
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.get_by_text("zed@other.example")).to_have_count(0)
    expect(page.get_by_text("patient 4242")).to_have_count(0)


def test_sign_out_ends_the_session(page: Page, dashboard_site: DashboardSite) -> None:
    dashboard_site.add_staff(NURSE)
    dashboard_site.sign_in(page, NURSE)

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login\?signed_out=1$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.go_back()
    page.reload()
    expect(page).to_have_url(re.compile(r"/login"))


def test_an_admin_adds_a_nurse_and_reads_the_audit_trail_on_a_phone(
    page: Page, dashboard_site: DashboardSite, screenshot: Shoot
) -> None:
    dashboard_site.add_staff(ADMIN, "admin")
    dashboard_site.sign_in(page, ADMIN)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_label("Email").fill("new.nurse@glow.example")
    page.get_by_label("Role").select_option(label="Nurse")
    page.get_by_role("button", name="Add staff member").click()
    one_time = page.locator("#one-time-password").inner_text()
    assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", one_time)
    assert fits_the_width(page)
    screenshot(page, "staff-added-390")
    page.get_by_role("link", name="new.nurse@glow.example").click()
    page.once("dialog", lambda dialog: dialog_accept(dialog))
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("new.nurse@glow.example was removed.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)  # signed in, added, removed, and the admin's own account
    expect(rows.first).to_contain_text("Removed staff member")
    page.get_by_label("Action").select_option(label="Added staff member")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)
    assert fits_the_width(page)
    screenshot(page, "audit-390")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text("utf-8")
    assert exported.splitlines()[0].startswith("time,time_utc,who,action")
    assert "staff.add" in exported and "signin" not in exported


def dialog_accept(dialog: Dialog) -> None:
    assert "They are signed out at once." in dialog.message
    dialog.accept()
