"""Twilio's webhooks: POST /twilio/sms (a patient's text) and POST /twilio/status
(delivery receipts). Both refuse a request whose X-Twilio-Signature does not match.

Signatures are checked against PUBLIC_BASE_URL + path (+ query): behind a proxy the URL
this server sees is not the one Twilio signed. Without PUBLIC_BASE_URL the URL as received
is used, which only works when nothing rewrites it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from bot.channel import InboundHandler
from bot.sms import delivery
from bot.sms.keywords import Keyword, keyword
from messages import gsm7
from messages.sms_texts import sms_text
from scheduler.clock import Clock
from storage.sms import SmsContact, SmsStore

log = logging.getLogger(__name__)

PROVIDER = "twilio"
INBOUND_PATH = "/twilio/sms"
STATUS_PATH = "/twilio/status"


@dataclass(frozen=True)
class WebhookConfig:
    auth_token: str
    public_base_url: str | None
    emergency_number: str
    default_language: str = "en"


def twiml(text: str | None = None) -> Response:
    """A TwiML answer; the library's builder escapes the text for XML."""
    answer = MessagingResponse()
    if text:
        answer.message(text)
    return Response(str(answer), media_type="application/xml")


class SmsWebhooks:
    def __init__(
        self, config: WebhookConfig, store: SmsStore, inbound: InboundHandler, clock: Clock
    ) -> None:
        self.config = config
        self.store = store
        self.inbound = inbound
        self.clock = clock
        self._validator = RequestValidator(config.auth_token)

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route(INBOUND_PATH, self.incoming, methods=["POST"]),
            Route(STATUS_PATH, self.status, methods=["POST"]),
        ]

    # -- signature ----------------------------------------------------------------------

    def signed_url(self, request: Request) -> str:
        """The URL Twilio computed the signature over."""
        if not self.config.public_base_url:
            return str(request.url)
        url = self.config.public_base_url.rstrip("/") + request.url.path
        return f"{url}?{request.url.query}" if request.url.query else url

    async def _verified_form(self, request: Request) -> FormData | None:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return None
        form = await request.form()
        if not all(isinstance(value, str) for _, value in form.multi_items()):
            return None  # Twilio posts urlencoded text, never files
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        valid = self._validator.validate(self.signed_url(request), form, signature, algorithm)
        return form if valid else None

    @staticmethod
    def _refused(path: str) -> Response:
        log.warning("refused a request to %s: missing or invalid Twilio signature", path)
        return PlainTextResponse("invalid signature", status_code=403)

    # -- POST /twilio/sms -------------------------------------------------------------------

    async def incoming(self, request: Request) -> Response:
        form = await self._verified_form(request)
        if form is None:
            return self._refused(INBOUND_PATH)
        message_sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        phone = str(form.get("From") or "")
        if not message_sid or not phone:
            return PlainTextResponse("MessageSid and From are required", status_code=400)
        text = str(form.get("Body") or "")
        media = str(form.get("NumMedia") or "0")
        now = self.clock.now()
        if not await asyncio.to_thread(self.store.claim_inbound, PROVIDER, message_sid, now):
            log.info("inbound sms %s already processed: ignored", message_sid)
            return twiml()
        opt_out_type = str(form.get("OptOutType") or "").lower()
        try:
            reply = await self._answer(
                message_sid,
                phone,
                text,
                has_media=media not in ("", "0"),
                opt_out_type=opt_out_type,
            )
        except Exception:
            # Let Twilio's redelivery try again rather than lose the patient's message.
            await asyncio.to_thread(self.store.release_inbound, PROVIDER, message_sid)
            log.exception("inbound sms %s could not be processed", message_sid)
            return PlainTextResponse("could not process the message", status_code=500)
        if reply:
            cost = gsm7.cost(reply)
            log.info(
                "inbound sms %s answered (%s, %d segments)",
                message_sid,
                cost.encoding,
                cost.segments,
            )
        return twiml(reply)

    async def _answer(
        self, message_sid: str, phone: str, text: str, *, has_media: bool, opt_out_type: str = ""
    ) -> str | None:
        """The reply body for one inbound text, or None for no reply."""
        word = keyword(text)
        if opt_out_type in ("stop", "start", "help"):
            # Twilio recognised a keyword (with Advanced Opt-Out, possibly a custom one):
            # its verdict is what it enforces, so it is the one to follow.
            word = Keyword(opt_out_type, word.language if word else "")  # type: ignore[arg-type]
        now = self.clock.now()
        if word is not None and word.kind in ("stop", "start"):
            opted_out = word.kind == "stop"
            changed = await asyncio.to_thread(self.store.set_opted_out, phone, opted_out, now)
            log.info(
                "inbound sms %s: %s recorded on %d patient record(s)",
                message_sid,
                "opt-out" if opted_out else "opt-in",
                changed,
            )
            # Twilio's opt-out handling sends the carrier-required confirmation itself.
            return None
        contact = await asyncio.to_thread(self.store.contact, phone)
        if contact is None:
            log.info("inbound sms %s from a number no patient has", message_sid)
            language = (word.language if word else "") or self.config.default_language
            return sms_text(
                "unknown_number", language, emergency_number=self.config.emergency_number
            )
        language = "es" if word is not None and word.language == "es" else contact.language
        if word is not None and word.kind == "help":
            log.info("inbound sms %s: help for patient %s", message_sid, contact.patient_id)
            return self._text("help", language, contact)
        if not text.strip():
            return self._text("media_only", language, contact) if has_media else None
        answer = await self.inbound.handle(
            channel="sms", text=text, patient_id=contact.patient_id, language=contact.language
        )
        log.info(
            "inbound sms %s from patient %s: topic %s%s",
            message_sid,
            contact.patient_id,
            answer.topic,
            ", escalated" if answer.escalated else "",
        )
        if contact.sms_opted_out:
            # Twilio would refuse the reply; the message still reached the core (and the
            # clinic, if it was a warning sign).
            log.info("inbound sms %s: reply withheld, the number opted out", message_sid)
            return None
        return answer.text

    def _text(self, key: str, language: str, contact: SmsContact) -> str:
        return sms_text(
            key,  # type: ignore[arg-type]
            language,
            clinic_name=contact.clinic_name,
            clinic_phone=contact.clinic_phone,
            emergency_number=self.config.emergency_number,
        )

    # -- POST /twilio/status ----------------------------------------------------------------

    async def status(self, request: Request) -> Response:
        form = await self._verified_form(request)
        if form is None:
            return self._refused(STATUS_PATH)
        message_sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        if not message_sid or not status:
            return PlainTextResponse("MessageSid and MessageStatus are required", 400)
        if not delivery.is_known(status):
            log.info("status callback for %s: unknown status ignored", message_sid)
            return Response(status_code=204)
        error_code = str(form.get("ErrorCode") or "") or None
        reminder_param = request.query_params.get("reminder", "")
        reminder_id = int(reminder_param) if reminder_param.isdigit() else None
        flag = None
        if status in delivery.FAILED_STATUSES and error_code in delivery.OPTED_OUT_CODES:
            flag = "sms_opted_out"
        elif status in delivery.FAILED_STATUSES and error_code in delivery.UNREACHABLE_CODES:
            flag = "sms_unreachable"
        updated = await asyncio.to_thread(
            self.store.record_delivery,
            message_sid,
            status,
            delivery.ranked_below(status),
            error_code,
            self.clock.now(),
            reminder_id,
            flag,
        )
        if updated is None:
            log.info("status %s for %s: stale, repeated or unknown, ignored", status, message_sid)
        else:
            log.info(
                "status %s for %s recorded on reminder %s%s",
                status,
                message_sid,
                updated.reminder_id,
                f" (error {error_code})" if error_code else "",
            )
        return Response(status_code=204)
