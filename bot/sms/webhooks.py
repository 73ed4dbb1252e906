"""Twilio's webhooks: POST /twilio/sms (a patient's text) and POST /twilio/status
(delivery receipts). Both refuse a request whose X-Twilio-Signature does not match.

Signatures are checked against PUBLIC_BASE_URL + path (+ query): behind a proxy the URL
this server sees is not the one Twilio signed. Without PUBLIC_BASE_URL the URL as received
is used, which only works when nothing rewrites it.

Anyone can call these routes, so nothing is done for a request before its signature is
checked but reading at most 64 KB of url-encoded form (what Twilio posts is a few KB).
Signed values are then checked too: ids must look like Twilio's, and a patient's text is
cleaned of control characters and cut to an SMS's 1,600 characters before any use.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.datastructures import ImmutableMultiDict
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

from bot.channel import AlreadyProcessed, InboundHandler, InboundSource
from bot.http_body import BodyTooLarge, MalformedForm, UnsupportedMediaType, read_urlencoded
from bot.sms import delivery
from bot.sms.keywords import Keyword, keyword
from messages import gsm7
from messages.inbound_text import SMS_MAX_CHARS, clean_inbound
from messages.protocol import Protocol
from messages.sms_plan import plan_text
from messages.sms_texts import sms_text
from scheduler.clock import Clock
from storage.sms import SmsContact, SmsStore
from storage.values import ReminderStatus

log = logging.getLogger(__name__)

PROVIDER = "twilio"
INBOUND_PATH = "/twilio/sms"
STATUS_PATH = "/twilio/status"
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 100  # Twilio sends about 45 with ten media attachments

# Twilio's SIDs are two letters and 32 hex digits; anything alphanumeric up to our column's
# 64 characters is let through, in case Twilio lengthens them.
_MESSAGE_SID = re.compile(r"[A-Za-z0-9]{1,64}")
# A phone number, short code, alphanumeric sender or "whatsapp:+1..." address.
_ADDRESS = re.compile(r"[!-~]{1,64}")
_ERROR_CODE = re.compile(r"[0-9]{1,16}")
_REMINDER_ID = re.compile(r"[0-9]{1,19}")
_INT64_MAX = 2**63 - 1

Form = ImmutableMultiDict[str, str]  # getlist() is what Twilio's validator reads repeats by


class BadField(ValueError):
    """A signed request with a value no Twilio request carries; answer 400."""


def message_sid(form: Form) -> str:
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    if not _MESSAGE_SID.fullmatch(sid):
        raise BadField("MessageSid must be 1 to 64 letters and digits")
    return sid


def sender_address(form: Form) -> str:
    phone = str(form.get("From") or "")
    if not _ADDRESS.fullmatch(phone):
        raise BadField("From must be 1 to 64 printable characters")
    return phone


def error_code(form: Form) -> str | None:
    code = str(form.get("ErrorCode") or "")
    if code and not _ERROR_CODE.fullmatch(code):
        raise BadField("ErrorCode must be a number")
    return code or None


def reminder_id(raw: str | None) -> int | None:
    """`?reminder=` as our SMS channel writes it: a positive 64-bit id."""
    if raw is None:
        return None
    if not _REMINDER_ID.fullmatch(raw) or not 0 < int(raw) <= _INT64_MAX:
        raise BadField("reminder must be a positive 64-bit integer")
    return int(raw)


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
        self,
        config: WebhookConfig,
        store: SmsStore,
        inbound: InboundHandler,
        clock: Clock,
        protocols: Mapping[str, Protocol],
        default_protocol: Protocol,
    ) -> None:
        """`protocols`: every treatment's own protocol by key (PLAN names its steps);
        `default_protocol` for a key no longer known."""
        self.config = config
        self.store = store
        self.inbound = inbound
        self.clock = clock
        self.protocols = protocols
        self.default_protocol = default_protocol
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

    async def _verified_form(self, request: Request, path: str) -> Form | Response:
        """The form Twilio signed, or the answer that refuses the request."""
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return self._refused(path)
        try:
            fields = await read_urlencoded(request, MAX_BODY_BYTES, MAX_FIELDS)
        except UnsupportedMediaType:
            return PlainTextResponse("expected a url-encoded form", status_code=415)
        except BodyTooLarge:
            log.warning("refused a request to %s: body over %d bytes", path, MAX_BODY_BYTES)
            return PlainTextResponse("request body too large", status_code=413)
        except MalformedForm:
            return PlainTextResponse("malformed form", status_code=400)
        form: Form = ImmutableMultiDict(fields)
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        if not self._validator.validate(self.signed_url(request), form, signature, algorithm):
            return self._refused(path)
        return form

    @staticmethod
    def _refused(path: str) -> Response:
        log.warning("refused a request to %s: missing or invalid Twilio signature", path)
        return PlainTextResponse("invalid signature", status_code=403)

    @staticmethod
    def _bad_field(path: str, error: BadField) -> Response:
        log.warning("refused a signed request to %s: %s", path, error)
        return PlainTextResponse(str(error), status_code=400)

    # -- POST /twilio/sms -------------------------------------------------------------------

    async def incoming(self, request: Request) -> Response:
        form = await self._verified_form(request, INBOUND_PATH)
        if isinstance(form, Response):
            return form
        try:
            sid = message_sid(form)
            phone = sender_address(form)
        except BadField as error:
            return self._bad_field(INBOUND_PATH, error)
        text = clean_inbound(str(form.get("Body") or ""), SMS_MAX_CHARS)
        media = str(form.get("NumMedia") or "0")
        if await asyncio.to_thread(self.store.is_processed, PROVIDER, sid):
            log.info("inbound sms %s already processed: ignored", sid)
            return twiml()
        opt_out_type = str(form.get("OptOutType") or "").lower()
        try:
            reply = await self._answer(
                sid,
                phone,
                text,
                has_media=media not in ("", "0"),
                opt_out_type=opt_out_type,
            )
        except AlreadyProcessed:
            # A simultaneous delivery of the same message got there first.
            log.info("inbound sms %s already processed: ignored", sid)
            return twiml()
        except Exception:
            # Nothing was recorded, so Twilio's redelivery is processed afresh.
            log.exception("inbound sms %s could not be processed", sid)
            return PlainTextResponse("could not process the message", status_code=500)
        if reply:
            cost = gsm7.cost(reply)
            log.info("inbound sms %s answered (%s, %d segments)", sid, cost.encoding, cost.segments)
        return twiml(reply)

    async def _answer(
        self, message_sid: str, phone: str, text: str, *, has_media: bool, opt_out_type: str = ""
    ) -> str | None:
        """The reply body for one inbound text, or None for no reply. The message's id is
        recorded in the transaction that stores what it did; `AlreadyProcessed` if it was
        recorded before."""
        source = InboundSource(PROVIDER, message_sid)
        word = keyword(text)
        if opt_out_type in ("stop", "start", "help"):
            # Twilio recognised a keyword (with Advanced Opt-Out, possibly a custom one):
            # its verdict is what it enforces, so it is the one to follow.
            word = Keyword(opt_out_type, word.language if word else "")  # type: ignore[arg-type]
        now = self.clock.now()
        if word is not None and word.kind in ("stop", "start"):
            opted_out = word.kind == "stop"
            changed = await asyncio.to_thread(
                self.store.set_opted_out, phone, opted_out, now, (PROVIDER, message_sid)
            )
            if changed is None:
                raise AlreadyProcessed(source)
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
            await self._record_only(source, now)
            return sms_text(
                "unknown_number", language, emergency_number=self.config.emergency_number
            )
        language = "es" if word is not None and word.language == "es" else contact.language
        if word is not None and word.kind == "help":
            log.info("inbound sms %s: help for patient %s", message_sid, contact.patient_id)
            await self._record_only(source, now)
            return self._text("help", language, contact)
        if word is not None and word.kind == "plan":
            log.info("inbound sms %s: plan for patient %s", message_sid, contact.patient_id)
            # Off the event loop: the plan is read, and a clinic's protocol may be loaded.
            plan = await asyncio.to_thread(self._plan, contact, language, now)
            await self._record_only(source, now)
            # Twilio would refuse a reply to a number that opted out.
            return None if contact.sms_opted_out else plan
        if not text.strip():
            await self._record_only(source, now)
            return self._text("media_only", language, contact) if has_media else None
        answer = await self.inbound.handle(
            channel="sms",
            text=text,
            patient_id=contact.patient_id,
            language=contact.language,
            source=source,
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

    async def _record_only(self, source: InboundSource, now: datetime) -> None:
        """A message that changes nothing but its reply: only its id is recorded."""
        recorded = await asyncio.to_thread(
            self.store.record_inbound, source.provider, source.message_id, now
        )
        if not recorded:
            raise AlreadyProcessed(source)

    def _plan(self, contact: SmsContact, language: str, now: datetime) -> str:
        plan = self.store.plan(contact.patient_id, now)
        if plan is None:  # every session of theirs was cancelled
            return self._text("plan_none", language, contact)
        pending = [(r.milestone, r.due_at) for r in plan.rows if r.status == ReminderStatus.PENDING]
        return plan_text(
            self.protocols.get(plan.protocol, self.default_protocol),
            pending,
            plan.next_session,
            ZoneInfo(contact.timezone),
            now,
            language,
        )

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
        form = await self._verified_form(request, STATUS_PATH)
        if isinstance(form, Response):
            return form
        try:
            sid = message_sid(form)
            code = error_code(form)
            reminder = reminder_id(request.query_params.get("reminder"))
        except BadField as error:
            return self._bad_field(STATUS_PATH, error)
        status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        if not status:
            return PlainTextResponse("MessageStatus is required", 400)
        if not delivery.is_known(status):
            log.info("status callback for %s: unknown status ignored", sid)
            return Response(status_code=204)
        flag = None
        if status in delivery.FAILED_STATUSES and code in delivery.OPTED_OUT_CODES:
            flag = "sms_opted_out"
        elif status in delivery.FAILED_STATUSES and code in delivery.UNREACHABLE_CODES:
            flag = "sms_unreachable"
        updated = await asyncio.to_thread(
            self.store.record_delivery,
            sid,
            status,
            delivery.ranked_below(status),
            code,
            self.clock.now(),
            reminder,
            flag,
        )
        if updated is None:
            log.info("status %s for %s: stale, repeated or unknown, ignored", status, sid)
        else:
            log.info(
                "status %s for %s recorded on reminder %s%s",
                status,
                sid,
                updated.reminder_id,
                f" (error {code})" if code else "",
            )
        return Response(status_code=204)
