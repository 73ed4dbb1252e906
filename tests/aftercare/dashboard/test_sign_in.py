"""Signing in and out over HTTP: the form, one generic error, cookies, sessions that end
when idle, CSRF on every form, and the headers on every page."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest

from aftercare.dashboard.pages.login import safe_next
from aftercare.wiring import build_core
from scheduler.clock import FakeClock
from storage.audit import AuditQuery
from tests.aftercare.dashboard.conftest import PASSWORD, Site, csrf_token_in, make_site
from tests.conftest import make_settings


def cookie_attributes(set_cookie: str) -> dict[str, str]:
    parsed = SimpleCookie()
    parsed.load(set_cookie)
    (morsel,) = parsed.values()
    return {key: str(value) for key, value in morsel.items() if value}


async def test_the_sign_in_page_has_labelled_email_and_password_fields(site: Site) -> None:
    async with site.client() as browser:
        page = await browser.get("/login")

    assert page.status_code == 200
    assert '<label for="login-email">Email</label>' in page.text
    assert 'name="email"' in page.text
    assert '<label for="login-password">Password</label>' in page.text
    assert 'name="password"' in page.text
    assert csrf_token_in(page.text)


async def test_the_right_password_opens_a_session_with_a_safe_cookie(site: Site) -> None:
    site.add_staff("nurse@glow.example")
    async with site.client() as browser:
        answer = await browser.sign_in("Nurse@Glow.example ", PASSWORD)
        home = await browser.get("/app")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/app"
    session = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("aftercare_session=")
    )
    attributes = cookie_attributes(session)
    assert attributes["httponly"] == "True"
    assert attributes["samesite"].lower() == "lax"
    assert "secure" not in attributes  # PUBLIC_BASE_URL is not https here
    assert home.status_code == 200
    assert "Signed in as nurse@glow.example" in home.text


def test_the_cookies_are_secure_when_the_service_is_published_over_https(
    sqlite_url: str, clock: FakeClock
) -> None:
    core = build_core(make_settings(sqlite_url, public_base_url="https://care.example.com"), clock)
    clinic = core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York")
    site = make_site(core, clinic)
    site.add_staff("nurse@glow.example")

    async def sign_in() -> list[str]:
        async with site.client(scheme="https") as browser:  # Secure cookies go over https
            form = await browser.get("/login")
            answer = await browser.sign_in("nurse@glow.example")
        return [*form.headers.get_list("set-cookie"), *answer.headers.get_list("set-cookie")]

    try:
        cookies = asyncio.run(sign_in())
    finally:
        core.close()
    assert len(cookies) == 4  # the form's token; then session, device, the token cleared
    assert all("secure" in cookie_attributes(cookie) for cookie in cookies)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("nurse@glow.example", "wrong password!!"),  # wrong password
        ("nobody@glow.example", PASSWORD),  # no such account
        ("not an email", PASSWORD),
    ],
)
async def test_wrong_credentials_get_one_generic_message(
    site: Site, email: str, password: str
) -> None:
    site.add_staff("nurse@glow.example")
    async with site.client() as browser:
        answer = await browser.sign_in(email, password)

    assert answer.status_code == 200  # the form again
    assert "Email or password is not right. Please try again." in answer.text
    assert "aftercare_session" not in answer.headers.get("set-cookie", "")


async def test_a_sign_in_without_the_form_token_is_forbidden(site: Site) -> None:
    site.add_staff("nurse@glow.example")
    async with site.client() as browser:
        await browser.get("/login")
        answer = await browser.http.post(
            "/login", data={"email": "nurse@glow.example", "password": PASSWORD}
        )
        forged = await browser.http.post(
            "/login",
            data={"email": "nurse@glow.example", "password": PASSWORD, "csrf_token": "x" * 32},
        )

    assert answer.status_code == 403
    assert forged.status_code == 403
    assert "This form has expired" in answer.text


async def test_pages_need_a_session_and_come_back_after_sign_in(site: Site) -> None:
    site.add_staff("admin@glow.example", "admin")
    async with site.client() as browser:
        away = await browser.get("/app/audit?action=signin")
        form = await browser.get(away.headers["location"])
        answer = await browser.http.post(
            "/login",
            data={
                "csrf_token": csrf_token_in(form.text),
                "email": "admin@glow.example",
                "password": PASSWORD,
                "next": "/app/audit?action=signin",
            },
        )

    assert away.status_code == 303
    assert away.headers["location"] == "/login?next=%2Fapp%2Faudit%3Faction%3Dsignin"
    assert answer.headers["location"] == "/app/audit?action=signin"


@pytest.mark.parametrize(
    ("asked", "safe"),
    [
        ("/app/patients?q=ana", "/app/patients?q=ana"),
        ("/app", "/app"),
        ("https://evil.example/app", "/app"),
        ("//evil.example/app", "/app"),
        ("/\\evil.example", "/app"),
        ("/application", "/app"),
        ("/app/\r\nLocation: x", "/app"),
        (None, "/app"),
    ],
)
def test_after_sign_in_only_a_dashboard_path_is_followed(asked: str | None, safe: str) -> None:
    assert safe_next(asked) == safe


async def test_sign_out_ends_the_session_and_needs_the_csrf_token(site: Site) -> None:
    site.add_staff("nurse@glow.example")
    async with site.client() as browser:
        await browser.sign_in("nurse@glow.example")
        refused = await browser.post_form("/logout", token_from=None)
        still_in = await browser.get("/app")
        cookie = browser.http.cookies.get("aftercare_session")
        answer = await browser.post_form("/logout")
        after = await browser.get("/app")
        signed_out_page = await browser.get(answer.headers["location"])
    async with site.client() as thief:  # the old cookie, replayed, opens nothing
        thief.http.cookies.set("aftercare_session", cookie or "")
        replayed = await thief.get("/app")

    assert refused.status_code == 403
    assert still_in.status_code == 200
    assert answer.status_code == 303
    assert after.status_code == 303
    assert "You are signed out." in signed_out_page.text
    assert replayed.status_code == 303


async def test_a_session_ends_after_the_idle_time_and_not_before(
    site: Site, clock: FakeClock
) -> None:
    site.add_staff("nurse@glow.example")
    idle = timedelta(hours=site.core.settings.dashboard_idle_hours)
    assert idle == timedelta(hours=12)  # the default
    async with site.client() as browser:
        await browser.sign_in("nurse@glow.example")
        clock.advance(idle - timedelta(minutes=1))
        active = await browser.get("/app")  # use keeps it alive
        clock.advance(idle - timedelta(minutes=1))
        still_active = await browser.get("/app")
        clock.advance(idle)
        expired = await browser.get("/app")
        notice = await browser.get(expired.headers["location"])

    assert active.status_code == 200
    assert still_active.status_code == 200
    assert expired.status_code == 303
    assert "expired=1" in expired.headers["location"]
    assert "Your session ended. Please sign in again." in notice.text


async def test_a_forged_or_altered_session_cookie_opens_nothing(site: Site) -> None:
    site.add_staff("nurse@glow.example")
    async with site.client() as browser:
        await browser.sign_in("nurse@glow.example")
        good = browser.http.cookies.get("aftercare_session") or ""
    token, _, signature = good.rpartition(".")
    altered = ("y" if token.startswith("x") else "x") + token[1:]  # never the token itself
    for forged in (token, f"{token}.{signature[::-1]}", f"{altered}.{signature}", "a" * 500):
        async with site.client() as attacker:
            attacker.http.cookies.set("aftercare_session", forged)
            assert (await attacker.get("/app")).status_code == 303


async def test_every_page_and_error_carries_the_security_headers(site: Site) -> None:
    site.add_staff("admin@glow.example", "admin")
    async with site.client() as browser:
        answers = [await browser.get("/login"), await browser.get("/app/nowhere")]
        await browser.sign_in("admin@glow.example")
        for path in ("/app", "/app/staff", "/app/audit", "/app/settings/api-key", "/app/x"):
            answers.append(await browser.get(path))
        answers.append(await browser.post_form("/app/staff", token_from=None))

    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["cache-control"] == "no-store"


async def test_static_files_are_served_and_may_be_cached(site: Site) -> None:
    async with site.client() as browser:
        css = await browser.get("/app/static/app.css")

    assert css.status_code == 200
    assert "cache-control" not in css.headers or "no-store" not in css.headers["cache-control"]
    assert css.headers["x-content-type-options"] == "nosniff"


async def test_a_cross_site_post_is_refused_even_with_a_token(site: Site) -> None:
    site.add_staff("nurse@glow.example")
    async with site.client() as browser:
        await browser.sign_in("nurse@glow.example")
        token = await browser.csrf()
        answer = await browser.http.post(
            "/logout", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
        )

    assert answer.status_code == 403


async def test_sign_ins_and_failures_are_in_the_audit_trail(site: Site) -> None:
    nurse = site.add_staff("nurse@glow.example")
    async with site.client("198.51.100.4") as browser:
        await browser.sign_in("nurse@glow.example", "not the password")
        await browser.sign_in("nurse@glow.example")
        await browser.post_form("/logout")
        await browser.sign_in("stranger@glow.example", "whatever password")

    entries = site.dashboard.audit.entries(site.clinic.id, AuditQuery(), 10)
    assert [(e.action, e.staff_id, e.actor, e.address) for e in entries[:3]] == [
        ("signout", nurse.id, "nurse@glow.example", "198.51.100.4"),
        ("signin", nurse.id, "nurse@glow.example", "198.51.100.4"),
        ("signin.failed", nurse.id, "nurse@glow.example", "198.51.100.4"),
    ]
    # An unknown email belongs to no clinic's trail, and its text is not kept.
    assert all("stranger" not in (e.actor or "") for e in entries)
