"""The HTTP app's own routes: `/healthz` names only the channels that are configured."""

from __future__ import annotations

import httpx
import pytest

from aftercare.web import configured_channels, create_app
from aftercare.wiring import build_core, build_runtime
from scheduler.clock import FakeClock
from tests.conftest import make_settings

TWILIO = {
    "twilio_account_sid": "AC" + "0" * 32,
    "twilio_auth_token": "token",
    "twilio_from_number": "+15005550006",
}


@pytest.mark.parametrize(
    ("configured", "listed"),
    [
        ({}, ["console"]),
        ({"telegram_bot_token": "123456:TEST-token"}, ["telegram"]),
        (TWILIO, ["sms"]),
        ({"telegram_bot_token": "123456:TEST-token", **TWILIO}, ["sms", "telegram"]),
    ],
)
def test_only_configured_channels_are_listed(
    sqlite_url: str, clock: FakeClock, configured: dict[str, str], listed: list[str]
) -> None:
    core = build_core(make_settings(sqlite_url, **configured), clock)
    try:
        assert configured_channels(build_runtime(core)) == listed
    finally:
        core.close()


async def test_healthz_says_console_when_no_provider_is_set_up(
    sqlite_url: str, clock: FakeClock
) -> None:
    core = build_core(make_settings(sqlite_url), clock)
    app = create_app(build_runtime(core))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            body = (await http.get("/healthz")).json()
    finally:
        core.close()
    assert body["channels"] == ["console"]


async def test_the_app_serves_the_api_docs_page(sqlite_url: str, clock: FakeClock) -> None:
    core = build_core(make_settings(sqlite_url), clock)
    app = create_app(build_runtime(core))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            page = await http.get("/api/docs")
            script = await http.get("/api/docs/assets/swagger-ui-bundle.js")
    finally:
        core.close()
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
