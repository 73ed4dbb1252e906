"""The whole service with SMS through the real Twilio client and a fake Twilio on 127.0.0.1,
for browser tests where patients text in and staff answer them.

    site = open_sms_site(sqlite_url, serve_asgi)
    site.text_in("+15550001111", "there is pus on my cheek")   # a signed Twilio webhook
    ...
    site.dispatch()                   # the runtime's dispatcher, once, on its own loop
    site.twilio.created               # what the fake Twilio was asked to send

The fake Twilio runs on an event loop of its own, in a thread; the service runs in another
(tests/browser/harness.ServedApp). Both are real servers on loopback.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp
from twilio.request_validator import RequestValidator

from aftercare.web import create_app
from aftercare.wiring import Core, Runtime, build_core, build_runtime
from storage.models import Clinic
from tests.browser.dashboard_site import DashboardSite
from tests.browser.harness import ServedApp
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilioApi, RecordedRequest

T = TypeVar("T")

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "browser-test-auth-token"
FROM_NUMBER = "+15005550006"
STAFF_NUMBER = "+12125550142"
# What Twilio signs webhooks over and what alerts link to; the browser talks to the
# served address itself (plain http, so the session cookie is not marked Secure).
PUBLIC_BASE_URL = "http://aftercare.test"


class LoopThread:
    """An event loop in a daemon thread, for a server the tests drive from outside."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class SmsSite(DashboardSite):
    runtime: Runtime = field(kw_only=True)
    twilio: FakeTwilioApi = field(kw_only=True)
    twilio_loop: LoopThread = field(kw_only=True)
    _inbound: int = 0

    def text_in(self, phone: str, body: str) -> httpx.Response:
        """A patient's text, as Twilio posts it (signed with the account's auth token)."""
        self._inbound += 1
        params = {
            "MessageSid": f"SMin{self._inbound:030d}",
            "AccountSid": ACCOUNT_SID,
            "From": phone,
            "To": FROM_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            PUBLIC_BASE_URL + "/twilio/sms", params
        )
        return httpx.post(
            self.url("/twilio/sms"), data=params, headers={"X-Twilio-Signature": signature}
        )

    def dispatch(self) -> int:
        """Send what is due now, on the service's own loop (its scheduler may have sent it
        already: the dispatcher's lane locks make this wait for that)."""
        return self.served.call(self.runtime.dispatcher.dispatch_due())

    def texts_to(self, phone: str) -> list[RecordedRequest]:
        return [r for r in self.twilio.created if r.form.get("To") == phone]

    def close(self) -> None:
        self.twilio_loop.call(self.twilio.close())
        self.twilio_loop.stop()
        self.core.close()


def open_sms_site(database_url: str, serve: Callable[[ASGIApp], ServedApp]) -> SmsSite:
    twilio_loop = LoopThread()
    twilio = FakeTwilioApi(ACCOUNT_SID, AUTH_TOKEN)
    api_url = twilio_loop.call(twilio.start())
    settings = make_settings(
        database_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from_number=FROM_NUMBER,
        twilio_api_base_url=api_url,
        public_base_url=PUBLIC_BASE_URL,
        sms_rate_per_second=50.0,
    )
    core: Core = build_core(settings)
    clinic = core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+12125550100", "America/New_York", "US", "en"
    )
    other = core.patients.add_clinic(
        "other", "Other Clinic", "+13125550100", "America/Chicago", "US", "en"
    )
    with core.db.session() as session:
        row = session.get(Clinic, clinic.id)
        assert row is not None
        row.staff_sms_number = STAFF_NUMBER  # alerts to the clinic go by SMS too
    runtime = build_runtime(core, console_stream=io.StringIO())
    served = serve(create_app(runtime))
    return SmsSite(
        served,
        core,
        clinic,
        other,
        runtime=runtime,
        twilio=twilio,
        twilio_loop=twilio_loop,
    )
