"""The SMS provider adapter: Twilio's client, the outbound channel and the webhooks."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.routing import BaseRoute
from twilio.rest import Client

from bot.channel import InboundHandler
from bot.sms.channel import SmsChannel, SmsSender
from bot.sms.http import TWILIO_API_BASE_URL, RebasedTwilioHttpClient
from bot.sms.webhooks import SmsWebhooks, WebhookConfig
from messages.protocol import Protocol as CareProtocol
from scheduler.clock import Clock
from scheduler.ports import Channel
from storage.db import Database
from storage.sms import SmsStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    sender: SmsSender
    api_base_url: str = TWILIO_API_BASE_URL
    public_base_url: str | None = None
    timeout_seconds: float = 10.0


class SmsSettings(Protocol):
    """What the adapter reads from the service's settings (`aftercare.settings.Settings` has
    it all; the settings live above this layer, so they are described here, not imported)."""

    @property
    def sms_enabled(self) -> bool: ...
    @property
    def twilio_account_sid(self) -> str | None: ...
    @property
    def twilio_auth_token(self) -> str | None: ...
    @property
    def twilio_from_number(self) -> str | None: ...
    @property
    def twilio_messaging_service_sid(self) -> str | None: ...
    @property
    def twilio_api_base_url(self) -> str: ...
    @property
    def twilio_timeout_seconds(self) -> float: ...
    @property
    def public_base_url(self) -> str | None: ...
    @property
    def sms_rate_per_second(self) -> float: ...
    @property
    def emergency_number(self) -> str: ...
    @property
    def default_language(self) -> str: ...


class SmsAdapter:
    """A `aftercare.wiring.ChannelAdapter` for the logical channel "sms"."""

    name = "sms"

    def __init__(
        self,
        config: TwilioConfig,
        store: SmsStore,
        inbound: InboundHandler,
        clock: Clock,
        *,
        rate_per_second: float,
        emergency_number: str,
        protocols: Mapping[str, CareProtocol],
        default_protocol: CareProtocol,
        default_language: str = "en",
    ) -> None:
        self.config = config
        self.rate_per_second = rate_per_second
        self.sms = SmsChannel(config.sender, clock, config.public_base_url)
        self.channel: Channel = self.sms
        self.webhooks = SmsWebhooks(
            WebhookConfig(
                config.auth_token, config.public_base_url, emergency_number, default_language
            ),
            store,
            inbound,
            clock,
            protocols,
            default_protocol,
        )
        self._http: RebasedTwilioHttpClient | None = None

    @classmethod
    def from_settings(
        cls,
        settings: SmsSettings,
        db: Database,
        inbound: InboundHandler,
        clock: Clock,
        protocols: Mapping[str, CareProtocol],
        default_protocol: CareProtocol,
    ) -> SmsAdapter:
        """`protocols`: every treatment's own by key, `default_protocol` the built-in."""
        if not (
            settings.sms_enabled and settings.twilio_account_sid and settings.twilio_auth_token
        ):
            raise ValueError(
                "SMS needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER "
                "or TWILIO_MESSAGING_SERVICE_SID"
            )
        config = TwilioConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=SmsSender(settings.twilio_from_number, settings.twilio_messaging_service_sid),
            api_base_url=settings.twilio_api_base_url,
            public_base_url=settings.public_base_url,
            timeout_seconds=settings.twilio_timeout_seconds,
        )
        return cls(
            config,
            SmsStore(db),
            inbound,
            clock,
            rate_per_second=settings.sms_rate_per_second,
            emergency_number=settings.emergency_number,
            protocols=protocols,
            default_protocol=default_protocol,
            default_language=settings.default_language,
        )

    def routes(self) -> Sequence[BaseRoute]:
        return self.webhooks.routes()

    async def start(self) -> None:
        """Inside the running loop: the HTTP client opens its aiohttp session here."""
        if self._http is not None:
            return
        self._http = RebasedTwilioHttpClient(self.config.api_base_url, self.config.timeout_seconds)
        client = Client(self.config.account_sid, self.config.auth_token, http_client=self._http)
        self.sms.attach(client)
        if not self.config.public_base_url:
            log.warning(
                "PUBLIC_BASE_URL is not set: no delivery receipts are requested, and webhook "
                "signatures are checked against the URL as received (wrong behind a proxy)"
            )
        log.info("SMS channel started (Twilio API at %s)", self.config.api_base_url)

    async def stop(self) -> None:
        self.sms.detach()
        http, self._http = self._http, None
        if http is not None:
            await http.close()
