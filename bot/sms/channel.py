"""Outbound SMS through Twilio's async client: one reminder, one Messages.create call.

A call that timed out may still have reached Twilio. Before such a reminder is sent again,
the channel reads the newest messages Twilio has for that number and sender, and records
the reminder as sent with the SID of an earlier copy (same body, created since the
reminder fell due) instead of sending it twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException

from bot.sms.errors import classify_error
from messages import gsm7
from scheduler.clock import Clock
from scheduler.ports import OutboundMessage, SendResult

log = logging.getLogger(__name__)

# Twilio accepts a validity period of 1 to 36,000 seconds (10 hours).
MAX_VALIDITY_SECONDS = 36_000
STATUS_PATH = "/twilio/status"
# How many of the newest messages to a number are searched for an earlier copy: one page.
LOOKUP_LIMIT = 50
# Twilio's clock and ours may differ; an earlier copy can look this much older than it is.
CLOCK_MARGIN = timedelta(minutes=5)
TIMED_OUT = "timeout"  # the error code a send that may have reached Twilio is recorded with


@dataclass(frozen=True)
class SmsSender:
    """Who the texts come from: a number, a Messaging Service, or a number in a service."""

    from_number: str | None = None
    messaging_service_sid: str | None = None

    def __post_init__(self) -> None:
        if not self.from_number and not self.messaging_service_sid:
            raise ValueError("set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")

    def params(self) -> dict[str, str]:
        params = {}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        if self.from_number:
            params["from_"] = self.from_number
        return params


def validity_seconds(valid_until: datetime | None, now: datetime) -> int | None:
    """How long Twilio may queue the text: the whole seconds left in the reminder's window,
    at most Twilio's maximum. None when there is no window; 0 when it has closed."""
    if valid_until is None:
        return None
    remaining = int((valid_until - now).total_seconds())
    return max(0, min(remaining, MAX_VALIDITY_SECONDS))


def status_callback_url(public_base_url: str | None, reminder_id: int | None) -> str | None:
    """Where Twilio posts delivery receipts. The reminder id rides along so a receipt that
    overtakes the recording of the send still finds its reminder."""
    if not public_base_url:
        return None
    url = public_base_url.rstrip("/") + STATUS_PATH
    return url if reminder_id is None else f"{url}?reminder={reminder_id}"


def is_earlier_copy(found: Any, message: OutboundMessage, sender: SmsSender) -> bool:
    """Whether `found` (a Twilio MessageInstance) is this message, sent by an attempt that
    timed out: outbound, same number and body, from our sender, created since the attempt
    could first have been made."""
    if message.unconfirmed_since is None:
        return False
    if not str(found.direction or "").startswith("outbound"):
        return False
    if found.to != message.address or found.body != message.text:
        return False
    if sender.from_number:
        if found.from_ != sender.from_number:
            return False
    elif found.messaging_service_sid != sender.messaging_service_sid:
        return False
    created = found.date_created
    return created is None or created >= message.unconfirmed_since - CLOCK_MARGIN


class SmsChannel:
    """A `scheduler.ports.Channel`; its Twilio client is attached by the adapter once the event
    loop runs, and sends before that are transient failures."""

    name = "sms"

    def __init__(self, sender: SmsSender, clock: Clock, public_base_url: str | None) -> None:
        self.sender = sender
        self.clock = clock
        self.public_base_url = public_base_url
        self._client: Any = None

    def attach(self, client: Any) -> None:
        """`client` is a `twilio.rest.Client` built on an async HTTP client."""
        self._client = client

    def detach(self) -> None:
        self._client = None

    async def send(self, message: OutboundMessage) -> SendResult:
        cost = gsm7.cost(message.text)
        client = self._client
        if client is None:
            return SendResult.transient("SMS channel is not running", error_code="not_started")
        params: dict[str, Any] = {"to": message.address, "body": message.text}
        params.update(self.sender.params())
        callback = status_callback_url(self.public_base_url, message.reminder_id)
        if callback:
            params["status_callback"] = callback
        if message.unconfirmed_since is not None:
            found = await self._earlier_copy(client, message)
            if found is not None:
                return found
        validity = validity_seconds(message.valid_until, self.clock.now())
        if validity is not None:
            if validity < 1:
                # The engine turns a transient failure past the window into "expired".
                return SendResult.transient("window closed before the text could be sent")
            params["validity_period"] = validity
        try:
            created = await client.messages.create_async(**params)
        except (TwilioException, TimeoutError, aiohttp.ClientError) as exc:
            result = classify_error(exc)
            log.warning(
                "sms for reminder %s not sent (%s, code %s): %s",
                message.reminder_id,
                result.status.value,
                result.error_code,
                result.error,
            )
            return result
        log.info(
            "sms for reminder %s accepted by Twilio as %s (%s, %d segments)",
            message.reminder_id,
            created.sid,
            cost.encoding,
            cost.segments,
        )
        if str(created.num_segments or "") not in ("", str(cost.segments)):
            log.warning(
                "Twilio counts %s segments for %s, we counted %d",
                created.num_segments,
                created.sid,
                cost.segments,
            )
        return SendResult.sent(created.sid, encoding=cost.encoding, segments=cost.segments)

    async def _earlier_copy(self, client: Any, message: OutboundMessage) -> SendResult | None:
        """The result of an earlier attempt that timed out but reached Twilio; None when
        Twilio has no copy; a transient failure (still "timeout") when Twilio cannot say."""
        # No DateSent filter: Twilio filters on the day a message was sent, and a copy still
        # queued has no date_sent at all, so it would hide exactly the message looked for.
        query: dict[str, Any] = {"to": message.address, "limit": LOOKUP_LIMIT}
        if self.sender.from_number:
            query["from_"] = self.sender.from_number
        try:
            newest = await client.messages.list_async(**query)
        except (TwilioException, TimeoutError, aiohttp.ClientError) as exc:
            log.warning(
                "sms for reminder %s: could not check Twilio for an earlier copy (%s)",
                message.reminder_id,
                type(exc).__name__,
            )
            return SendResult.transient(
                "could not check whether a timed-out earlier attempt reached Twilio",
                error_code=TIMED_OUT,
            )
        for found in newest:
            if is_earlier_copy(found, message, self.sender):
                cost = gsm7.cost(message.text)
                log.info(
                    "sms for reminder %s: the attempt that timed out reached Twilio as %s; "
                    "not sent again",
                    message.reminder_id,
                    found.sid,
                )
                return SendResult.sent(found.sid, encoding=cost.encoding, segments=cost.segments)
        log.info(
            "sms for reminder %s: Twilio has no copy of the attempt that timed out; sending",
            message.reminder_id,
        )
        return None
