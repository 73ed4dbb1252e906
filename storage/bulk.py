"""The bulk write path: the driver's executemany, skipping SQLAlchemy's per-row processing.

Enrolling 100,000 patients writes about half a million reminders; per-value type processing
was most of that time. Values handed to `executemany` must already be in the driver's form,
which `driver_datetime` produces with the UTC column type's own processor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from storage.models import ReminderStatus, UTCDateTime

# treatment id, patient id, milestone, channel, due at, expires at
ReminderInsert = tuple[int, int, str, str, datetime, datetime]


def executemany(
    session: Session, table: str, columns: str, params: Sequence[tuple[Any, ...]]
) -> None:
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    width = columns.count(",") + 1
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join([marker] * width)})"
    connection.exec_driver_sql(sql, list(params))


def driver_datetime(dialect: Dialect) -> Callable[[datetime], object]:
    """What UTCDateTime hands this dialect's driver, remembered per instant: within a batch
    many instants repeat (the welcome is due "now", quiet hours end at the same minute)."""
    convert = UTCDateTime().bind_processor(dialect)
    seen: dict[datetime, object] = {}

    def stamp(instant: datetime) -> object:
        value = seen.get(instant)
        if value is None:
            value = seen[instant] = convert(instant)
        return value

    return stamp


def insert_reminders(session: Session, rows: Sequence[ReminderInsert]) -> None:
    """Planned reminders, pending from their due time."""
    if not rows:
        return
    stamp = driver_datetime(session.connection().dialect)
    pending = ReminderStatus.PENDING.value
    params = []
    for treatment_id, patient_id, milestone, channel, due_at, expires_at in rows:
        due = stamp(due_at)
        params.append(
            (treatment_id, patient_id, milestone, channel, due, stamp(expires_at), due, pending, 0)
        )
    executemany(
        session,
        "reminder",
        "treatment_id, patient_id, milestone, channel, due_at, expires_at, next_attempt_at, "
        "status, attempts",
        params,
    )
