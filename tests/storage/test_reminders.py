"""The reminders table as a durable queue, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from aftercare.wiring import Core
from scheduler.clock import FakeClock
from scheduler.planning import NewPatient
from storage.models import Reminder, ReminderStatus
from storage.patients import ClinicView, DuplicateError


def enroll(core: Core, clinic: ClinicView, count: int, clock: FakeClock) -> list[int]:
    return [
        core.planner.register(
            clinic.id, NewPatient(f"P{n}", "UTC", phone="+15550001111"), clock.now()
        ).treatment_id
        for n in range(count)
    ]


def test_a_milestone_cannot_be_scheduled_twice_for_one_treatment(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    [treatment] = enroll(core, clinic, 1, clock)
    with pytest.raises(IntegrityError), core.db.session() as session:
        session.execute(
            insert(Reminder),
            [
                {
                    "treatment_id": treatment,
                    "patient_id": 1,
                    "milestone": "makeup",
                    "channel": "sms",
                    "due_at": clock.now(),
                    "expires_at": clock.now(),
                    "next_attempt_at": clock.now(),
                    "status": "pending",
                    "attempts": 0,
                }
            ],
        )


def test_a_patient_id_is_unique_within_a_clinic(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, 1, clock)
    with pytest.raises(DuplicateError):
        enroll(core, clinic, 1, clock)


def test_instants_come_back_aware_and_equal(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, 1, clock)
    with core.db.session() as session:
        welcome = session.scalar(select(Reminder).where(Reminder.milestone == "welcome"))
    assert welcome is not None
    assert welcome.due_at == clock.now() and welcome.due_at.tzinfo == UTC


def test_claims_are_disjoint_leased_and_limited_to_one_channel(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, 10, clock)
    lease = clock.now() + timedelta(seconds=60)
    first = core.reminders.claim_due("sms", clock.now(), 6, "a", lease)
    second = core.reminders.claim_due("sms", clock.now(), 6, "b", lease)
    assert len(first) == 6 and len(second) == 4
    assert not {r.id for r in first} & {r.id for r in second}
    assert core.reminders.claim_due("telegram", clock.now(), 6, "c", lease) == []
    assert all(r.milestone == "welcome" for r in first + second)


def test_nothing_is_claimed_before_it_is_due(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, 1, clock)
    lease = clock.now() + timedelta(seconds=60)
    assert core.reminders.claim_due("sms", clock.now() - timedelta(seconds=1), 10, "a", lease) == []


def test_the_earliest_pending_time_drives_the_wake_up(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    assert core.reminders.earliest_pending(["sms", "telegram"]) is None
    enroll(core, clinic, 2, clock)
    assert core.reminders.earliest_pending(["sms", "telegram"]) == clock.now()
    core.reminders.claim_due("sms", clock.now(), 10, "a", clock.now() + timedelta(seconds=5))
    assert core.reminders.earliest_pending(["sms"]) == clock.now() + timedelta(hours=24)


def test_overdue_reminders_expire(core: Core, clinic: ClinicView, clock: FakeClock) -> None:
    enroll(core, clinic, 3, clock)
    assert core.reminders.expire_overdue(clock.now() + timedelta(hours=12, seconds=1)) == 3
    assert core.reminders.counts_by_status()[ReminderStatus.EXPIRED] == 3


def test_a_lease_renewed_by_a_live_engine_is_not_recovered(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, 2, clock)
    core.reminders.claim_due("sms", clock.now(), 2, "alive", clock.now() + timedelta(seconds=10))
    assert core.reminders.renew_lease("alive", clock.now() + timedelta(seconds=70)) == 2
    recovery = core.reminders.recover_expired_claims(clock.now() + timedelta(seconds=30))
    assert (recovery.released, recovery.in_doubt) == (0, 0)


def test_outcomes_from_an_engine_that_lost_its_claim_are_ignored(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    from storage.reminders import Outcome

    enroll(core, clinic, 1, clock)
    [claimed] = core.reminders.claim_due(
        "sms", clock.now(), 1, "slow", clock.now() + timedelta(seconds=1)
    )
    core.reminders.recover_expired_claims(clock.now() + timedelta(seconds=2))
    core.reminders.record([Outcome(claimed.id, ReminderStatus.SENT, clock.now())], "slow")
    assert core.reminders.counts_by_status() == {"pending": 7}


def test_a_naive_datetime_is_refused_by_the_column(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    [treatment] = enroll(core, clinic, 1, clock)
    naive = datetime(2026, 3, 2, 10)
    with pytest.raises(StatementError, match="naive"), core.db.session() as session:
        session.execute(
            insert(Reminder),
            [
                {
                    "treatment_id": treatment,
                    "patient_id": 1,
                    "milestone": "extra",
                    "channel": "sms",
                    "due_at": naive,
                    "expires_at": naive,
                    "next_attempt_at": naive,
                    "status": "pending",
                    "attempts": 0,
                }
            ],
        )


def test_only_this_engines_live_claims_are_marked_sending(
    core: Core, clinic: ClinicView, clock: FakeClock
) -> None:
    enroll(core, clinic, 3, clock)
    lease = clock.now() + timedelta(minutes=1)
    mine = core.reminders.claim_due("sms", clock.now(), 2, "engine-a", lease)
    theirs = core.reminders.claim_due("sms", clock.now(), 1, "engine-b", lease)
    ids = [r.id for r in mine + theirs]

    assert core.reminders.mark_sending(ids, "engine-a") == {r.id for r in mine}
    # Marked once: a second mark finds nothing still merely claimed.
    assert core.reminders.mark_sending(ids, "engine-a") == set()
    with core.db.session() as session:
        statuses = dict(session.execute(select(Reminder.id, Reminder.status)).all())
    assert {statuses[r.id] for r in mine} == {ReminderStatus.SENDING}
    assert statuses[theirs[0].id] == ReminderStatus.CLAIMED
