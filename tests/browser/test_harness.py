"""The browser harness itself: a local app in a real chromium, and the page guard's rules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.browser.harness import PageGuard, ServedApp

REPO = Path(__file__).resolve().parents[2]
EXTERNAL_IMAGE = "http://images.example.invalid/logo.png"

SIGN_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><main>
  <h1>Sign in</h1>
  <form method="get" action="/hello">
    <label for="email">Email</label> <input id="email" name="email" type="email">
    <button type="submit">Sign in</button>
  </form>
</main></body></html>"""


async def sign_in(_request: Request) -> Response:
    return HTMLResponse(SIGN_IN)


async def hello(request: Request) -> Response:
    email = request.query_params.get("email", "")
    return HTMLResponse(f"<!doctype html><title>Hello</title><h1>Hello {len(email)}</h1>")


async def external(_request: Request) -> Response:
    return HTMLResponse(
        f'<!doctype html><title>External</title><img src="{EXTERNAL_IMAGE}" alt="Logo">'
    )


async def broken(_request: Request) -> Response:
    return HTMLResponse('<!doctype html><title>Broken</title><script src="/broken.js"></script>')


async def broken_js(_request: Request) -> Response:
    script = 'console.error("something went wrong"); throw new Error("boom");'
    return Response(script, media_type="text/javascript")


def small_site() -> Starlette:
    return Starlette(
        routes=[
            Route("/", sign_in),
            Route("/hello", hello),
            Route("/external", external),
            Route("/broken", broken),
            Route("/broken.js", broken_js),
        ]
    )


@pytest.fixture
def site(serve_asgi: Callable[[Starlette], ServedApp]) -> ServedApp:
    return serve_asgi(small_site())


def test_a_local_page_is_found_by_its_labels_and_roles(page: Page, site: ServedApp) -> None:
    page.goto(site.url + "/")

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill("nurse@example.org")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading")).to_have_text("Hello 17")
    assert page.viewport_size == {"width": 390, "height": 844}


@pytest.mark.viewport(1280, 800)
def test_a_test_can_ask_for_a_desktop_viewport(page: Page, site: ServedApp) -> None:
    page.goto(site.url + "/")

    assert page.evaluate("window.innerWidth") == 1280


def test_a_request_leaving_the_machine_is_blocked_and_fails_the_test(
    page: Page, site: ServedApp, page_guard: PageGuard
) -> None:
    page.goto(site.url + "/external")

    with pytest.raises(pytest.fail.Exception, match=r"images\.example\.invalid"):
        page_guard.check()  # what the page fixture runs after each test
    recorded = page_guard.take()
    assert recorded.blocked_requests == [EXTERNAL_IMAGE]
    assert page.evaluate("document.images[0].naturalWidth") == 0  # it never loaded


def test_console_and_script_errors_fail_the_test(
    page: Page, site: ServedApp, page_guard: PageGuard
) -> None:
    page.goto(site.url + "/broken")

    with pytest.raises(pytest.fail.Exception, match="boom"):
        page_guard.check()
    recorded = page_guard.take()
    assert recorded.console_errors[0].startswith("something went wrong")
    assert recorded.page_errors == ["Error: boom"]


@pytest.mark.slow
def test_an_unacknowledged_external_request_fails_a_real_run_with_a_screenshot(
    tmp_path: Path,
) -> None:
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(
        textwrap.dedent(
            """
            from tests.browser.harness import ServedApp
            from tests.browser.test_harness import small_site

            def test_page_with_external_image(page, serve_asgi):
                site = serve_asgi(small_site())
                page.goto(site.url + "/external")
            """
        )
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.browser.conftest"]
    command += ["-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path)]
    command += ["--basetemp", str(tmp_path / "basetemp"), str(test_file)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout  # the test body passed; the page fixture failed it
    assert f"request leaving 127.0.0.1 (blocked): {EXTERNAL_IMAGE}" in run.stdout
    shot = next(
        Path(line.split(": ", 1)[1])
        for line in run.stdout.splitlines()
        if line.startswith("screenshot of the failed page: ")
    )
    assert shot.read_bytes().startswith(b"\x89PNG")
