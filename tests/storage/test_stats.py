"""A clinic's delivery statistics by week, on SQLite and PostgreSQL: known rows in, exact
counts out. Weeks start at midnight on Monday in New York; another clinic's rows and rows
outside the period never count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftercare.wiring import Core
from storage.patients import ClinicView
from storage.stats import StatsStore
from tests.storage.stats_rows import END, WEEK_A, WEEK_B, Rows, at

BOUNDS = [WEEK_A, WEEK_B, END]


@pytest.fixture
def other(core: Core) -> ClinicView:
    return core.patients.add_clinic(
        "other", "Other Clinic", "+13125550100", "America/Chicago", "US", "en"
    )


def test_patients_enrolled_and_opted_out_count_in_the_week_they_happened(
    core: Core, clinic: ClinicView, other: ClinicView
) -> None:
    with core.db.session() as session:
        rows = Rows(session, clinic.id)
        rows.patient(at(16, 6), opted_out=True, updated=at(20))  # A, opted out in A
        rows.patient(at(22, 23))  # Sunday 18:00 in New York: still week A
        rows.patient(WEEK_B, opted_out=True, updated=at(25))  # B, on the boundary
        rows.patient(WEEK_A - timedelta(minutes=1))  # Sunday before: not in the period
        rows.patient(at(24), updated=at(25))  # B; changed, not opted out
        rows.patient(at(17), clinic_id=other.id, opted_out=True, updated=at(18))

    stats = StatsStore(core.db).clinic_stats(clinic.id, BOUNDS)

    assert stats.enrolled == [2, 2]
    assert stats.opt_outs == [1, 1]


def test_reminders_count_by_channel_and_outcome_and_sms_segments_by_week(
    core: Core, clinic: ClinicView, other: ClinicView
) -> None:
    with core.db.session() as session:
        rows = Rows(session, clinic.id)
        texted = rows.patient(at(10))
        rows.reminder(texted, "sms", "sent", at(17), delivery="delivered", segments=2)
        rows.reminder(texted, "sms", "sent", at(18), delivery="undelivered", segments=1)
        rows.reminder(texted, "sms", "sent", at(19), segments=1)  # no receipt yet
        rows.reminder(texted, "sms", "failed", at(19, 13))
        rows.reminder(texted, "sms", "expired", at(20))
        rows.reminder(texted, "sms", "sent", at(24), delivery="read", segments=3)
        rows.reminder(texted, "sms", "pending", None)  # not settled: not counted
        rows.reminder(texted, "sms", "in_doubt", at(24))  # not an outcome shown
        rows.reminder(texted, "sms", "cancelled", at(24))
        rows.reminder(texted, "sms", "sent", WEEK_A - timedelta(seconds=1), segments=9)
        chatted = rows.patient(at(10))
        rows.reminder(chatted, "telegram", "sent", at(23))
        rows.reminder(chatted, "telegram", "sent", at(27))
        rows.reminder(chatted, "telegram", "expired", at(25))
        rows.reminder(chatted, "telegram", "failed", at(26))
        elsewhere = rows.patient(at(10), clinic_id=other.id)
        rows.reminder(elsewhere, "sms", "sent", at(17), delivery="delivered", segments=5)

    stats = StatsStore(core.db).clinic_stats(clinic.id, BOUNDS)

    assert stats.reminders == {
        ("sms", "sent"): [3, 1],
        ("sms", "delivered"): [1, 1],
        ("sms", "failed"): [2, 0],
        ("sms", "expired"): [1, 0],
        ("telegram", "sent"): [0, 2],
        ("telegram", "delivered"): [0, 0],
        ("telegram", "failed"): [0, 1],
        ("telegram", "expired"): [0, 1],
    }
    assert stats.sms_segments == [4, 3]


def test_escalations_count_by_category_and_week(
    core: Core, clinic: ClinicView, other: ClinicView
) -> None:
    with core.db.session() as session:
        rows = Rows(session, clinic.id)
        patient = rows.patient(at(10))
        rows.escalation(patient, "red_flag", at(17))
        rows.escalation(patient, "red_flag", at(18))
        rows.escalation(patient, "emergency", at(21))
        rows.escalation(patient, "red_flag", at(24))
        rows.escalation(patient, "checkin_concern", at(28))
        rows.escalation(patient, "emergency", END)  # the end is not in the period
        rows.escalation(patient, "red_flag", at(17), clinic_id=other.id)

    stats = StatsStore(core.db).clinic_stats(clinic.id, BOUNDS)

    assert stats.escalations == {
        "checkin_concern": [0, 1],
        "emergency": [1, 0],
        "red_flag": [2, 1],
    }


def test_the_time_to_the_first_staff_reply_is_a_median_per_week_and_over_the_period(
    core: Core, clinic: ClinicView
) -> None:
    store = StatsStore(core.db)
    if not store.clinic_stats(clinic.id, BOUNDS).replies_recorded:
        pytest.skip("migration 0010 (staff replies) is not in this tree yet")
    with core.db.session() as session:
        rows = Rows(session, clinic.id)
        patient = rows.patient(at(10))
        first = rows.escalation(patient, "red_flag", at(17, 10))
        rows.staff_reply(patient, first, at(17, 10, 30))  # 30 min
        rows.staff_reply(patient, first, at(17, 11))  # a second reply does not count
        second = rows.escalation(patient, "red_flag", at(18, 12))
        rows.staff_reply(patient, second, at(18, 14), status="sent", segments=2, settled=at(18, 14))
        rows.escalation(patient, "emergency", at(19))  # not answered
        third = rows.escalation(patient, "red_flag", at(24, 9))
        rows.staff_reply(patient, third, at(24, 9, 10))  # 10 min
        rows.escalation(patient, "checkin_concern", at(25))  # not answered

    stats = store.clinic_stats(clinic.id, BOUNDS)

    assert stats.reply_seconds == [[1800.0, 7200.0], [600.0]]
    assert stats.median_reply(0) == 4500.0
    assert stats.median_reply(1) == 600.0
    assert stats.median_reply() == 1800.0
    assert stats.unanswered == [1, 1]
    assert stats.sms_segments == [2, 0]  # a reply's texts are billed too...
    assert stats.reminders[("sms", "sent")] == [0, 0]  # ...but it is not a reminder


def test_no_replies_yet_is_no_median(core: Core, clinic: ClinicView) -> None:
    with core.db.session() as session:
        rows = Rows(session, clinic.id)
        rows.escalation(rows.patient(at(10)), "red_flag", at(17))

    stats = StatsStore(core.db).clinic_stats(clinic.id, BOUNDS)

    assert stats.median_reply() is None
    assert stats.reply_seconds == [[], []]


def test_day_buckets_follow_the_bounds_given(core: Core, clinic: ClinicView) -> None:
    days = [WEEK_A + timedelta(days=n) for n in range(4)]
    with core.db.session() as session:
        rows = Rows(session, clinic.id)
        rows.patient(at(16, 6))
        rows.patient(at(17, 4, 59))  # 23:59 on the 16th in New York
        rows.patient(at(18, 5))

    stats = StatsStore(core.db).clinic_stats(clinic.id, days)

    assert stats.enrolled == [2, 0, 1]


def test_bounds_must_ascend(core: Core, clinic: ClinicView) -> None:
    with pytest.raises(ValueError, match="ascending"):
        StatsStore(core.db).clinic_stats(clinic.id, [WEEK_B, WEEK_A])
