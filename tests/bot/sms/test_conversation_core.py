"""SMS through the real conversation core (bot.inbound.Conversations, built by the wiring)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from aftercare.wiring import build_inbound
from messages import gsm7
from scheduler.ports import Channel
from storage.models import Conversation, Escalation
from tests.bot.sms.conftest import SmsFactory, SmsHarness


def reply_text(body: str) -> str:
    messages = [element.text or "" for element in ET.fromstring(body).iter("Message")]
    assert len(messages) == 1
    return messages[0]


async def real_core(sms_factory: SmsFactory) -> SmsHarness:
    sms = await sms_factory()
    channels: dict[str, Channel] = {"sms": sms.adapter.channel}
    sms.adapter.webhooks.inbound = build_inbound(sms.core, channels)
    return sms


async def test_a_question_is_answered_by_the_faq_in_plain_gsm7(sms_factory: SmsFactory) -> None:
    sms = await real_core(sms_factory)
    patient_id = sms.register()

    response = await sms.text_in("When can I put makeup back on?")

    assert response.status_code == 200
    text = reply_text(response.text)
    assert "makeup" in text.lower()
    assert gsm7.is_gsm7(text)
    assert gsm7.cost(text).segments <= 2
    with sms.core.db.session() as session:
        [conversation] = session.scalars(select(Conversation)).all()
        assert (conversation.patient_id, conversation.channel) == (patient_id, "sms")


async def test_a_warning_sign_gets_contact_your_clinic_and_an_escalation(
    sms_factory: SmsFactory,
) -> None:
    sms = await real_core(sms_factory)
    patient_id = sms.register()

    response = await sms.text_in("There is pus on my cheek and I have a fever")

    text = reply_text(response.text)
    assert "+15551234567" in text
    assert "911" in text
    with sms.core.db.session() as session:
        [escalation] = session.scalars(select(Escalation)).all()
        assert escalation.patient_id == patient_id
