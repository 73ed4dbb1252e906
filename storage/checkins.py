"""Symptom check-ins: which one a patient was last asked, and the answers they gave."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import CheckinAnswer, Reminder
from storage.values import ReminderStatus


@dataclass(frozen=True)
class SentCheckin:
    """A check-in sent to the patient: the reminder that asked, and when."""

    reminder_id: int
    treatment_id: int
    milestone: str
    sent_at: datetime


@dataclass(frozen=True)
class CheckinAnswerRow:
    """One answer, stored with the conversation (and escalation) it came in."""

    checkin: SentCheckin
    answer: int  # 1, 2 or 3


@dataclass(frozen=True)
class StoredAnswer:
    treatment_id: int
    reminder_id: int
    milestone: str
    answer: int
    answered_at: datetime
    conversation_id: int
    escalation_id: int | None


def latest_sent_checkin(
    session: Session, patient_id: int, milestones: Sequence[str], since: datetime
) -> SentCheckin | None:
    """The newest of these check-in milestones sent to the patient at or after `since`."""
    if not milestones:
        return None
    row = session.execute(
        select(Reminder.id, Reminder.treatment_id, Reminder.milestone, Reminder.sent_at)
        .where(
            Reminder.patient_id == patient_id,
            Reminder.milestone.in_(list(milestones)),
            Reminder.status == ReminderStatus.SENT,
            Reminder.sent_at >= since,
        )
        .order_by(Reminder.sent_at.desc(), Reminder.id.desc())
        .limit(1)
    ).first()
    if row is None or row.sent_at is None:
        return None
    return SentCheckin(row.id, row.treatment_id, row.milestone, row.sent_at)


def add_answer(
    session: Session,
    row: CheckinAnswerRow,
    patient_id: int,
    conversation_id: int,
    escalation_id: int | None,
    at: datetime,
) -> None:
    """Store an answer in the caller's transaction (the one storing its conversation)."""
    session.add(
        CheckinAnswer(
            treatment_id=row.checkin.treatment_id,
            patient_id=patient_id,
            reminder_id=row.checkin.reminder_id,
            milestone=row.checkin.milestone,
            answer=row.answer,
            conversation_id=conversation_id,
            escalation_id=escalation_id,
            answered_at=at,
        )
    )


class CheckinRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def latest_sent(
        self, patient_id: int, milestones: Sequence[str], since: datetime
    ) -> SentCheckin | None:
        with self._db.session() as session:
            return latest_sent_checkin(session, patient_id, milestones, since)

    def answers(self, treatment_id: int) -> list[StoredAnswer]:
        """A treatment's check-in answers, oldest first: what the clinic sees."""
        with self._db.session() as session:
            rows = session.scalars(
                select(CheckinAnswer)
                .where(CheckinAnswer.treatment_id == treatment_id)
                .order_by(CheckinAnswer.answered_at, CheckinAnswer.id)
            )
            return [
                StoredAnswer(
                    r.treatment_id,
                    r.reminder_id,
                    r.milestone,
                    r.answer,
                    r.answered_at,
                    r.conversation_id,
                    r.escalation_id,
                )
                for r in rows
            ]
