"""Issue 9, finding 3: a message's id is recorded in the transaction that records what the
message did, so a redelivery is either recognised (everything was stored) or processed
(nothing was). The process-level kill -9 version is in test_inbound_crash.py."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from aftercare.wiring import build_inbound
from storage.models import Conversation, Escalation, InboundMessage, Patient
from tests.bot.conversation_kit import conversation_store_down
from tests.bot.sms.conftest import SmsFactory, SmsHarness, replies

SID = "SM" + "0a1b2c3d" * 4


def count(sms: SmsHarness, table: type[object]) -> int:
    with sms.core.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
async def sms(sms_factory: SmsFactory) -> SmsHarness:
    sms = await sms_factory(inbound=build_inbound)
    sms.register()
    return sms


async def test_a_red_flag_that_could_not_be_stored_is_processed_when_twilio_retries(
    sms: SmsHarness,
) -> None:
    with conversation_store_down(sms.core.db):
        failed = await sms.text_in("there's yellow pus on my cheek", sid=SID)
    assert failed.status_code == 500
    assert count(sms, InboundMessage) == 0  # nothing says it was processed

    [answer] = replies(await sms.text_in("there's yellow pus on my cheek", sid=SID))

    assert "Glow Skin Clinic" in answer
    assert count(sms, Conversation) == count(sms, Escalation) == count(sms, InboundMessage) == 1


async def test_the_same_message_delivered_twice_at_once_is_processed_once(
    sms: SmsHarness,
) -> None:
    first, second = await asyncio.gather(
        sms.text_in("I have a fever", sid=SID), sms.text_in("I have a fever", sid=SID)
    )

    assert sorted(len(replies(r)) for r in (first, second)) == [0, 1]
    assert count(sms, Conversation) == count(sms, Escalation) == 1


async def test_a_redelivered_question_is_answered_once(sms: SmsHarness) -> None:
    assert len(replies(await sms.text_in("Can I wear makeup?", sid=SID))) == 1
    assert replies(await sms.text_in("Can I wear makeup?", sid=SID)) == []
    assert count(sms, Conversation) == 1


async def test_a_stop_is_recorded_with_its_message_id(sms: SmsHarness) -> None:
    assert replies(await sms.text_in("STOP", sid=SID)) == []
    assert replies(await sms.text_in("START", sid="SM" + "1" * 32)) == []
    # A late redelivery of the STOP must not undo the START that followed it.
    assert replies(await sms.text_in("STOP", sid=SID)) == []

    with sms.core.db.session() as session:
        assert session.scalar(select(Patient.sms_opted_out)) is False
    assert count(sms, InboundMessage) == 2
