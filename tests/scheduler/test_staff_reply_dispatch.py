"""A staff reply goes through the reminder outbox: the real dispatcher, real storage (both
databases), in-memory channels. It is sent once and at once, quiet hours or not; it obeys
opt-out; an SMS carries it only within the SMS budget; the lane's rate and the retries
apply as to any reminder."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import select

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.ports import SendResult
from scheduler.quiet_hours import QuietHours
from storage.escalations import EscalationRepository, QueuedReply
from storage.models import Reminder
from storage.patients import ClinicView
from storage.values import STAFF_REPLY
from tests.scheduler.engine_kit import make_engine
from tests.storage.escalation_kit import enroll, escalate

NEW_YORK = ZoneInfo("America/New_York")
QUIET = QuietHours(time(21, 0), time(8, 0))


def queue(
    core: Core,
    clinic: ClinicView,
    clock: FakeClock,
    body: str,
    *,
    chat_id: int | None = None,
    preferred: str | None = None,
) -> int:
    """A patient treated 3 hours ago (SMS unless `preferred`) and a reply to them."""
    registration = enroll(
        core,
        clinic,
        "P1",
        clock.now() - timedelta(hours=3),
        chat_id=chat_id,
        channel=preferred,
    )
    escalation_id = escalate(core, clinic, registration.patient_id, "it is oozing", clock.now())
    queued = EscalationRepository(core.db).queue_reply(
        clinic.id,
        escalation_id,
        body,
        1,
        "nurse@glow.example",
        clock.now(),
        preferred or "sms",
    )
    assert isinstance(queued, QueuedReply)
    return queued.reminder_id


def reply_row(core: Core, reminder_id: int) -> Reminder:
    with core.db.session() as session:
        row = session.get(Reminder, reminder_id)
        assert row is not None
        return row


def late_evening(clock: FakeClock) -> datetime:
    """23:30 in New York, inside the quiet hours."""
    local = clock.now().astimezone(NEW_YORK).replace(hour=23, minute=30)
    return local.astimezone(ZoneInfo("UTC"))


async def test_a_reply_is_sent_once_with_its_own_text(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    reminder_id = queue(core, clinic, clock, "Please call us today.\nWe are open until 6.")

    await engine.run()
    await engine.run()

    replies = [d.message for d in engine.sms.sent if d.message.reminder_id == reminder_id]
    assert [(m.text, m.address) for m in replies] == [
        ("Please call us today.\nWe are open until 6.", "+15550001111")
    ]
    row = reply_row(core, reminder_id)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, clock.now())
    assert row.provider_message_id is not None


async def test_quiet_hours_hold_reminders_back_but_not_a_reply(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    clock.set(late_evening(clock))
    engine = make_engine(core, clock, quiet=QUIET)
    reminder_id = queue(core, clinic, clock, "We saw your message: call us now.")

    await engine.run()

    sent = [d.message for d in engine.sms.sent]
    assert [m.reminder_id for m in sent] == [reminder_id]
    assert sent[0].text == "We saw your message: call us now."
    with core.db.session() as session:
        held = session.scalars(
            select(Reminder).where(Reminder.milestone != STAFF_REPLY, Reminder.status == "pending")
        ).all()
    # The welcome was due now too: quiet hours moved it to 08:00.
    assert any(r.next_attempt_at > clock.now() for r in held)


async def test_a_failed_reply_is_retried_by_backoff_also_at_night(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    clock.set(late_evening(clock))
    engine = make_engine(core, clock, quiet=QUIET)
    reminder_id = queue(core, clinic, clock, "Call us.")
    engine.sms.script(SendResult.transient("provider down", error_code="503"))

    await engine.run()

    row = reply_row(core, reminder_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)  # not 08:00
    clock.advance(30)
    await engine.run()
    assert reply_row(core, reminder_id).status == "sent"


async def test_a_reply_to_a_patient_who_opted_out_of_sms_is_not_sent(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    reminder_id = queue(core, clinic, clock, "Call us.")
    row = reply_row(core, reminder_id)
    core.patients.set_flag(row.patient_id, "sms_opted_out")

    await engine.run()

    assert not [d for d in engine.sms.attempts if d.message.reminder_id == reminder_id]
    row = reply_row(core, reminder_id)
    assert (row.status, row.last_error) == ("cancelled", "patient opted out of SMS")


async def test_a_reply_moves_to_telegram_when_sms_is_closed_and_is_sent_as_plain_text(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    reminder_id = queue(core, clinic, clock, "Use <b>no</b> makeup & call us.", chat_id=4242)
    core.patients.set_flag(reply_row(core, reminder_id).patient_id, "sms_opted_out")

    await engine.run()  # the SMS lane moves it to Telegram
    await engine.run()

    [reply] = [d.message for d in engine.telegram.sent if d.message.reminder_id == reminder_id]
    # Telegram messages are sent as HTML: the staff member's text arrives as typed.
    assert reply.address == "4242"
    assert reply.text == "Use &lt;b&gt;no&lt;/b&gt; makeup &amp; call us."
    assert reply_row(core, reminder_id).channel == "telegram"


async def test_a_telegram_reply_that_cannot_be_an_sms_fails_instead_of_being_changed(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    long_reply = "Please keep the area clean 🙂 " + "and rest. " * 40
    reminder_id = queue(core, clinic, clock, long_reply, chat_id=4242, preferred="telegram")
    core.patients.set_flag(reply_row(core, reminder_id).patient_id, "telegram_unreachable")

    await engine.run()  # the Telegram lane moves it to SMS, which cannot carry it
    await engine.run()

    attempts = engine.sms.attempts + engine.telegram.attempts
    assert not [d for d in attempts if d.message.reminder_id == reminder_id]
    row = reply_row(core, reminder_id)
    assert row.channel == "sms" and row.status == "failed"
    assert row.last_error is not None and "an SMS cannot carry 🙂" in row.last_error


async def test_a_patient_who_paused_reminders_still_gets_the_reply(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    reminder_id = queue(core, clinic, clock, "Call us.")
    core.patients.set_flag(reply_row(core, reminder_id).patient_id, "paused")

    await engine.run()

    assert [d.message.reminder_id for d in engine.sms.sent] == [reminder_id]


async def test_replies_keep_the_lanes_rate_and_go_before_a_backlog(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for number in range(3):  # a backlog: three welcomes due now
        enroll(core, clinic, f"B{number}", clock.now(), phone=f"+1555000200{number}")
    first = queue(core, clinic, clock, "First.")
    escalation = reply_row(core, first).escalation_id
    assert escalation is not None
    second = EscalationRepository(core.db).queue_reply(
        clinic.id, escalation, "Second.", 1, "nurse@glow.example", clock.now(), "sms"
    )
    assert isinstance(second, QueuedReply)
    # Claims of two: the replies are claimed first, whatever is due before them.
    engine = make_engine(core, clock, sms_rate=1.0, batch_size=2)
    start = clock.now()

    await engine.run()

    order = [(d.message.reminder_id, d.at) for d in engine.sms.sent]
    assert [reminder_id for reminder_id, _ in order[:2]] == [first, second.reminder_id]
    times = [at for _, at in order if at is not None]
    assert len(times) == len(order)
    assert times[0] == start
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in pairwise(times))
