"""Templates, static files and headers: escaped output, navigation by role, the CSRF field,
content-hashed static URLs, and a strict CSP the files can live with."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from typing import Any

import pytest
from jinja2 import UndefinedError

from aftercare.dashboard.svg import STATE_COLOURS
from aftercare.dashboard.templating import (
    CONTENT_SECURITY_POLICY,
    make_environment,
    security_headers,
    static_version,
)

DASHBOARD = files("aftercare.dashboard")
ENV = make_environment()


def signed_in(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "page_title": "Inbox",
        "staff": {"email": "nurse@glow.example", "role": "nurse"},
        "clinic_name": "Glow Skin Clinic",
        "open_count": 3,
        "csrf_token": "tok-1",
        "nav_active": "inbox",
    }
    context.update(overrides)
    return context


def nav_links(html: str) -> list[str]:
    nav = html.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


def test_the_sign_in_page_has_the_email_and_password_fields() -> None:
    html = ENV.get_template("login.html").render(csrf_token="tok-1")

    assert re.search(r'<label for="login-email">Email</label>', html)
    assert re.search(r'<input id="login-email" name="email" type="email"', html)
    assert re.search(r'<label for="login-password">Password</label>', html)
    assert re.search(r'<input id="login-password" name="password" type="password"', html)
    assert '<input type="hidden" name="csrf_token" value="tok-1">' in html
    assert "<nav" not in html  # nobody is signed in yet


def test_what_a_user_typed_is_escaped() -> None:
    html = ENV.get_template("login.html").render(
        csrf_token='"><script>x</script>',
        email='"><img src=x onerror=alert(1)>',
        error="<b>no</b>",
        clinic_name="<i>Glow</i>",
    )

    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "<i>Glow</i>" not in html
    assert "&lt;b&gt;no&lt;/b&gt;" in html


def test_a_nurse_sees_inbox_patients_stats_and_the_protocol() -> None:
    html = ENV.get_template("base.html").render(**signed_in())

    assert nav_links(html) == ["/app", "/app/patients", "/app/stats", "/app/protocol"]


def test_an_admin_also_sees_import_staff_audit_and_the_api_key() -> None:
    html = ENV.get_template("base.html").render(
        **signed_in(staff={"email": "a@glow.example", "role": "admin"}, nav_active="audit")
    )

    assert nav_links(html) == [
        "/app",
        "/app/patients",
        "/app/import",
        "/app/stats",
        "/app/protocol",
        "/app/staff",
        "/app/audit",
        "/app/settings/api-key",
    ]
    assert re.search(r'<a href="/app/audit" aria-current="page">', html)


def test_the_navigation_shows_the_open_count_in_words_too() -> None:
    html = ENV.get_template("base.html").render(**signed_in(open_count=12))

    assert '<span aria-hidden="true">12</span>' in html
    assert "12 open" in html


def test_sign_out_is_a_post_form_with_the_csrf_token() -> None:
    html = ENV.get_template("base.html").render(**signed_in())

    form = html.split('<form method="post" action="/logout">', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="csrf_token" value="tok-1">' in form


def test_a_signed_in_page_without_a_csrf_token_does_not_render() -> None:
    context = signed_in()
    del context["csrf_token"]

    with pytest.raises(UndefinedError, match="csrf_token"):
        ENV.get_template("base.html").render(**context)


def test_a_page_has_a_skip_link_to_the_main_landmark() -> None:
    html = ENV.get_template("base.html").render(**signed_in())

    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<main id="main"' in html


def test_static_urls_carry_a_hash_of_the_content() -> None:
    data = DASHBOARD.joinpath("static", "app.css").read_bytes()
    html = ENV.get_template("login.html").render(csrf_token="x")

    version = hashlib.sha256(data).hexdigest()[:12]
    assert static_version("app.css") == version
    assert f'href="/app/static/app.css?v={version}"' in html
    with pytest.raises(FileNotFoundError):
        static_version("missing.css")


def test_pages_are_not_framed_cached_or_allowed_inline_code() -> None:
    private = security_headers()
    public = security_headers(private=False)

    assert private["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert private["X-Frame-Options"] == "DENY"
    assert private["Cache-Control"] == "no-store"
    assert "Cache-Control" not in public


def shipped_files() -> dict[str, str]:
    found = {}
    for folder in ("templates", "static"):
        for entry in DASHBOARD.joinpath(folder).iterdir():
            found[f"{folder}/{entry.name}"] = entry.read_text("utf-8")
    return found


def test_templates_use_no_inline_style_or_script() -> None:
    for name, source in shipped_files().items():
        if name.startswith("templates/"):
            assert not re.search(r"\sstyle\s*=", source), name
            assert not re.search(r"<style", source), name
            assert not re.search(r"<script(?![^>]*\bsrc=)", source), name
            assert not re.search(r"\son[a-z]+\s*=", source), name  # onclick= and the like


def test_nothing_shipped_refers_to_another_host() -> None:
    for name, source in shipped_files().items():
        without_namespace = source.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", without_namespace), name
        assert "@import" not in source and "@font-face" not in source, name


def test_the_stylesheet_and_the_pictures_use_the_same_state_colours() -> None:
    css = DASHBOARD.joinpath("static", "app.css").read_text("utf-8")

    in_css = dict(re.findall(r"--state-([a-z_]+):\s*(#[0-9a-f]{6});", css))
    assert in_css == STATE_COLOURS
