"""The dashboard's design system in a real browser: templates, app.css and app.js served
with the strict Content-Security-Policy (any inline script or style would be a console
error, and the page fixture fails the test on those)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2 import FileSystemLoader
from playwright.sync_api import Dialog, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from aftercare.dashboard.bar_chart_svg import BarSeries, bar_chart_html
from aftercare.dashboard.strings import text
from aftercare.dashboard.templating import STATIC_PREFIX, make_environment, security_headers
from aftercare.dashboard.timeline_svg import Milestone, timeline_html
from messages import gsm7
from tests.browser.harness import ServedApp

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
ENV = make_environment(extra_loader=FileSystemLoader(Path(__file__).parent / "templates"))
VIEWPORTS = [
    pytest.param("mobile", id="390px"),
    pytest.param("desktop", id="1280px", marks=pytest.mark.viewport(1280, 800)),
]


def sample_timeline() -> Any:
    milestones = [
        Milestone("Welcome", T0, "delivered"),
        Milestone("Makeup", T0 + timedelta(hours=24), "sent"),
        Milestone("Workouts", T0 + timedelta(hours=48), "planned"),
        Milestone("Cleanser", T0 + timedelta(hours=72), "planned"),
        Milestone("Check-in", T0 + timedelta(days=7), "planned"),
        Milestone("Sunscreen", T0 + timedelta(days=14), "planned"),
    ]
    return timeline_html(T0, T0 + timedelta(hours=30), milestones, zone=NEW_YORK)


def sample_chart() -> Any:
    weeks = ["5 Jan", "12 Jan", "19 Jan", "26 Jan", "2 Feb", "9 Feb", "16 Feb", "23 Feb"]
    return bar_chart_html(
        "Reminders by week",
        weeks,
        [
            BarSeries("Sent", [120, 140, 90, 160, 150, 170, 130, 180], "sent"),
            BarSeries("Delivered", [115, 136, 88, 150, 147, 166, 127, 176], "delivered"),
            BarSeries("Failed", [5, 4, 2, 10, 3, 4, 3, 4], "failed"),
        ],
    )


def render(name: str, **context: Any) -> Response:
    return HTMLResponse(ENV.get_template(name).render(**context), headers=security_headers())


async def login(request: Request) -> Response:
    failed = "failed" in request.query_params
    return render(
        "login.html",
        csrf_token="token-123",
        clinic_name="Glow Skin Clinic",
        error=text("login.failed") if failed else "",
        email="nurse@glow.example" if failed else "",
    )


async def showcase(request: Request) -> Response:
    return render(
        "showcase.html",
        staff={"email": "nurse@glow.example", "role": request.query_params.get("role", "admin")},
        clinic_name="Glow Skin Clinic",
        open_count=2,
        csrf_token="token-123",
        nav_active="inbox",
        timeline=sample_timeline(),
        chart=sample_chart(),
    )


async def done(request: Request) -> Response:
    return render("login.html", csrf_token="x", notices=[("success", request.url.path)])


def preview_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/login", login),
            Route("/showcase", showcase),
            Route("/showcase/{action}", done, methods=["POST"]),
            Mount(STATIC_PREFIX, StaticFiles(packages=[("aftercare.dashboard", "static")])),
        ]
    )


@pytest.fixture
def preview(serve_asgi: Callable[[Starlette], ServedApp]) -> ServedApp:
    return serve_asgi(preview_app())


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_sign_in_form_has_labelled_fields_and_fits_the_screen(
    page: Page, preview: ServedApp, screenshot: Callable[[Page, str], Path], viewport: str
) -> None:
    page.goto(preview.url + "/login")

    page.get_by_label("Email").fill("nurse@glow.example")
    page.get_by_label("Password").fill("correct horse battery")
    assert page.get_by_label("Email").get_attribute("name") == "email"
    assert page.get_by_label("Password").get_attribute("name") == "password"
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("input[name=csrf_token]")).to_have_value("token-123")
    assert fits_the_width(page)
    screenshot(page, f"login-{viewport}")


def test_a_failed_sign_in_names_the_problem_once_and_keeps_the_email(
    page: Page, preview: ServedApp, screenshot: Callable[[Page, str], Path]
) -> None:
    page.goto(preview.url + "/login?failed")

    expect(page.get_by_role("alert")).to_have_text(
        "Email or password is not right. Please try again."
    )
    expect(page.get_by_label("Email")).to_have_value("nurse@glow.example")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "login-failed-mobile")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_signed_in_page_has_the_navigation_with_the_open_count(
    page: Page, preview: ServedApp, screenshot: Callable[[Page, str], Path], viewport: str
) -> None:
    page.goto(preview.url + "/showcase")

    nav = page.get_by_role("navigation", name="Main")
    for name in ("Patients", "Import", "Stats", "Audit"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    inbox = nav.get_by_role("link", name="Inbox 2 open")
    expect(inbox).to_have_attribute("aria-current", "page")
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_visible()
    form = page.locator("form[action='/logout']")
    expect(form.locator("input[type=hidden][name=csrf_token]")).to_have_value("token-123")
    expect(page.get_by_role("main")).to_be_visible()
    expect(page.get_by_role("img", name="Recovery timeline")).to_be_visible()
    expect(page.get_by_role("img", name="Reminders by week")).to_be_visible()
    assert fits_the_width(page)
    screenshot(page, f"showcase-{viewport}")


def test_a_nurse_does_not_see_the_admin_pages(page: Page, preview: ServedApp) -> None:
    page.goto(preview.url + "/showcase?role=nurse")

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_count(4)  # inbox, patients, stats, protocol
    expect(nav.get_by_role("link", name="Import")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)


def test_the_first_tab_reaches_the_skip_link_which_moves_to_the_main_content(
    page: Page, preview: ServedApp
) -> None:
    page.goto(preview.url + "/showcase")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # shown on focus, not left off-screen
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


def test_the_sms_counter_counts_characters_and_segments(page: Page, preview: ServedApp) -> None:
    page.goto(preview.url + "/showcase")
    reply = page.get_by_label("Reply", exact=True)
    counter = page.locator("#reply-counter")

    reply.fill("Hello Ana")
    expect(counter).to_have_text("9 / 160 characters · 1 SMS · GSM-7")
    reply.fill("a" * 161)
    expect(counter).to_have_text("161 / 306 characters · 2 SMS · GSM-7")
    expect(counter.locator("span")).to_have_count(0)
    reply.fill("Olá, está tudo bem? 😊")
    expect(counter).to_contain_text("22 / 70 characters · 1 SMS · UCS-2")
    note = counter.locator(".sms-counter-note")
    expect(note).to_have_text("á 😊: these characters make each SMS shorter.")
    reply.fill("x" * 307)
    expect(counter).to_have_class("sms-counter is-over")
    expect(counter.locator(".sms-counter-warning")).to_have_text(
        "Too long for 2 SMS. Please shorten it."
    )
    assert "reply-counter" in (reply.get_attribute("aria-describedby") or "")


def test_the_browser_counts_sms_exactly_like_the_server(page: Page, preview: ServedApp) -> None:
    page.goto(preview.url + "/showcase")
    samples = [
        gsm7.BASIC,
        gsm7.EXTENSION,
        "€" * 80,
        "{curly} [square] ~tilde~ |pipe| ^caret^ \\back\\",
        "a" * 160,
        "a" * 159 + "€",
        "b" * 306,
        "b" * 307,
        "ü" * 70 + "ł",
        "é" * 70,
        "ç" * 70,
        "ΔΦΓΛΩ" * 40,
        "😊" * 35,
        "😊" * 36,
        "line one\nline two\r\n",
        "Olá — ¿qué tal? 😊 😊",
    ]
    for sample in samples:
        expected = gsm7.cost(sample)
        cost = page.evaluate("text => window.aftercare.smsCost(text)", sample)
        got = (cost["encoding"], cost["units"], cost["segments"], cost["others"])
        wanted = (expected.encoding, expected.units, expected.segments, gsm7.non_gsm7(sample))
        assert got == wanted, sample


@pytest.mark.parametrize("accept", [False, True])
def test_a_form_with_data_confirm_asks_first(page: Page, preview: ServedApp, accept: bool) -> None:
    page.goto(preview.url + "/showcase")
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_role("button", name="Erase patient").click()

    assert asked == ["Erase Ana López? This cannot be undone."]
    if accept:
        expect(page.get_by_role("status")).to_have_text("/showcase/erase")
    else:
        expect(page).to_have_url(preview.url + "/showcase")


LABEL_BOXES = """svg => [...svg.querySelectorAll(".milestone text, text[text-anchor=middle]")]
    .map(t => { const b = t.getBBox(); return [t.textContent, b.x, b.y, b.width, b.height]; })"""


def overlapping(boxes: list[list[Any]]) -> list[tuple[str, str]]:
    found = []
    for i, (name_a, xa, ya, wa, ha) in enumerate(boxes):
        for name_b, xb, yb, wb, hb in boxes[i + 1 :]:
            if xa < xb + wb - 1 and xb < xa + wa - 1 and ya < yb + hb - 1 and yb < ya + ha - 1:
                found.append((name_a, name_b))
    return found


@pytest.mark.parametrize(
    "width",
    [
        pytest.param(w, marks=pytest.mark.viewport(w, 900), id=f"{w}px")
        for w in (360, 390, 768, 1280)
    ],
)
def test_picture_labels_never_overlap_at_any_width(
    page: Page, preview: ServedApp, width: int
) -> None:
    page.goto(preview.url + "/showcase")

    for name in ("Recovery timeline", "Reminders by week"):
        picture = page.get_by_role("img", name=name)
        expect(picture).to_have_count(1)  # the other layout is hidden, also from screen readers
        boxes = picture.evaluate(LABEL_BOXES)
        assert len(boxes) >= 4
        assert overlapping(boxes) == [], (name, width)
        inside = picture.evaluate("svg => svg.getBoundingClientRect().width")
        outside = [box for box in boxes if box[1] < 0 or box[1] + box[3] > inside]
        assert outside == [], (name, width)
    assert fits_the_width(page)
