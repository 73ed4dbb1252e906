"""A real PTB Application talking over HTTP to a fake Bot API started on 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from aftercare.settings import Settings
from aftercare.wiring import Core, build_core
from bot.channel import InboundHandler, InboundReply, InboundSource
from bot.telegram.adapter import TelegramAdapter
from clinic.importer import Importer
from scheduler.clock import FakeClock
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.planning import NewPatient, Registration
from scheduler.rate_limit import RateLimiter
from storage.enrollment import EnrollmentStore
from storage.invites import InviteRepository
from storage.patients import ClinicView
from tests.conftest import make_settings
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramApi

CHAT = 424242


@dataclass
class InboundDouble:
    """Stands in for the conversation core: records what it was asked, answers simply."""

    calls: list[dict[str, object]] = field(default_factory=list)
    sources: list[InboundSource | None] = field(default_factory=list)
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
        self.calls.append(
            {"channel": channel, "text": text, "patient_id": patient_id, "language": language}
        )
        self.sources.append(source)
        if self.fail:
            raise RuntimeError("core down")
        escalated = "pus" in text
        answer = "Please contact your clinic now." if escalated else "Gentle cleanser is fine."
        return InboundReply(answer, "red_flag" if escalated else "cleanser", escalated, "en")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeTelegramApi]:
    api = FakeTelegramApi()
    await api.start()
    yield api
    await api.stop()


def telegram_settings(url: str, api: FakeTelegramApi, **overrides: object) -> Settings:
    return make_settings(
        url,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        telegram_bot_username=BOT_USERNAME,
        **overrides,
    )


@pytest.fixture
def tg_core(sqlite_url: str, fake_api: FakeTelegramApi, clock: FakeClock) -> Iterator[Core]:
    core = build_core(telegram_settings(sqlite_url, fake_api), clock)
    yield core
    core.close()


@pytest.fixture
def glow(tg_core: Core) -> ClinicView:
    return tg_core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+15551234567", "America/New_York", "US", "en"
    )


@pytest.fixture
def inbound() -> InboundDouble:
    return InboundDouble()


def telegram_adapter(
    core: Core, inbound: InboundHandler, *, poll_timeout: float = 10.0
) -> TelegramAdapter:
    """The adapter as the service builds it, on this core's parts."""
    return TelegramAdapter.from_settings(
        core.settings,
        core.db,
        inbound,
        core.clock,
        core.planner,
        core.protocol,
        poll_timeout=poll_timeout,
    )


@pytest.fixture
async def adapter(tg_core: Core, inbound: InboundDouble) -> AsyncIterator[TelegramAdapter]:
    running = telegram_adapter(tg_core, inbound, poll_timeout=1.0)
    await running.start()
    yield running
    await running.stop()


def enrol(
    core: Core,
    clinic: ClinicView,
    treated_ago: timedelta,
    *,
    external_id: str = "P1",
    first_name: str | None = "Ana",
    language: str = "en",
    phone: str | None = None,
) -> tuple[Registration, str]:
    """A clinic enrols a patient for Telegram; returns the registration and invite token."""
    registration = core.planner.register(
        clinic.id,
        NewPatient(
            external_id,
            clinic.timezone,
            language=language,
            first_name=first_name,
            phone=phone,
            channel="telegram",
        ),
        core.clock.now() - treated_ago,
    )
    token = InviteRepository(core.db).create(
        registration.patient_id, core.clock.now(), timedelta(days=14)
    )
    return registration, token


def book(core: Core, clinic: ClinicView, local: str, appointment: str) -> str:
    """The clinic's booking export names patient P1's session (`local`: its wall-clock time,
    `2026-03-09 10:00`); returns the row's action."""
    export = (
        f"external_id,treatment_at,appointment_id,status\nP1,{local},{appointment},Booked\n"
    ).encode()
    store = EnrollmentStore(core.db)
    importer = Importer(store, core.planner, invite_ttl=timedelta(days=14), invite_link=None)
    actions: list[str] = []
    importer.run(
        store.profile(clinic.slug), io.BytesIO(export), on_row=lambda o: actions.append(o.action)
    )
    [action] = actions
    return action


def dispatcher_for(core: Core, adapter: TelegramAdapter) -> Dispatcher:
    """The real dispatch engine with the Telegram channel as its only lane."""
    lane = ChannelLane("telegram", adapter.channel, RateLimiter(None, core.clock))
    return Dispatcher(
        core.reminders,
        core.patients,
        [lane],
        core.protocols,
        core.protocol,
        core.clock,
        DispatchConfig(),
    )
