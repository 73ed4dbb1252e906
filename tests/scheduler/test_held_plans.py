"""A plan held for a moment (`held_until`): what a chat registration uses so the patient
reads the bot's confirmation before the welcome. Nothing is attempted before the hold ends
unless the plan is released; released, it is due at its own times and announced; never
released (the process stopped), it goes when the hold ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient, Registration
from storage.patients import ClinicView
from tests.scheduler.engine_kit import make_engine, reminders

HOLD = timedelta(seconds=30)
# The 24 h reminders (makeup, check-in) fall due 10 s after registration, inside the hold.
TREATED_AGO = timedelta(hours=24) - timedelta(seconds=10)


def register_held(core: Core, clinic: ClinicView, clock: FakeClock) -> Registration:
    return core.planner.register(
        clinic.id,
        NewPatient("P1", "UTC", telegram_chat_id=42, channel="telegram"),
        clock.now() - TREATED_AGO,
        welcome_now=True,
        held_until=clock.now() + HOLD,
    )


def sent_milestones(core: Core, deliveries_of: list[int | None]) -> list[str]:
    by_id = {r.id: key for key, r in reminders(core).items()}
    return [by_id[i] for i in deliveries_of if i is not None]


async def test_a_plan_never_released_goes_when_its_hold_ends(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registered = clock.now()
    registration = register_held(core, clinic, clock)
    engine = make_engine(core, clock)

    assert await engine.run() == 0  # the welcome is due, but held
    clock.advance(10)
    assert await engine.run() == 0  # so are the 24 h reminders that fell due meanwhile
    clock.advance(HOLD - timedelta(seconds=10))
    assert await engine.run() == 3
    sent = sent_milestones(core, [d.message.reminder_id for d in engine.telegram.sent])
    assert sent[0] == "welcome" and set(sent[1:]) == {"makeup", "checkin_24h"}
    stored = reminders(core, registration.treatment_id)
    assert stored["welcome"].due_at == registered  # a hold keeps the due times
    assert stored["makeup"].due_at == registered + timedelta(seconds=10)


async def test_a_released_plan_is_due_at_its_own_times_and_announced(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)
    registration = register_held(core, clinic, clock)
    assert heard == [clock.now() + HOLD]  # an engine would wake when the hold ends

    core.planner.release(registration.treatment_id, clock.now() + HOLD)
    assert heard[1:] == [clock.now()]  # the welcome, due now: an engine wakes at once
    engine = make_engine(core, clock)
    assert await engine.run() == 1
    clock.advance(10)
    assert await engine.run() == 2  # the 24 h reminders, at their own time
    stored = reminders(core, registration.treatment_id)
    assert stored["sweat"].next_attempt_at == stored["sweat"].due_at  # never held


async def test_releasing_what_was_already_sent_changes_nothing(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    registration = register_held(core, clinic, clock)
    held_until = clock.now() + HOLD
    clock.advance(HOLD)
    engine = make_engine(core, clock)
    assert await engine.run() == 3
    heard: list[datetime] = []
    core.planner.subscribe(heard.append)

    core.planner.release(registration.treatment_id, held_until)  # the confirmation was slow
    assert heard == []
    assert await engine.run() == 0
    stored = reminders(core, registration.treatment_id)
    assert stored["welcome"].status == "sent" and stored["welcome"].attempts == 1
