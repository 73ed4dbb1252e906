"""Builds the service from the settings: the only place that knows every concrete part."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Protocol as TypingProtocol
from typing import TextIO

from starlette.routing import BaseRoute

from aftercare.metrics import CountingInbound, Metrics
from aftercare.settings import Settings
from bot.channel import InboundHandler
from bot.console import ConsoleChannel
from bot.telegram.invites import invite_url
from clinic.api import build_api
from clinic.reader import Limits
from messages.protocol import Protocol
from messages.protocol_files import load_protocol
from scheduler.clock import Clock, SystemClock
from scheduler.decisions import RetryPolicy
from scheduler.dispatcher import ChannelLane, DispatchConfig, Dispatcher
from scheduler.invites import InviteLinks
from scheduler.planning import Planner
from scheduler.ports import Channel
from scheduler.protocol_catalog import ProtocolCatalog
from scheduler.rate_limit import RateLimiter
from scheduler.service import DispatchService
from storage.db import Database
from storage.enrollment import EnrollmentStore
from storage.patients import PatientRepository
from storage.reminders import ReminderRepository
from storage.retention import retention_purge

log = logging.getLogger(__name__)


@dataclass
class Core:
    """Everything that works without a running event loop: storage, protocol, planning."""

    settings: Settings
    db: Database
    clock: Clock
    protocol: Protocol  # the built-in (PROTOCOL_FILE, or microneedling)
    protocols: ProtocolCatalog  # every treatment's own, clinic versions included
    reminders: ReminderRepository
    patients: PatientRepository
    planner: Planner

    def close(self) -> None:
        self.db.dispose()


def build_core(settings: Settings, clock: Clock | None = None) -> Core:
    clock = clock or SystemClock()
    protocol = load_protocol(settings.protocol_file)
    db = Database(settings.database_url)
    planner = build_planner(db, protocol, settings, clock)
    return Core(
        settings,
        db,
        clock,
        protocol,
        planner.protocols,
        ReminderRepository(db),
        PatientRepository(db),
        planner,
    )


def build_planner(db: Database, protocol: Protocol, settings: Settings, clock: Clock) -> Planner:
    """The planner for new patients, with `protocol` as the built-in (clinics may upload
    their own, scheduler.protocol_catalog) and the configured quiet hours. With a bot
    username and Twilio, a patient enrolled for Telegram who has a phone is also planned
    an invite SMS (scheduler.invites)."""
    sms_invites = bool(settings.telegram_bot_username) and settings.sms_enabled
    return Planner(
        db,
        ProtocolCatalog(db, protocol),
        settings.quiet_hours,
        clock,
        sms_invites=sms_invites,
    )


def sms_invite_links(core: Core) -> InviteLinks | None:
    """What makes an invite SMS's link as it is sent; None without a bot username."""
    link = invite_links(core.settings.telegram_bot_username)
    if link is None:
        return None
    return InviteLinks(core.db, link, timedelta(hours=core.settings.invite_ttl_hours))


def invite_links(bot_username: str | None) -> Callable[[str], str] | None:
    """Invite token -> the bot's deep link; None without a bot username (no invites made)."""
    if not bot_username:
        return None
    invite_url(bot_username, "check")  # a bad username fails here, not mid-import
    return partial(invite_url, bot_username)


def clinic_api(core: Core, limits: Limits | None = None) -> list[BaseRoute]:
    """The clinic API's routes on this core's parts."""
    return build_api(
        planner=core.planner,
        store=EnrollmentStore(core.db),
        clock=core.clock,
        invite_ttl=timedelta(hours=core.settings.invite_ttl_hours),
        invite_link=invite_links(core.settings.telegram_bot_username),
        limits=limits,
    )


class ChannelAdapter(TypingProtocol):
    """A provider integration: its outbound channel, its webhooks, and its lifecycle."""

    name: str  # the logical channel it serves: "telegram" or "sms"
    channel: Channel
    rate_per_second: float

    def routes(self) -> Sequence[BaseRoute]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class ConsoleAdapter:
    """Stands in for a logical channel whose provider is not configured."""

    name: str
    channel: Channel
    rate_per_second: float

    def routes(self) -> Sequence[BaseRoute]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def build_inbound(core: Core, channels: Mapping[str, Channel]) -> InboundHandler:
    """The conversation core (FAQ, red flags) that alerts clinics over `channels`.

    `channels` is filled in after the adapters exist, since they need this handler first.
    """
    from bot.alerts import StaffAlerter
    from bot.inbound import Conversations
    from storage.conversations import ConversationRepository

    return Conversations(
        ConversationRepository(core.db),
        core.clock,
        core.protocols,
        core.protocol,
        StaffAlerter(channels, core.settings.public_base_url),
        emergency_number=core.settings.emergency_number,
        default_language=core.settings.default_language,
    )


def build_adapters(
    core: Core, inbound: InboundHandler, console_stream: TextIO | None = None
) -> list[ChannelAdapter]:
    """Provider adapters for the configured channels; the console when none is configured."""
    settings = core.settings
    adapters: list[ChannelAdapter] = []
    if settings.telegram_enabled:
        from bot.telegram.adapter import TelegramAdapter

        adapters.append(
            TelegramAdapter.from_settings(
                settings, core.db, inbound, core.clock, core.planner, core.protocol
            )
        )
    else:
        log.info("no TELEGRAM_BOT_TOKEN: running without the Telegram channel")
    if settings.sms_enabled:
        from bot.sms.adapter import SmsAdapter

        adapters.append(
            SmsAdapter.from_settings(
                settings, core.db, inbound, core.clock, core.protocols, core.protocol
            )
        )
    if not adapters:
        console = ConsoleChannel(stream=console_stream or sys.stdout)
        log.info("no Telegram or Twilio credentials: reminders are printed to the console")
        adapters = [
            ConsoleAdapter("sms", console, settings.console_rate_per_second),
            ConsoleAdapter("telegram", console, settings.console_rate_per_second),
        ]
    return adapters


@dataclass
class Runtime:
    """The running service: adapters, dispatcher and its scheduler, started inside the loop."""

    core: Core
    inbound: InboundHandler
    adapters: list[ChannelAdapter]
    dispatcher: Dispatcher
    service: DispatchService
    routes: list[BaseRoute] = field(default_factory=list)
    metrics: Metrics | None = None  # this app's own registry (None: not measured)

    async def start(self) -> None:
        for adapter in self.adapters:
            await adapter.start()
        self.core.planner.subscribe(self.service.notify)
        await self.service.start()

    async def stop(self) -> None:
        await self.service.stop()
        for adapter in reversed(self.adapters):
            await adapter.stop()
        self.core.planner.unsubscribe(self.service.notify)


def build_runtime(core: Core, console_stream: TextIO | None = None) -> Runtime:
    settings = core.settings
    channels: dict[str, Channel] = {}
    metrics = Metrics(core.clock)
    inbound = CountingInbound(build_inbound(core, channels), metrics)
    adapters = build_adapters(core, inbound, console_stream)
    channels.update({adapter.name: adapter.channel for adapter in adapters})
    limiters: dict[int, RateLimiter] = {}
    lanes = []
    for adapter in adapters:
        # Lanes that share one implementation (the console) share its rate.
        limiter = limiters.setdefault(
            id(adapter.channel), RateLimiter(adapter.rate_per_second, core.clock)
        )
        lanes.append(ChannelLane(adapter.name, adapter.channel, limiter))
    config = DispatchConfig(
        batch_size=settings.dispatch_batch_size,
        lease=timedelta(seconds=settings.claim_lease_seconds),
        retry=RetryPolicy(
            base=timedelta(seconds=settings.retry_base_seconds),
            cap=timedelta(seconds=settings.retry_max_seconds),
            max_attempts=settings.max_attempts,
        ),
        quiet=settings.quiet_hours,
        emergency_number=settings.emergency_number,
    )
    dispatcher = Dispatcher(
        core.reminders,
        core.patients,
        lanes,
        core.protocols,
        core.protocol,
        core.clock,
        config,
        observer=metrics,
        invite_links=sms_invite_links(core),
    )
    purge = retention_purge(core.db, settings.retention_days)
    service = DispatchService(dispatcher, settings.sweep_interval_seconds, purge)
    routes = [route for adapter in adapters for route in adapter.routes()]
    return Runtime(core, inbound, adapters, dispatcher, service, routes, metrics)
