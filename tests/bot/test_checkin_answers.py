"""Check-in answers through the conversation core, on both databases: within 24 hours of a
check-in sent to the patient a bare 1, 2 or 3 is an answer, recorded per treatment;
3 alerts the clinic like a described warning sign, 2 is a low-priority item that alerts
nobody, 1 is reassurance. Without an open check-in, "1" is an ordinary question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from aftercare.wiring import Core, build_inbound
from bot.channel import InboundHandler, InboundReply
from bot.memory import MemoryChannel
from scheduler.clock import FakeClock
from scheduler.planning import Registration
from scheduler.protocol_catalog import ProtocolCatalog
from storage.checkins import CheckinRepository, StoredAnswer
from storage.models import Conversation, Escalation, Reminder
from storage.patients import ClinicView
from tests.bot import conversation_kit
from tests.scheduler.engine_kit import make_engine, register

STAFF_CHAT = -100123
HOUR = timedelta(hours=1)


@dataclass
class Patient:
    """Ana, treated an hour ago and enrolled for SMS; the conversation core that answers
    her; the Telegram chat where her clinic's staff are alerted."""

    core: Core
    clock: FakeClock
    treated: Registration
    handler: InboundHandler
    staff_alerts: MemoryChannel

    async def is_sent_checkin(self, key: str) -> int:
        """Runs the engine to the check-in's due time: it is sent (with the step due with
        it). Returns the check-in reminder's id."""
        engine = make_engine(self.core, self.clock)
        await engine.run()  # the welcome
        self.clock.set(next(p.due_at for p in self.treated.planned if p.key == key))
        await engine.run()
        [asked] = [d for d in engine.sms.sent if "Reply 1 = as expected" in d.message.text]
        assert asked.message.reminder_id is not None
        return asked.message.reminder_id

    async def writes(self, text: str, channel: str = "sms") -> InboundReply:
        return await self.handler.handle(
            channel=channel, text=text, patient_id=self.treated.patient_id
        )

    def answers(self) -> list[StoredAnswer]:
        return CheckinRepository(self.core.db).answers(self.treated.treatment_id)

    def escalations(self) -> list[Escalation]:
        return conversation_kit.escalations(self.core.db)

    def conversations(self) -> list[Conversation]:
        return conversation_kit.conversations(self.core.db)


@pytest.fixture
def ana(core: Core, clinic: ClinicView, clock: FakeClock) -> Patient:
    conversation_kit.set_staff_contacts(core.db, clinic.id, staff_telegram_chat_id=STAFF_CHAT)
    staff_alerts = MemoryChannel("telegram", clock.now)
    handler = build_inbound(core, {"telegram": staff_alerts})
    treated = register(core, clinic, "P1", clock.now() - HOUR)
    return Patient(core, clock, treated, handler, staff_alerts)


async def test_3_after_a_check_in_escalates_and_alerts_the_clinic(ana: Patient) -> None:
    checkin_id = await ana.is_sent_checkin("checkin_24h")
    ana.clock.advance(2 * HOUR)

    answer = await ana.writes("3")

    described = await ana.writes("there is pus and it feels hot")
    assert answer.escalated and answer.topic == "red_flag"
    assert answer.text == described.text  # word for word the warning-sign answer
    first, _ = ana.escalations()
    assert (first.category, first.alerted_at) == ("red_flag", ana.clock.now())
    [alert] = ana.staff_alerts.sent  # one alert; the described sign within the hour adds none
    assert f"Escalation {first.id} (red flag)" in alert.message.text
    assert alert.message.address == str(STAFF_CHAT)
    [stored] = ana.answers()
    assert (stored.answer, stored.milestone, stored.reminder_id) == (3, "checkin_24h", checkin_id)
    assert stored.escalation_id == first.id


async def test_1_after_a_check_in_reassures_and_alerts_nobody(ana: Patient) -> None:
    await ana.is_sent_checkin("checkin_24h")
    ana.clock.advance(HOUR)

    answer = await ana.writes("1️⃣", channel="telegram")

    assert not answer.escalated and answer.topic == "checkin"
    assert "normal" in answer.text and "<b>Workouts and swimming are OK again</b>" in answer.text
    assert ana.escalations() == [] and ana.staff_alerts.sent == []
    [conversation] = ana.conversations()
    assert (conversation.topic, conversation.escalated) == ("checkin", False)
    [stored] = ana.answers()
    assert (stored.answer, stored.escalation_id) == (1, None)


async def test_2_is_recorded_for_staff_as_low_priority_without_an_alert(ana: Patient) -> None:
    await ana.is_sent_checkin("checkin_72h")
    ana.clock.advance(23 * HOUR)  # still within the day after the check-in

    answer = await ana.writes(" dos ")

    assert not answer.escalated and answer.topic == "checkin"
    assert "+15551234567" in answer.text and "fever" in answer.text
    [escalation] = ana.escalations()
    assert (escalation.category, escalation.alerted_at) == ("checkin_concern", None)
    assert ana.staff_alerts.sent == []  # nobody is paged
    [stored] = ana.answers()
    assert (stored.answer, stored.milestone, stored.escalation_id) == (
        2,
        "checkin_72h",
        escalation.id,
    )

    # A warning sign right after it still alerts the clinic.
    await ana.writes("now I have a fever")
    assert len(ana.staff_alerts.sent) == 1


async def test_1_with_no_check_in_open_is_an_ordinary_question(ana: Patient) -> None:
    # Nothing asked yet: "1" is a question like any other (and not understood).
    before = await ana.writes("1")
    assert before.topic == "unknown" and not before.escalated

    # Asked, but more than 24 hours ago: the answer window has closed.
    await ana.is_sent_checkin("checkin_24h")
    ana.clock.advance(24 * HOUR + timedelta(minutes=1))
    late = await ana.writes("3")
    assert late.topic == "unknown" and not late.escalated

    assert ana.escalations() == [] and ana.staff_alerts.sent == []
    assert ana.answers() == []


async def test_more_than_a_number_goes_through_the_usual_core_warning_signs_first(
    ana: Patient,
) -> None:
    await ana.is_sent_checkin("checkin_24h")

    answer = await ana.writes("1 but now there is pus")

    assert answer.topic == "red_flag" and len(ana.staff_alerts.sent) == 1
    assert ana.answers() == []


async def test_a_protocol_without_check_ins_asks_nothing_and_takes_no_answers(
    ana: Patient,
) -> None:
    # The check-in was sent, but the clinic's protocol no longer has check-ins.
    await ana.is_sent_checkin("checkin_24h")
    core = ana.core
    with core.db.session() as session:
        kept = session.scalars(
            select(Reminder.milestone).where(Reminder.treatment_id == ana.treated.treatment_id)
        ).all()
    assert "checkin_24h" in kept
    dropped = core.protocol.model_copy(
        update={"milestones": [m for m in core.protocol.milestones if m.kind != "checkin"]}
    )
    core.protocols = ProtocolCatalog(core.db, dropped)
    ana.handler = build_inbound(core, {})

    answer = await ana.writes("2")

    assert answer.topic == "unknown"
    assert ana.answers() == []
