"""The SMS channel under test: the real twilio client against a fake Twilio API on
127.0.0.1, the real Starlette app, real databases and a FakeClock."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from twilio.request_validator import RequestValidator

from aftercare.settings import Settings
from aftercare.web import create_app
from aftercare.wiring import Core, Runtime, build_adapters, build_core
from bot.channel import InboundHandler, InboundReply, InboundSource
from bot.sms.adapter import SmsAdapter
from scheduler.clock import FakeClock
from scheduler.decisions import RetryPolicy
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.planning import NewPatient
from scheduler.ports import Channel
from scheduler.rate_limit import RateLimiter
from scheduler.service import DispatchService
from storage.patients import ClinicView
from tests.bot.conversation_kit import set_staff_contacts
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilioApi

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-9f8e7d6c5b4a"
FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "https://aftercare.example.org"
# What the app sees behind the proxy: not the URL Twilio signed.
FORWARDED_BASE_URL = "http://10.0.0.7:8000"
PATIENT_PHONE = "+15550001111"
STAFF_PHONE = "+15557770000"  # where alert_staff_by_sms sends the clinic's alerts


@dataclass
class Conversation:
    channel: str
    text: str
    patient_id: int | None
    language: str | None


@dataclass
class ScriptedConversations:
    """A stand-in for the conversation core (bot.inbound.Conversations) by its protocol."""

    reply: str = "Makeup can go back on 24 hours after treatment."
    calls: list[Conversation] = field(default_factory=list)
    fail: bool = False

    async def handle(
        self,
        *,
        channel: str,
        text: str,
        patient_id: int | None,
        language: str | None = None,
        source: InboundSource | None = None,
    ) -> InboundReply:
        self.calls.append(Conversation(channel, text, patient_id, language))
        if self.fail:
            raise RuntimeError("conversation core is down")
        return InboundReply(self.reply, "makeup", False, language or "en")


def replies(response: httpx.Response) -> list[str]:
    """The message bodies of a TwiML answer."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter("Message")]


def sign(url: str, params: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, dict(params)))


@dataclass
class SmsHarness:
    core: Core
    adapter: SmsAdapter
    dispatcher: Dispatcher
    api: FakeTwilioApi
    http: httpx.AsyncClient
    clock: FakeClock
    handler: InboundHandler  # what the app answers with: a stand-in or the real core
    clinic: ClinicView

    @property
    def inbound(self) -> ScriptedConversations:
        assert isinstance(self.handler, ScriptedConversations), "built with the real core"
        return self.handler

    async def post_signed(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        signed_url: str | None = None,
        token: str = AUTH_TOKEN,
        signature: str | None = None,
    ) -> httpx.Response:
        """POST form `params` to `path` as Twilio would, signed over PUBLIC_BASE_URL + path."""
        url = signed_url or PUBLIC_BASE_URL + path
        headers = {"X-Twilio-Signature": signature or sign(url, params, token)}
        return await self.http.post(path, data=dict(params), headers=headers)

    async def text_in(self, body: str, phone: str = PATIENT_PHONE, sid: str = "") -> httpx.Response:
        self._inbound_count = getattr(self, "_inbound_count", 0) + 1
        params = {
            "MessageSid": sid or f"SMin{self._inbound_count:030d}",
            "AccountSid": ACCOUNT_SID,
            "From": phone,
            "To": FROM_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        return await self.post_signed("/twilio/sms", params)

    async def status(
        self, sid: str, status: str, reminder_id: int | None = None, error_code: str = ""
    ) -> httpx.Response:
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        if error_code:
            params["ErrorCode"] = error_code
        path = "/twilio/status" + (f"?reminder={reminder_id}" if reminder_id else "")
        return await self.post_signed(path, params)

    def alert_staff_by_sms(self, phone: str = STAFF_PHONE) -> None:
        """The clinic's staff are alerted by SMS at `phone`."""
        set_staff_contacts(self.core.db, self.clinic.id, staff_sms_number=phone)

    def staff_alerts(self, phone: str = STAFF_PHONE) -> list[str]:
        """The texts sent to the staff's phone so far."""
        return [r.form["Body"] for r in self.api.created if r.form["To"] == phone]

    def register(
        self,
        external_id: str = "P1",
        phone: str = PATIENT_PHONE,
        language: str = "en",
        treated_ago: timedelta = timedelta(hours=1),
        first_name: str | None = "Ana",
    ) -> int:
        registration = self.core.planner.register(
            self.clinic.id,
            NewPatient(
                external_id,
                "America/New_York",
                language=language,
                first_name=first_name,
                phone=phone,
            ),
            self.clock.now() - treated_ago,
        )
        return registration.patient_id


SmsFactory = Callable[..., Awaitable[SmsHarness]]
HandlerFactory = Callable[[Core, Mapping[str, Channel]], InboundHandler]


@pytest.fixture
async def twilio_api(clock: FakeClock) -> AsyncIterator[FakeTwilioApi]:
    api = FakeTwilioApi(ACCOUNT_SID, AUTH_TOKEN, now=clock.now)
    await api.start()
    yield api
    await api.close()


def sms_settings(database_url: str, api_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM_NUMBER,
        "twilio_api_base_url": api_url,
        "public_base_url": PUBLIC_BASE_URL,
        "twilio_timeout_seconds": 2.0,
        "retry_base_seconds": 30.0,
    }
    values.update(overrides)
    return make_settings(database_url, **values)


@pytest.fixture
async def sms_factory(
    database_url: str, twilio_api: FakeTwilioApi, clock: FakeClock
) -> AsyncIterator[SmsFactory]:
    """Builds the SMS side of the service from settings, the way the wiring does."""
    built: list[tuple[Core, SmsAdapter, httpx.AsyncClient]] = []

    async def build(
        inbound: ScriptedConversations | HandlerFactory | None = None, **overrides: object
    ) -> SmsHarness:
        """`inbound=build_inbound` answers with the real conversation core (FAQ, red flags,
        alerts to the clinic's staff over this SMS channel) instead of a stand-in."""
        settings = sms_settings(database_url, twilio_api.url, **overrides)
        core = build_core(settings, clock)
        channels: dict[str, Channel] = {}
        conversations: InboundHandler
        if inbound is None or isinstance(inbound, ScriptedConversations):
            conversations = inbound or ScriptedConversations()
        else:
            conversations = inbound(core, channels)
        adapters = build_adapters(core, conversations)
        channels.update({a.name: a.channel for a in adapters})
        adapter = next(a for a in adapters if a.name == "sms")
        assert isinstance(adapter, SmsAdapter)
        await adapter.start()
        lane = ChannelLane("sms", adapter.channel, RateLimiter(settings.sms_rate_per_second, clock))
        config = DispatchConfig(
            retry=RetryPolicy(
                base=timedelta(seconds=settings.retry_base_seconds),
                cap=timedelta(seconds=settings.retry_max_seconds),
                max_attempts=settings.max_attempts,
            ),
            quiet=settings.quiet_hours,
        )
        dispatcher = Dispatcher(
            core.reminders, core.patients, [lane], core.protocols, core.protocol, clock, config
        )
        service = DispatchService(dispatcher, settings.sweep_interval_seconds)
        routes = [route for a in adapters for route in a.routes()]
        app = create_app(Runtime(core, conversations, list(adapters), dispatcher, service, routes))
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=FORWARDED_BASE_URL
        )
        built.append((core, adapter, http))
        clinic = core.patients.add_clinic(
            f"glow{len(built)}", "Glow Skin Clinic", "+15551234567", "America/New_York"
        )
        return SmsHarness(core, adapter, dispatcher, twilio_api, http, clock, conversations, clinic)

    yield build
    for core, adapter, http in built:
        await http.aclose()
        await adapter.stop()
        core.close()


@pytest.fixture
async def sms(sms_factory: SmsFactory) -> SmsHarness:
    return await sms_factory()


def at_local(clock: FakeClock, hour: int, minute: int = 0) -> datetime:
    """The next instant the clinic's wall clock (New York) shows hour:minute."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    local = clock.now().astimezone(zone)
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return target
