"""Reminders held back for a moment, inside the caller's transaction.

A patient who registers in the Telegram chat must read the bot's "All set!" before the
welcome, yet the registration is committed before that confirmation is sent and an engine
may send whatever is due the instant it commits. So a new plan's reminders due before
`until` are stored with their first attempt at `until` (their due time unchanged), and
released once the confirmation is out. Never released (the process stopped in between),
they simply go at `until`: the engine's sweep finds them like any reminder.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from storage.models import Reminder
from storage.values import ReminderStatus


def hold(session: Session, treatment_ids: Sequence[int], until: datetime) -> None:
    """No attempt at these treatments' pending reminders before `until`."""
    if treatment_ids:
        session.execute(
            update(Reminder)
            .where(
                Reminder.treatment_id.in_(treatment_ids),
                Reminder.status == ReminderStatus.PENDING,
                Reminder.next_attempt_at < until,
            )
            .values(next_attempt_at=until)
        )


def release(session: Session, treatment_id: int, until: datetime) -> datetime | None:
    """The treatment's reminders held `until` are due at their own times again; returns the
    earliest of those times, or None when nothing was still held (sent after the hold
    ended, or claimed by an engine by now)."""
    held: list[ColumnElement[bool]] = [
        Reminder.treatment_id == treatment_id,
        Reminder.status == ReminderStatus.PENDING,
        Reminder.attempts == 0,
        Reminder.next_attempt_at == until,
    ]
    earliest = session.scalar(select(func.min(Reminder.due_at)).where(*held))
    if earliest is not None:
        session.execute(update(Reminder).where(*held).values(next_attempt_at=Reminder.due_at))
    return earliest
