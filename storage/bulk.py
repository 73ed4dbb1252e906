"""The one write path for new patients, treatments and reminders, all inside the caller's
transaction: the driver's executemany, skipping SQLAlchemy's per-row processing.

Enrolling 100,000 patients writes about half a million reminders; per-value type processing
was most of that time. Values handed to `executemany` must already be in the driver's form,
which `driver_datetime` produces with the UTC column type's own processor. New rows' ids
come from one query per chunk afterwards on SQLite (far faster than RETURNING row by row
there), and from a pipelined INSERT ... RETURNING on PostgreSQL (`insert_returning_ids`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from storage.models import ReminderStatus, UTCDateTime

# Every new patient starts reachable on every channel and not paused.
NEW_PATIENT_FLAGS = {
    "sms_opted_out": False,
    "sms_unreachable": False,
    "telegram_unreachable": False,
    "paused": False,
}
_PATIENT_COLUMNS = (
    "clinic_id, external_id, first_name, phone, telegram_chat_id, timezone, language, channel, "
    + ", ".join(NEW_PATIENT_FLAGS)
    + ", created_at"
)
_ID_LOOKUP_CHUNK = 5000  # bound parameters per id query, well inside every driver's limit

T = TypeVar("T")

# treatment id, patient id, milestone, channel, due at, expires at
ReminderInsert = tuple[int, int, str, str, datetime, datetime]


class PatientInsert(NamedTuple):
    external_id: str
    first_name: str | None
    phone: str | None
    telegram_chat_id: int | None
    timezone: str
    language: str
    channel: str  # the preferred one, already decided


def placeholder(session: Session) -> str:
    """The driver's positional parameter marker (SQLite's ?, psycopg's %s)."""
    return "?" if session.connection().dialect.paramstyle == "qmark" else "%s"


def _insert_sql(session: Session, table: str, columns: str) -> str:
    marker = placeholder(session)
    width = columns.count(",") + 1
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join([marker] * width)})"


def executemany(
    session: Session, table: str, columns: str, params: Sequence[tuple[Any, ...]]
) -> None:
    session.connection().exec_driver_sql(_insert_sql(session, table, columns), list(params))


def insert_returning_ids(
    session: Session, table: str, columns: str, params: Sequence[tuple[Any, ...]]
) -> list[int] | None:
    """On PostgreSQL, insert and get the new ids in `params` order in one pipelined
    executemany; None elsewhere (the caller inserts and looks the ids up).

    Looking them up on PostgreSQL right after a bulk insert read the whole table per chunk:
    until autovacuum analyzes the new rows, the planner believes the table is tiny and
    prefers a sequential scan to the unique index, so a 100,000-patient import slowed
    batch by batch (208 s, most of it in those lookups).
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            _insert_sql(session, table, columns) + " RETURNING id", list(params), returning=True
        )
        ids: list[int] = []
        while True:
            ids.append(int(cursor.fetchone()[0]))
            if not cursor.nextset():
                break
        return ids
    finally:
        cursor.close()


class DriverDatetimes(dict[datetime, object]):
    """Instant -> what UTCDateTime hands the driver, converted on first use. Indexing it
    costs no Python call for an instant seen before; calling it is the same."""

    def __init__(self, convert: Callable[[datetime], object]) -> None:
        super().__init__()
        self._convert = convert

    def __missing__(self, instant: datetime) -> object:
        value = self[instant] = self._convert(instant)
        return value

    def __call__(self, instant: datetime) -> object:
        return self[instant]


def driver_datetime(dialect: Dialect) -> DriverDatetimes:
    """What UTCDateTime hands this dialect's driver, remembered per instant: within a batch
    many instants repeat (the welcome is due "now", quiet hours end at the same minute)."""
    return DriverDatetimes(UTCDateTime().bind_processor(dialect))


def insert_reminders(session: Session, rows: Sequence[ReminderInsert]) -> None:
    """Planned reminders, pending from their due time."""
    if not rows:
        return
    stamp = driver_datetime(session.connection().dialect)
    pending = ReminderStatus.PENDING.value
    params = [  # due_at is also the first attempt's time
        (tid, pid, milestone, channel, stamp[due], stamp[expires], stamp[due], pending, 0)
        for tid, pid, milestone, channel, due, expires in rows
    ]
    executemany(
        session,
        "reminder",
        "treatment_id, patient_id, milestone, channel, due_at, expires_at, next_attempt_at, "
        "status, attempts",
        params,
    )


def insert_patients(
    session: Session, clinic_id: int, rows: Sequence[PatientInsert], now: datetime
) -> list[int]:
    """New patients of one clinic (external ids not yet in it); their ids, in `rows` order."""
    if not rows:
        return []
    created = driver_datetime(session.connection().dialect)(now)
    flags = tuple(NEW_PATIENT_FLAGS.values())
    params = [(clinic_id, *row, *flags, created) for row in rows]
    returned = insert_returning_ids(session, "patient", _PATIENT_COLUMNS, params)
    if returned is not None:
        return returned
    executemany(session, "patient", _PATIENT_COLUMNS, params)
    ids: dict[str, int] = {}
    for chunk in _chunks([row.external_id for row in rows]):
        found = _select_in(
            session,
            "SELECT external_id, id FROM patient"
            " WHERE clinic_id = {marker} AND external_id IN ({values})",
            chunk,
            clinic_id,
        )
        ids.update(found)
    return [ids[row.external_id] for row in rows]


def insert_treatments(
    session: Session,
    rows: Sequence[tuple[int, datetime, str | None]],
    now: datetime,
    protocol: str,
) -> list[int]:
    """One new treatment for each of these (patient id, performed at, booking service or
    None); their ids, in order."""
    if not rows:
        return []
    patient_ids = [pid for pid, _, _ in rows]
    if len(set(patient_ids)) != len(patient_ids):
        raise ValueError("one new treatment per patient in a batch")  # ids are found by patient
    stamp = driver_datetime(session.connection().dialect)
    registered = stamp(now)
    columns = "patient_id, performed_at, registered_at, protocol, service"
    params = [(pid, stamp(performed), registered, protocol, svc) for pid, performed, svc in rows]
    returned = insert_returning_ids(session, "treatment", columns, params)
    if returned is not None:
        return returned
    executemany(session, "treatment", columns, params)
    ids: dict[int, int] = {}
    for chunk in _chunks(patient_ids):
        found = _select_in(
            session,
            "SELECT patient_id, max(id) FROM treatment"
            " WHERE patient_id IN ({values}) GROUP BY patient_id",
            chunk,
        )
        ids.update(found)
    return [ids[pid] for pid in patient_ids]


def _select_in(
    session: Session, sql: str, values: Sequence[Any], *leading: Any
) -> Sequence[tuple[Any, ...]]:
    """Rows of `sql` at the driver, `{values}` standing for `values`' placeholders and
    `{marker}` for one leading parameter's: SQLAlchemy's expanding IN compiled thousands of
    parameters again for every chunk."""
    marker = placeholder(session)
    text = sql.format(marker=marker, values=", ".join([marker] * len(values)))
    return session.connection().exec_driver_sql(text, (*leading, *values)).all()


def _chunks(values: list[T]) -> list[list[T]]:
    return [values[i : i + _ID_LOOKUP_CHUNK] for i in range(0, len(values), _ID_LOOKUP_CHUNK)]
