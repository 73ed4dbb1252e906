"""The dispatch engine on real storage (SQLite and PostgreSQL) with an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update

from aftercare.wiring import Core
from bot.memory import MemoryChannel
from scheduler.clock import FakeClock
from scheduler.dispatcher import ChannelLane, Dispatcher
from scheduler.ports import OutboundMessage, SendResult
from scheduler.quiet_hours import QuietHours
from storage.models import Patient, Reminder, ReminderStatus
from storage.patients import ClinicView
from tests.scheduler.engine_kit import make_engine, patient, register, reminders

S = ReminderStatus


async def test_every_reminder_is_sent_once_at_its_due_time(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    treated = clock.now() - timedelta(minutes=5)
    registration = register(core, clinic, "P1", treated)
    planned = {p.key: p.due_at for p in registration.planned}
    assert list(planned) == [
        "welcome",
        "makeup",
        "checkin_24h",
        "sweat",
        "cleanser",
        "checkin_72h",
        "sunscreen",
    ]
    for due in sorted(set(planned.values())):
        keys = [key for key, at in planned.items() if at == due]  # a check-in comes with a step
        clock.set(due - timedelta(seconds=1))
        assert await engine.run() == 0, f"{keys} sent early"
        clock.set(due)
        assert await engine.run() == len(keys)
        assert await engine.run() == 0, f"{keys} sent twice"
    sent = [(d.message.text.split(",")[0], d.at) for d in engine.sms.sent]
    assert [at for _, at in sent] == [planned[k] for k in planned]
    rows = reminders(core)
    assert all(
        r.status == S.SENT and r.attempts == 1 and r.provider_message_id for r in rows.values()
    )


async def test_the_welcome_names_the_deployments_emergency_number(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock, emergency_number="112")
    register(core, clinic, "P1", clock.now() - timedelta(minutes=5))
    assert await engine.run() == 1
    assert "Swollen lips/hard to breathe: call 112." in engine.sms.sent[0].message.text


async def test_a_transient_failure_is_retried_with_backoff_inside_the_window(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    engine.sms.script(SendResult.transient("provider timeout"), SendResult.transient("500"))
    assert await engine.run() == 0
    welcome = reminders(core)["welcome"]
    assert (welcome.status, welcome.attempts, welcome.last_error) == (
        S.PENDING,
        1,
        "provider timeout",
    )
    assert welcome.next_attempt_at == clock.now() + timedelta(seconds=30)
    clock.advance(29)
    assert await engine.run() == 0
    clock.advance(1)
    assert await engine.run() == 0  # second failure: next try 60 s later
    assert reminders(core)["welcome"].next_attempt_at == clock.now() + timedelta(seconds=60)
    clock.advance(60)
    assert await engine.run() == 1
    assert len(engine.sms.attempts) == 3 and len(engine.sms.sent) == 1


async def test_a_providers_retry_after_is_honoured(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    engine.sms.script(SendResult.transient("rate limited", retry_after=300))
    await engine.run()
    assert reminders(core)["welcome"].next_attempt_at == clock.now() + timedelta(seconds=300)


async def test_a_reminder_still_failing_when_its_window_closes_expires_unsent(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    engine.sms.script(*[SendResult.transient("down")] * 50)
    for _ in range(50):
        await engine.run()
        clock.advance(timedelta(minutes=31))
    welcome = reminders(core)["welcome"]
    assert welcome.status in (S.EXPIRED, S.FAILED)
    assert welcome.sent_at is None
    assert engine.sms.sent == []


async def test_a_permanent_failure_is_not_retried(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    engine.sms.script(SendResult.permanent("invalid number", error_code="21211"))
    await engine.run()
    clock.advance(timedelta(hours=1))
    await engine.run()
    welcome = reminders(core)["welcome"]
    assert (welcome.status, welcome.error_code, welcome.attempts) == (S.FAILED, "21211", 1)
    assert len(engine.sms.attempts) == 1


async def test_an_sms_opt_out_is_recorded_and_no_sms_follows(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    registration = register(core, clinic, "P1", clock.now())
    engine.sms.script(
        SendResult.permanent("recipient replied STOP", error_code="21610", opted_out=True)
    )
    await engine.run()
    assert patient(core, registration.patient_id).sms_opted_out
    clock.advance(timedelta(days=15))
    await engine.run()
    rows = reminders(core)
    assert rows["welcome"].status == S.FAILED
    assert {rows[k].status for k in ("makeup", "sweat", "cleanser")} <= {S.CANCELLED, S.EXPIRED}
    assert len(engine.sms.attempts) == 1


async def test_a_blocked_telegram_bot_falls_back_to_sms(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    registration = register(core, clinic, "P1", clock.now(), chat_id=4242, channel="telegram")
    engine.telegram.script(SendResult.permanent("bot was blocked by the user", unreachable=True))
    await engine.run()
    await engine.run()
    assert patient(core, registration.patient_id).telegram_unreachable
    assert [d.message.reminder_id for d in engine.sms.sent] == [reminders(core)["welcome"].id]
    clock.advance(timedelta(hours=24))
    await engine.run()
    await engine.run()
    # Makeup and the 24-hour check-in, by SMS; Telegram is not tried again.
    assert len(engine.sms.sent) == 3 and len(engine.telegram.attempts) == 1


async def test_reminders_due_while_stopped_are_sent_if_inside_their_window_else_expired(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now())
    clock.advance(timedelta(hours=30))  # the service was down: welcome (12 h) is stale
    await engine.run()
    rows = reminders(core)
    assert rows["welcome"].status == S.EXPIRED
    assert rows["makeup"].status == S.SENT
    assert rows["sweat"].status == S.PENDING


async def test_nothing_is_sent_during_the_patients_quiet_hours(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock, quiet=QuietHours.parse("21:00-08:00"))
    register(core, clinic, "P1", clock.now())  # 10:00 in New York
    await engine.run()
    # The service was down when makeup fell due (10:00); it comes back at 23:00 local.
    clock.set(reminders(core)["makeup"].due_at + timedelta(hours=13))
    await engine.run()
    makeup = reminders(core)["makeup"]
    assert makeup.status == S.PENDING
    next_local = makeup.next_attempt_at.astimezone(ZoneInfo("America/New_York"))
    assert (next_local.day, next_local.hour, next_local.minute) == (4, 8, 0)
    assert len(engine.sms.sent) == 1
    clock.set(makeup.next_attempt_at)
    assert await engine.run() == 1


async def test_paused_erased_and_cancelled_get_nothing(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    paused = register(core, clinic, "P1", clock.now())
    erased = register(core, clinic, "P2", clock.now())
    cancelled = register(core, clinic, "P3", clock.now())
    with core.db.session() as session:
        session.execute(update(Patient).where(Patient.id == paused.patient_id).values(paused=True))
        session.execute(
            update(Patient)
            .where(Patient.id == erased.patient_id)
            .values(erased_at=clock.now(), phone=None)
        )
    assert core.planner.cancel(cancelled.treatment_id) == 7
    await engine.run()
    assert engine.sms.attempts == []
    assert reminders(core, paused.treatment_id)["welcome"].status == S.SKIPPED
    assert reminders(core, erased.treatment_id)["welcome"].status == S.CANCELLED
    assert reminders(core, cancelled.treatment_id)["welcome"].status == S.CANCELLED


async def test_correcting_the_treatment_time_reschedules_pending_reminders(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    registration = register(core, clinic, "P1", clock.now() - timedelta(hours=1))
    await engine.run()
    earlier = clock.now() - timedelta(hours=25)  # the patient was treated the day before
    core.planner.reschedule(registration.treatment_id, earlier)
    rows = reminders(core)
    assert rows["welcome"].status == S.SENT
    assert rows["makeup"].status == S.SKIPPED
    assert rows["sweat"].due_at == earlier + timedelta(hours=48)
    clock.set(earlier + timedelta(hours=48))
    assert await engine.run() == 1


async def test_the_rate_limit_is_never_exceeded(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock, sms_rate=5)
    for n in range(20):
        register(core, clinic, f"P{n}", clock.now())
    assert await engine.run() == 20
    times = [d.at for d in engine.sms.sent if d.at is not None]
    assert len(times) == 20
    assert all(b - a >= timedelta(seconds=0.2) for a, b in pairwise(times))
    for start in range(len(times) - 5):
        assert times[start + 5] - times[start] >= timedelta(seconds=1)


async def test_two_engines_on_one_database_send_each_reminder_once(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for n in range(150):
        register(core, clinic, f"P{n}", clock.now())
    first = make_engine(core, clock, owner="engine-a", batch_size=7)
    second = make_engine(core, clock, owner="engine-b", batch_size=7)
    await asyncio.gather(first.run(), second.run(), first.run(), second.run())
    ids = [d.message.reminder_id for d in first.sms.sent + second.sms.sent]
    assert len(ids) == 150 and len(set(ids)) == 150


async def test_after_a_crash_unsent_claims_return_and_in_flight_ones_are_not_resent(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for n in range(4):
        register(core, clinic, f"P{n}", clock.now())
    lease_until = clock.now() + timedelta(seconds=60)
    claimed = core.reminders.claim_due("sms", clock.now(), 4, "dead-engine", lease_until)
    core.reminders.mark_sending([claimed[0].id], "dead-engine")  # the engine died mid-send
    engine = make_engine(core, clock)
    assert await engine.run() == 0  # still leased by the dead engine
    clock.advance(61)
    recovery = core.reminders.recover_expired_claims(clock.now())
    assert (recovery.released, recovery.in_doubt) == (3, 1)
    assert await engine.run() == 3
    assert claimed[0].id not in {d.message.reminder_id for d in engine.sms.sent}
    with core.db.session() as session:
        from storage.models import Reminder

        assert session.get(Reminder, claimed[0].id).status == S.IN_DOUBT  # type: ignore[union-attr]


async def test_a_channel_that_raises_counts_as_a_transient_failure(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    engine = make_engine(core, clock)
    register(core, clinic, "P1", clock.now())

    async def broken(_message: OutboundMessage) -> SendResult:
        raise RuntimeError("bug")

    engine.sms.send = broken  # type: ignore[method-assign, assignment]
    await engine.run()
    welcome = reminders(core)["welcome"]
    assert (welcome.status, welcome.last_error) == (S.PENDING, "channel error: RuntimeError")


async def test_a_clean_stop_hands_unsent_claims_back(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for n in range(3):
        register(core, clinic, f"P{n}", clock.now())
    claimed = core.reminders.claim_due(
        "sms", clock.now(), 3, "engine-a", clock.now() + timedelta(minutes=1)
    )
    assert core.reminders.release("engine-a") == 3
    assert {r.status for r in reminders(core).values()} == {S.PENDING}
    assert len(claimed) == 3


class ProbingChannel(MemoryChannel):
    """At each provider call, notes every welcome's status in the database, and can run a
    step of the test right then."""

    def __init__(self, core: Core, clock: FakeClock) -> None:
        super().__init__("sms", now=clock.now)
        self.core = core
        self.seen: list[tuple[int, dict[int, str]]] = []
        self.on_send: Callable[[int], None] | None = None

    async def send(self, message: OutboundMessage) -> SendResult:
        assert message.reminder_id is not None
        with self.core.db.session() as session:
            rows = session.execute(
                select(Reminder.id, Reminder.status).where(Reminder.milestone == "welcome")
            ).all()
        self.seen.append((message.reminder_id, {int(i): str(s) for i, s in rows}))
        if self.on_send is not None:
            self.on_send(len(self.seen))
        return await super().send(message)


def probed_engine(
    core: Core, clock: FakeClock, rate: float | None
) -> tuple[Dispatcher, ProbingChannel]:
    channel = ProbingChannel(core, clock)
    engine = make_engine(core, clock, sms_rate=rate)
    lane = engine.dispatcher.lanes["sms"]
    engine.dispatcher.lanes["sms"] = ChannelLane("sms", channel, lane.limiter)
    return engine.dispatcher, channel


async def test_each_text_is_marked_sending_only_when_its_own_turn_comes(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for n in range(10):
        register(core, clinic, f"P{n}", clock.now())
    dispatcher, channel = probed_engine(core, clock, rate=5)  # one chunk of 5, then 5 more

    assert await dispatcher.dispatch_due() == 10

    order = [rid for rid, _ in channel.seen]
    for position, (rid, statuses) in enumerate(channel.seen):
        assert statuses[rid] == S.SENDING
        # Texts already answered are sent, or 'sending' while their outcome is written.
        assert {statuses[i] for i in order[:position]} <= {S.SENT, S.SENDING}
        # Texts whose rate slot has not come are only claimed, never 'sending' yet.
        assert {statuses[i] for i in order[position + 1 :]} <= {S.CLAIMED, S.PENDING}
    with core.db.session() as session:
        assert set(session.scalars(select(Reminder.status).where(Reminder.id.in_(order)))) == {
            S.SENT
        }


async def test_a_claim_lost_before_its_turn_is_not_sent_by_the_engine_that_lost_it(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for n in range(3):
        register(core, clinic, f"P{n}", clock.now())
    dispatcher, channel = probed_engine(core, clock, rate=5)

    def lose_the_last_claim(sends: int) -> None:
        if sends == 1:  # the engine stalled past its lease; the sweep took the claims back
            with core.db.session() as session:
                session.execute(
                    update(Reminder)
                    .where(Reminder.status == S.CLAIMED)
                    .values(status=S.PENDING, claimed_by=None, lease_until=None)
                )

    channel.on_send = lose_the_last_claim
    assert await dispatcher.dispatch_due() == 3  # the two lost ones, claimed again
    sent = [d.message.reminder_id for d in channel.sent]
    assert len(sent) == len(set(sent)) == 3


async def test_a_clean_stop_mid_chunk_sends_no_more_and_hands_the_rest_back(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for n in range(5):
        register(core, clinic, f"P{n}", clock.now())
    dispatcher, channel = probed_engine(core, clock, rate=5)
    channel.on_send = lambda sends: dispatcher.stop() if sends == 2 else None
    start = clock.now()

    assert await dispatcher.dispatch_due() == 2
    assert clock.now() - start < timedelta(seconds=0.4), "waited for slots it would not use"

    with core.db.session() as session:
        statuses = list(
            session.scalars(select(Reminder.status).where(Reminder.milestone == "welcome"))
        )
    assert sorted(statuses) == [S.PENDING] * 3 + [S.SENT] * 2


async def test_an_unlimited_lane_marks_a_whole_chunk_in_one_write(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    for n in range(30):
        register(core, clinic, f"P{n}", clock.now())
    dispatcher, _ = probed_engine(core, clock, rate=None)
    marks: list[str] = []

    def note_marks(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The 'sending' mark is the UPDATE of reminder that returns the ids it marked.
        if statement.startswith("UPDATE reminder SET status") and "RETURNING" in statement:
            marks.append(statement)

    event.listen(core.db.engine, "before_cursor_execute", note_marks)
    try:
        assert await dispatcher.dispatch_due() == 30
    finally:
        event.remove(core.db.engine, "before_cursor_execute", note_marks)
    assert len(marks) == 1
