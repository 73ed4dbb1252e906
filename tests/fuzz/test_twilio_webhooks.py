"""Twilio's webhooks (POST /twilio/sms, /twilio/status) with valid signatures over
generated form fields, answered by the real conversation core on SQLite and PostgreSQL.

A signed request is Twilio's, so it is never refused as forged; what it carries can still
be anything. It gets TwiML (200) or 204, or 400 for a value no Twilio request has; never 500,
and nothing is logged as an error. A MessageSid seen before adds no conversation.
"""

from __future__ import annotations

import asyncio
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import strategies as st
from sqlalchemy import func, select

from messages import gsm7
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.models import Conversation
from tests.bot.sms.conftest import ACCOUNT_SID, FROM_NUMBER, PUBLIC_BASE_URL, sign, sms_settings
from tests.fakes.twilio_api import FakeTwilioApi
from tests.fuzz.harness import EXAMPLES, error_records, fuzz, long_texts
from tests.fuzz.service import Served, served

PATIENT_PHONES = ["+15550001111", "+15550002222", "+34600111222"]
STAFF_PHONE = "+15557770000"
KEYWORDS = ["STOP", "stop!", "Start", "HELP", "info", "AYUDA", "baja por favor", "PARAR", "si"]
TEXTS = [
    "can I wear makeup?",
    "I have pus and fever",
    "my lips are swelling and I can't breathe",
    "no fever, just a bit red",
    "¿puedo ir al gimnasio mañana?",
    "tengo pus en la mejilla",
    "I have pus\x00 and fever",
    "\x1b[31m\x7f\x85",
]


@dataclass
class Inbound:
    sid_kind: str  # fresh | repeat | arbitrary
    sid_text: str
    sid_field: str
    sender: str
    body: str
    media: str | None
    opt_out: str | None
    extra: dict[str, str] = field(default_factory=dict)


def bodies() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(KEYWORDS + TEXTS),
        st.text(max_size=300),
        st.lists(st.sampled_from(KEYWORDS + TEXTS), max_size=6).map(" ".join),
        long_texts(1500, 2000),  # past an SMS's 1,600 characters
    )


def senders() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(PATIENT_PHONES),
        st.sampled_from(["+15559990000", "whatsapp:+15550001111", "12345", "GlowClinic"]),
        st.text(max_size=70),
    )


INBOUND = st.builds(
    Inbound,
    sid_kind=st.sampled_from(["fresh", "fresh", "fresh", "repeat", "arbitrary"]),
    sid_text=st.text(max_size=80),
    sid_field=st.sampled_from(["MessageSid", "MessageSid", "SmsSid"]),
    sender=senders(),
    body=bodies(),
    media=st.one_of(st.none(), st.sampled_from(["0", "1", "10", "-1", "x", ""])),
    opt_out=st.one_of(st.none(), st.sampled_from(["STOP", "START", "HELP", "stop", "x", ""])),
    extra=st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=4),
)

# A few distinct SIDs per run: "fresh" ones come from a counter, so they never collide.
_fresh_sids: Iterator[int] = itertools.count(1)


@pytest.fixture
def sms_service(database_url: str, clock: FakeClock) -> Iterator[Served]:
    with asyncio.Runner() as runner:
        api = FakeTwilioApi(ACCOUNT_SID, "test-auth-token-9f8e7d6c5b4a", now=clock.now)
        runner.run(api.start())
        settings = sms_settings(database_url, api.url)
        try:
            with served(runner, settings, clock) as service:
                clinic = service.add_clinic(staff_sms_number=STAFF_PHONE)
                for number, phone in enumerate(PATIENT_PHONES):
                    service.core.planner.register(
                        clinic.id,
                        NewPatient(
                            f"P{number}",
                            "America/New_York",
                            language="es" if phone.startswith("+34") else "en",
                            first_name="Ana",
                            phone=phone,
                        ),
                        clock.now() - timedelta(hours=5),
                    )
                yield service
        finally:
            runner.run(api.close())


def conversation_count(service: Served) -> int:
    with service.core.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Conversation)) or 0)


def test_signed_inbound_texts_are_answered_never_failed(
    sms_service: Served, clock: FakeClock
) -> None:
    sent: list[str] = []

    def post(form: dict[str, str], path: str = "/twilio/sms") -> tuple[int, str]:
        headers = {"X-Twilio-Signature": sign(PUBLIC_BASE_URL + path, form)}
        response = sms_service.run(sms_service.http.post(path, data=form, headers=headers))
        return response.status_code, response.text

    with error_records() as errors:

        def check(inbound: Inbound) -> None:
            if inbound.sid_kind == "fresh" or (inbound.sid_kind == "repeat" and not sent):
                sid = f"SM{next(_fresh_sids):032x}"
            elif inbound.sid_kind == "repeat":
                sid = sent[-1]
            else:
                sid = inbound.sid_text
            form = {**inbound.extra, "AccountSid": ACCOUNT_SID, "To": FROM_NUMBER}
            form.update({inbound.sid_field: sid, "From": inbound.sender, "Body": inbound.body})
            if inbound.media is not None:
                form["NumMedia"] = inbound.media
            if inbound.opt_out is not None:
                form["OptOutType"] = inbound.opt_out
            before = conversation_count(sms_service)
            clock.advance(timedelta(seconds=7))

            status, text = post(form)

            assert status != 500, f"500 for a signed request: {text!r}"
            assert status != 403, "a validly signed request was refused as forged"
            assert not errors.take(), "no error is logged for an inbound text"
            well_formed = inbound.sid_kind != "arbitrary" and inbound.sender in PATIENT_PHONES
            assert status == 200 or (status == 400 and not well_formed), (status, text)
            if status != 200:
                return
            sent.append(sid)
            root = ET.fromstring(text)
            assert root.tag == "Response"
            for message in root.iter("Message"):
                cost = gsm7.cost(message.text or "")
                assert (message.text or "").strip()
                assert cost.encoding == "GSM-7" and cost.segments <= 2, message.text
            if inbound.sid_kind == "repeat" and sid in sent[:-1]:
                assert conversation_count(sms_service) == before, "a redelivery is handled once"

        fuzz("twilio_sms", INBOUND, check, examples=EXAMPLES["twilio_sms"] // 2)


STATUSES = ["queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "accepted"]


@dataclass
class Receipt:
    sid: str
    status: str
    error_code: str | None
    reminder: str | None
    extra: dict[str, str]


RECEIPTS = st.builds(
    Receipt,
    sid=st.one_of(st.integers(0, 50).map(lambda n: f"SM{n:032x}"), st.text(max_size=80)),
    status=st.one_of(st.sampled_from(STATUSES), st.text(max_size=20)),
    error_code=st.one_of(
        st.none(),
        st.sampled_from(["21610", "30005", "30006", "30003", "0", "99999999999999999999"]),
        st.text(max_size=10),
    ),
    reminder=st.one_of(
        st.none(),
        st.integers(-5, 40).map(str),
        st.integers(2**62, 2**80).map(str),  # past int64
        st.text(max_size=20),
    ),
    extra=st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=3),
)


def test_signed_delivery_receipts_are_recorded_or_refused_never_failed(
    sms_service: Served, clock: FakeClock
) -> None:
    with error_records() as errors:

        def check(receipt: Receipt) -> None:
            form = {**receipt.extra, "AccountSid": ACCOUNT_SID}
            form.update({"MessageSid": receipt.sid, "MessageStatus": receipt.status})
            if receipt.error_code is not None:
                form["ErrorCode"] = receipt.error_code
            path = "/twilio/status"
            if receipt.reminder is not None:
                path += "?" + urlencode({"reminder": receipt.reminder})
            headers = {"X-Twilio-Signature": sign(PUBLIC_BASE_URL + path, form)}
            clock.advance(timedelta(seconds=3))

            response = sms_service.run(sms_service.http.post(path, data=form, headers=headers))

            assert response.status_code != 500, f"500 for a signed receipt: {response.text!r}"
            assert response.status_code != 403, "a validly signed receipt was refused as forged"
            assert response.status_code in (200, 204, 400), response.status_code
            assert not errors.take(), "no error is logged for a receipt"

        fuzz("twilio_status", RECEIPTS, check, examples=EXAMPLES["twilio_status"] // 2)
