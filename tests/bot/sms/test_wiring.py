"""The service as `aftercare run` builds it: SMS through Twilio when it is configured."""

from __future__ import annotations

import io

import httpx
from starlette.routing import Route

from aftercare.web import create_app
from aftercare.wiring import build_core, build_runtime
from bot.sms.adapter import SmsAdapter
from scheduler.clock import FakeClock
from tests.bot.sms.conftest import PATIENT_PHONE, PUBLIC_BASE_URL, sms_settings
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilioApi


async def test_configured_twilio_gives_an_sms_lane_at_the_sender_rate_and_the_webhooks(
    sqlite_url: str, twilio_api: FakeTwilioApi, clock: FakeClock
) -> None:
    core = build_core(sms_settings(sqlite_url, twilio_api.url, sms_rate_per_second=1), clock)
    runtime = build_runtime(core)
    try:
        [adapter] = [a for a in runtime.adapters if a.name == "sms"]
        assert isinstance(adapter, SmsAdapter)
        lane = runtime.dispatcher.lanes["sms"]
        assert lane.channel is adapter.channel
        assert lane.limiter.rate == 1
        paths = {route.path for route in runtime.routes if isinstance(route, Route)}
        assert {"/twilio/sms", "/twilio/status"} <= paths

        await runtime.start()
        try:
            app = create_app(runtime)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_BASE_URL) as http:
                unsigned = await http.post("/twilio/sms", data={"From": PATIENT_PHONE})
            assert unsigned.status_code == 403
        finally:
            await runtime.stop()
    finally:
        core.close()


async def test_without_twilio_sms_goes_to_the_console(sqlite_url: str, clock: FakeClock) -> None:
    core = build_core(make_settings(sqlite_url), clock)
    try:
        runtime = build_runtime(core, console_stream=io.StringIO())
        assert not any(isinstance(a, SmsAdapter) for a in runtime.adapters)
        assert "sms" in runtime.dispatcher.lanes
        assert not any(
            isinstance(r, Route) and r.path.startswith("/twilio") for r in runtime.routes
        )
    finally:
        core.close()
