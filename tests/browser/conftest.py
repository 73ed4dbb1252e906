"""Browser fixtures: Debian's chromium driven by Playwright (never a downloaded browser).

- `browser`: one headless chromium for the whole browser package. It is package-scoped,
  not session-scoped, on purpose: Playwright's sync API marks its event loop as running
  in the main thread between calls, and that would break every async test collected
  after this package. Tests here are therefore plain functions (not async).
- `page`: a fresh context per test, 390 px wide mobile viewport unless the test says
  `@pytest.mark.viewport(width, height)`. It fails the test on any console error, page
  error or request to a host other than 127.0.0.1/localhost (blocked before it is sent),
  and saves a full-page screenshot under a temp dir when the test fails.
- `page_guard`: what the page's guard recorded, for tests that provoke a problem.
- `serve_asgi`: serve any ASGI app on 127.0.0.1 in a thread; returns its `ServedApp`.
- `screenshot`: save a named full-page screenshot (for looking at the pages).
- `dashboard_site`: the whole service on a SQLite file with two clinics, and a helper to
  add staff and sign in through the form (tests/browser/dashboard_site.py).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.types import ASGIApp

from tests.browser.dashboard_site import DashboardSite, open_dashboard_site
from tests.browser.harness import PageGuard, ServedApp, pump_events

MOBILE = (390, 844)
# Flags that let chromium run as root in a container with a small /dev/shm.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "viewport(width, height): the page fixture's viewport (default 390x844)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    return any(report.failed for report in item.stash.get(_REPORTS, {}).values())


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: `make test` installs it with apt", False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:150]


@pytest.fixture
def page_guard() -> PageGuard:
    return PageGuard()


@pytest.fixture
def page(
    browser: Browser,
    page_guard: PageGuard,
    request: pytest.FixtureRequest,
    screenshot_dir: Path,
    serve_asgi: Callable[[ASGIApp], ServedApp],
) -> Iterator[Page]:
    """(Depends on serve_asgi so that the page closes before the apps it talks to stop:
    a request still in flight would otherwise end in a console error.)"""
    marker = request.node.get_closest_marker("viewport")
    width, height = marker.args if marker else MOBILE
    context = browser.new_context(
        viewport={"width": width, "height": height},
        is_mobile=width < 600,
        has_touch=width < 600,
        device_scale_factor=1,
    )
    page_guard.attach(context)
    new_page = context.new_page()
    try:
        yield new_page
        pump_events(new_page)
        if _failed(request.node) or page_guard.problems():
            path = screenshot_dir / f"FAILED-{_file_name(request.node.nodeid)}.png"
            new_page.screenshot(path=str(path), full_page=True)
            print(f"screenshot of the failed page: {path}")
        page_guard.check()
    finally:
        context.close()


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[[Page, str], Path]:
    def take(target: Page, name: str) -> Path:
        path = screenshot_dir / f"{_file_name(name)}.png"
        target.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take


@pytest.fixture
def serve_asgi() -> Iterator[Callable[[ASGIApp], ServedApp]]:
    served: list[ServedApp] = []

    def serve(app: ASGIApp) -> ServedApp:
        started = ServedApp(app).start()
        served.append(started)
        return started

    yield serve
    for app in reversed(served):
        app.stop()


@pytest.fixture
def dashboard_site(
    sqlite_url: str, serve_asgi: Callable[[ASGIApp], ServedApp]
) -> Iterator[DashboardSite]:
    site = open_dashboard_site(sqlite_url, serve_asgi)
    yield site
    site.core.close()
