"""Twilio's webhooks through the real Starlette app, with requests signed as Twilio signs."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from aftercare.wiring import build_inbound
from messages import gsm7
from storage.models import Conversation, InboundMessage, Patient, Reminder
from tests.bot.sms.conftest import (
    ACCOUNT_SID,
    FORWARDED_BASE_URL,
    PATIENT_PHONE,
    PUBLIC_BASE_URL,
    ScriptedConversations,
    SmsFactory,
    SmsHarness,
    sign,
)


def reply_of(response: httpx.Response) -> list[str]:
    """The message bodies of a TwiML answer."""
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter("Message")]


def opted_out(sms: SmsHarness, patient_id: int) -> bool:
    with sms.core.db.session() as session:
        row = session.get(Patient, patient_id)
        assert row is not None
        return row.sms_opted_out


def reminders(sms: SmsHarness, patient_id: int) -> list[Reminder]:
    with sms.core.db.session() as session:
        return list(
            session.scalars(
                select(Reminder).where(Reminder.patient_id == patient_id).order_by(Reminder.id)
            )
        )


# -- signatures ---------------------------------------------------------------------------


async def test_a_request_signed_for_the_public_url_is_accepted_behind_the_proxy(
    sms: SmsHarness,
) -> None:
    sms.register()
    response = await sms.text_in("Can I wear makeup?")
    assert response.status_code == 200
    assert sms.inbound.calls


@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/status"])
@pytest.mark.parametrize(
    "forgery",
    ["no signature", "wrong token", "signed for the forwarded url", "tampered body"],
)
async def test_a_bad_signature_is_refused_with_403(
    sms: SmsHarness, path: str, forgery: str
) -> None:
    patient_id = sms.register()
    params = {
        "MessageSid": "SM" + "f" * 32,
        "MessageStatus": "delivered",
        "From": PATIENT_PHONE,
        "Body": "STOP",
        "AccountSid": ACCOUNT_SID,
    }
    public = PUBLIC_BASE_URL + path
    if forgery == "no signature":
        response = await sms.http.post(path, data=params)
    elif forgery == "wrong token":
        response = await sms.post_signed(path, params, token="not-the-token")
    elif forgery == "signed for the forwarded url":
        response = await sms.post_signed(path, params, signed_url=FORWARDED_BASE_URL + path)
    else:
        signature = sign(public, params)
        response = await sms.post_signed(path, {**params, "Body": "START"}, signature=signature)

    assert response.status_code == 403
    assert not sms.inbound.calls
    assert not opted_out(sms, patient_id)
    with sms.core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


# -- STOP / START / HELP ------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stop", "Stop.", "UNSUBSCRIBE", "quit", "PARAR", "Baja"])
async def test_stop_records_the_opt_out_and_sends_no_reply_body(sms: SmsHarness, word: str) -> None:
    patient_id = sms.register()

    response = await sms.text_in(word)

    assert reply_of(response) == []
    assert opted_out(sms, patient_id)
    assert not sms.inbound.calls


async def test_after_stop_no_more_sms_and_start_resumes(sms: SmsHarness) -> None:
    patient_id = sms.register()
    assert await sms.dispatcher.dispatch_due() == 1  # the welcome
    assert reply_of(await sms.text_in("STOP")) == []

    sms.clock.advance(timedelta(hours=23, minutes=30))  # the makeup reminder is due
    assert await sms.dispatcher.dispatch_due() == 0
    assert len(sms.api.requests) == 1
    makeup = next(r for r in reminders(sms, patient_id) if r.milestone == "makeup")
    assert makeup.status == "cancelled"

    assert reply_of(await sms.text_in("START")) == []
    assert not opted_out(sms, patient_id)
    sms.clock.advance(timedelta(days=1))  # the sweat reminder is due
    assert await sms.dispatcher.dispatch_due() == 1
    assert sms.api.created[-1].form["To"] == PATIENT_PHONE


async def test_twilios_own_keyword_verdict_is_followed(sms: SmsHarness) -> None:
    """With Advanced Opt-Out, Twilio flags custom keywords (here French) as OptOutType."""
    patient_id = sms.register()
    params = {"MessageSid": "SM" + "c" * 32, "From": PATIENT_PHONE, "Body": "ARRET"}

    response = await sms.post_signed("/twilio/sms", {**params, "OptOutType": "STOP"})

    assert reply_of(response) == []
    assert opted_out(sms, patient_id)
    assert not sms.inbound.calls


async def test_no_phone_number_or_message_text_reaches_the_logs(
    sms: SmsHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sms.register()
    await sms.dispatcher.dispatch_due()
    questions = ["Is swelling normal on day two?", "HELP", "STOP", "START"]
    for text in questions:
        await sms.text_in(text)
    await sms.text_in("Who are you?", phone="+15559998888")
    sid = sms.api.created[0].sid
    assert sid is not None
    await sms.status(sid, "delivered", 1)

    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "inbound sms" in logged
    for secret in (PATIENT_PHONE, "+15559998888", "swelling", "Who are you", "Glow Skin"):
        assert secret not in logged


@pytest.mark.parametrize("word", ["UNSTOP", "yes", "Start!", "ALTA"])
async def test_start_words_resume(sms: SmsHarness, word: str) -> None:
    patient_id = sms.register()
    await sms.text_in("STOP")
    assert reply_of(await sms.text_in(word)) == []
    assert not opted_out(sms, patient_id)


async def test_help_gives_the_clinic_name_and_phone_and_how_to_stop(sms: SmsHarness) -> None:
    sms.register()

    [text] = reply_of(await sms.text_in("HELP"))

    assert "Glow Skin Clinic" in text
    assert "+15551234567" in text
    assert "STOP" in text
    assert gsm7.is_gsm7(text)
    assert not sms.inbound.calls


async def test_ayuda_answers_in_spanish(sms: SmsHarness) -> None:
    sms.register()
    [text] = reply_of(await sms.text_in("ayuda"))
    assert "Glow Skin Clinic" in text
    assert "BAJA" in text


# -- questions ----------------------------------------------------------------------------


async def test_a_question_goes_to_the_conversation_core_and_is_answered_in_twiml(
    sms_factory: SmsFactory,
) -> None:
    core = ScriptedConversations(reply='Use SPF 30+ & a hat; "reapply" <every 2 h>.')
    sms = await sms_factory(inbound=core)
    patient_id = sms.register(language="es")

    response = await sms.text_in("When can I stop using sunscreen?")

    assert reply_of(response) == ['Use SPF 30+ & a hat; "reapply" <every 2 h>.']
    assert "&amp;" in response.text
    assert "&lt;every" in response.text
    [call] = core.calls
    assert (call.channel, call.text, call.patient_id, call.language) == (
        "sms",
        "When can I stop using sunscreen?",
        patient_id,
        "es",
    )
    assert not opted_out(sms, patient_id)  # "stop" inside a question is not STOP


async def test_an_unknown_number_gets_a_short_polite_reply(sms: SmsHarness) -> None:
    sms.register()

    [text] = reply_of(await sms.text_in("Is redness normal?", phone="+15559998888"))

    assert "contact your clinic" in text
    assert gsm7.cost(text).segments <= 2
    assert not sms.inbound.calls


async def test_a_photo_without_text_points_to_the_clinic(sms: SmsHarness) -> None:
    sms.register()
    params = {
        "MessageSid": "SM" + "a" * 32,
        "From": PATIENT_PHONE,
        "Body": "",
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/media/ME1",
    }
    [text] = reply_of(await sms.post_signed("/twilio/sms", params))
    assert "+15551234567" in text
    assert not sms.inbound.calls


async def test_an_opted_out_patient_still_reaches_the_core_but_gets_no_reply(
    sms: SmsHarness,
) -> None:
    sms.register()
    await sms.text_in("STOP")

    assert reply_of(await sms.text_in("My face is hot and swollen")) == []
    assert [c.text for c in sms.inbound.calls] == ["My face is hot and swollen"]


async def test_a_redelivered_message_is_processed_once(sms_factory: SmsFactory) -> None:
    """The conversation core records the id with the conversation (see test_inbound_once)."""
    sms = await sms_factory(inbound=build_inbound)
    sms.register()
    sid = "SM" + "d" * 32

    first = await sms.text_in("Can I go to the gym?", sid=sid)
    again = await sms.text_in("Can I go to the gym?", sid=sid)

    assert len(reply_of(first)) == 1
    assert reply_of(again) == []
    with sms.core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1


async def test_a_message_that_failed_is_processed_when_twilio_redelivers_it(
    sms: SmsHarness,
) -> None:
    sms.register()
    sid = "SM" + "e" * 32
    sms.inbound.fail = True
    assert (await sms.text_in("Can I swim?", sid=sid)).status_code == 500

    sms.inbound.fail = False
    assert len(reply_of(await sms.text_in("Can I swim?", sid=sid))) == 1
    assert len(sms.inbound.calls) == 2


# -- delivery receipts --------------------------------------------------------------------


async def sent_welcome(sms: SmsHarness) -> Reminder:
    patient_id = sms.register()
    assert await sms.dispatcher.dispatch_due() == 1
    return reminders(sms, patient_id)[0]


async def test_a_delivery_receipt_is_recorded(sms: SmsHarness) -> None:
    welcome = await sent_welcome(sms)
    sid = welcome.provider_message_id
    assert sid is not None

    for status in ("queued", "sent", "delivered"):
        sms.clock.advance(5)
        assert (await sms.status(sid, status, welcome.id)).status_code == 204

    [row] = reminders(sms, welcome.patient_id)[:1]
    assert row.delivery_status == "delivered"
    assert row.delivered_at == sms.clock.now()
    assert row.status == "sent"


async def test_duplicate_and_out_of_order_receipts_never_downgrade_delivered(
    sms: SmsHarness,
) -> None:
    welcome = await sent_welcome(sms)
    sid = welcome.provider_message_id
    assert sid is not None

    await sms.status(sid, "delivered", welcome.id)
    delivered_at = sms.clock.now()
    sms.clock.advance(60)
    await sms.status(sid, "delivered", welcome.id)  # a redelivered callback
    await sms.status(sid, "sent", welcome.id)  # overtaken by the delivered one
    await sms.status(sid, "queued")  # an old callback without the reminder id
    await sms.status(sid, "undelivered", welcome.id, error_code="30003")

    row = reminders(sms, welcome.patient_id)[0]
    assert (row.delivery_status, row.delivered_at) == ("delivered", delivered_at)
    assert row.error_code is None


async def test_a_late_delivery_receipt_overrides_undelivered(sms: SmsHarness) -> None:
    welcome = await sent_welcome(sms)
    sid = welcome.provider_message_id
    assert sid is not None

    await sms.status(sid, "undelivered", welcome.id, error_code="30003")
    assert reminders(sms, welcome.patient_id)[0].delivery_status == "undelivered"
    await sms.status(sid, "sent", welcome.id)
    assert reminders(sms, welcome.patient_id)[0].delivery_status == "undelivered"
    await sms.status(sid, "delivered", welcome.id)
    assert reminders(sms, welcome.patient_id)[0].delivery_status == "delivered"


async def test_an_undelivered_receipt_records_the_error_code(sms: SmsHarness) -> None:
    welcome = await sent_welcome(sms)
    sid = welcome.provider_message_id
    assert sid is not None

    await sms.status(sid, "sent", welcome.id)
    await sms.status(sid, "undelivered", welcome.id, error_code="30003")
    await sms.status(sid, "failed", welcome.id, error_code="30008")  # terminal: first wins

    row = reminders(sms, welcome.patient_id)[0]
    assert (row.delivery_status, row.error_code) == ("undelivered", "30003")


@pytest.mark.parametrize(
    ("code", "flag"), [("21610", "sms_opted_out"), ("30006", "sms_unreachable")]
)
async def test_a_failed_receipt_that_says_the_number_cannot_take_texts_flags_the_patient(
    sms: SmsHarness, code: str, flag: str
) -> None:
    welcome = await sent_welcome(sms)
    assert welcome.provider_message_id is not None

    await sms.status(welcome.provider_message_id, "failed", welcome.id, error_code=code)

    with sms.core.db.session() as session:
        patient = session.get(Patient, welcome.patient_id)
        assert patient is not None
        assert getattr(patient, flag) is True


async def test_a_receipt_that_overtakes_the_recorded_send_still_finds_its_reminder(
    sms: SmsHarness,
) -> None:
    patient_id = sms.register()
    welcome = reminders(sms, patient_id)[0]
    sid = "SM" + "b" * 32  # the engine has not written it yet

    await sms.status(sid, "sent", welcome.id)

    row = reminders(sms, patient_id)[0]
    assert (row.provider_message_id, row.delivery_status) == (sid, "sent")


async def test_a_receipt_for_an_unknown_message_changes_nothing(sms: SmsHarness) -> None:
    welcome = await sent_welcome(sms)
    response = await sms.status("SM" + "0" * 32, "delivered")
    assert response.status_code == 204
    assert reminders(sms, welcome.patient_id)[0].delivery_status is None
