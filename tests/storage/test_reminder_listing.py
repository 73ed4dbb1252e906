"""`ReminderRepository.listed` (what `aftercare reminders` shows), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, update

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.models import Reminder
from storage.patients import ClinicView
from storage.values import ReminderStatus


def register(core: Core, clinic: ClinicView, clock: FakeClock, count: int) -> None:
    for n in range(count):
        core.planner.register(
            clinic.id, NewPatient(f"P{n}", "UTC", phone="+15550001111"), clock.now()
        )


def test_the_next_attempt_comes_first_and_the_limit_is_kept(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    register(core, clinic, clock, 2)
    with core.db.session() as session:
        stored = len(session.scalars(select(Reminder.id)).all())
    assert stored > 3

    listed = core.reminders.listed(None, 3)

    assert len(listed) == 3
    assert [r.due_at for r in listed] == sorted(r.due_at for r in listed)
    everything = core.reminders.listed(None, 1000)
    assert len(everything) == stored
    assert listed[-1].due_at <= min(r.due_at for r in everything[3:])
    assert {r.status for r in everything} == {ReminderStatus.PENDING}


def test_one_status_only_with_its_attempts_and_last_error(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    register(core, clinic, clock, 1)
    with core.db.session() as session:
        failed_id = session.scalars(select(Reminder.id).order_by(Reminder.id.desc())).first()
        session.execute(
            update(Reminder)
            .where(Reminder.id == failed_id)
            .values(status=ReminderStatus.FAILED, attempts=8, last_error="provider refused")
        )

    [failed] = core.reminders.listed(ReminderStatus.FAILED, 50)

    assert (failed.id, failed.status, failed.attempts, failed.last_error) == (
        failed_id,
        "failed",
        8,
        "provider refused",
    )
    assert failed.id not in {r.id for r in core.reminders.listed(ReminderStatus.PENDING, 50)}
    assert core.reminders.listed(ReminderStatus.SENT, 50) == []
