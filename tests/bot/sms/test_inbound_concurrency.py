"""Inbound texts arriving together: one alert per patient and sign per hour even when two
messages race on PostgreSQL (issue 9, "the alert race"), and answering a message never
holds up the event loop (issue 9, finding 7)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import event, select

from aftercare.wiring import Core, build_inbound
from bot.alerts import StaffAlerter
from bot.channel import InboundHandler
from bot.inbound import Conversations
from messages.protocol import Protocol
from scheduler.ports import Channel
from storage.conversations import ConversationRepository
from storage.models import Conversation, Escalation
from tests.bot.sms.conftest import SmsFactory, SmsHarness


def with_staff_phone(sms: SmsHarness) -> SmsHarness:
    sms.alert_staff_by_sms()
    sms.register()
    return sms


# -- the alert race -----------------------------------------------------------------------


@pytest.fixture
def transactions_meet(sms: SmsHarness) -> Iterator[None]:
    """Holds each request's transaction right after it stored its conversation until the
    other request's has too, so both decide about the alert at the same moment, which is
    when the race happens (SQLAlchemy's event API; on PostgreSQL only, since SQLite lets
    one writer in at a time)."""
    both = threading.Barrier(2, timeout=10)

    def meet(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CONVERSATION"):
            both.wait()

    event.listen(sms.core.db.engine, "after_cursor_execute", meet)
    yield
    event.remove(sms.core.db.engine, "after_cursor_execute", meet)


@pytest.fixture
async def sms(sms_factory: SmsFactory) -> SmsHarness:
    return with_staff_phone(await sms_factory(inbound=build_inbound))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_warning_signs_at_the_same_moment_alert_the_clinic_once(
    sms: SmsHarness, transactions_meet: None
) -> None:
    first, second = await asyncio.gather(
        sms.text_in("I have a fever"), sms.text_in("there's pus on my cheek")
    )

    assert first.status_code == second.status_code == 200
    with sms.core.db.session() as session:
        escalations = list(session.scalars(select(Escalation)))
        conversations = list(session.scalars(select(Conversation)))
    assert len(conversations) == 2
    assert {e.category for e in escalations} == {"red_flag"} and len(escalations) == 2
    assert len([e for e in escalations if e.alerted_at is not None]) == 1
    assert len(sms.staff_alerts()) == 1


async def test_an_emergency_still_alerts_within_the_hour_of_a_red_flag(sms: SmsHarness) -> None:
    await sms.text_in("I have a fever")
    sms.clock.advance(60)
    await sms.text_in("I have a fever")
    sms.clock.advance(60)
    await sms.text_in("I can't breathe")

    alerts = sms.staff_alerts()
    assert len(alerts) == 2
    assert "EMERGENCY" in alerts[1]


async def test_after_the_quiet_hour_the_same_sign_alerts_again(sms: SmsHarness) -> None:
    await sms.text_in("I have a fever")
    sms.clock.advance(59 * 60)
    await sms.text_in("still a fever")
    assert len(sms.staff_alerts()) == 1
    sms.clock.advance(2 * 60)
    await sms.text_in("the fever is back")
    assert len(sms.staff_alerts()) == 2


async def test_an_alert_that_could_not_be_sent_is_sent_with_the_next_message(
    sms: SmsHarness,
) -> None:
    sms.api.fail_next(500)
    await sms.text_in("I have a fever")
    assert sms.staff_alerts() == []

    await sms.text_in("I have a fever")

    assert len(sms.staff_alerts()) == 1


# -- off the event loop -------------------------------------------------------------------


class HeldProtocols(Mapping[str, Protocol]):
    """The core's protocols, looked up while a message is answered; the lookup waits until
    the test lets it go, standing in for slow matching of a long message."""

    def __init__(self, protocols: Mapping[str, Protocol]) -> None:
        self._protocols = protocols
        self.reached = threading.Event()
        self.released = threading.Event()

    def __getitem__(self, name: str) -> Protocol:
        self.reached.set()
        if not self.released.wait(timeout=5):
            raise TimeoutError("nothing else ran while the message was being answered")
        return self._protocols[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._protocols)

    def __len__(self) -> int:
        return len(self._protocols)


async def test_healthz_is_answered_while_a_message_is_being_answered(
    sms_factory: SmsFactory,
) -> None:
    held: list[HeldProtocols] = []

    def held_core(core: Core, channels: Mapping[str, Channel]) -> InboundHandler:
        held.append(HeldProtocols(core.protocols))
        return Conversations(
            ConversationRepository(core.db),
            core.clock,
            held[0],
            core.protocol,
            StaffAlerter(channels),
            emergency_number=core.settings.emergency_number,
        )

    sms = await sms_factory(inbound=held_core)
    sms.register()
    answering = asyncio.create_task(sms.text_in("Can I wear makeup tomorrow?"))
    assert await asyncio.to_thread(held[0].reached.wait, 5)

    health = await sms.http.get("/healthz")
    answered_while_held = not held[0].released.is_set()
    held[0].released.set()
    response = await answering

    assert health.status_code == 200
    assert answered_while_held
    assert response.status_code == 200
    assert "makeup is OK" in response.text
