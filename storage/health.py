"""Whether the database takes writes: one cheap probe, for start-up and `/healthz`.

Reading works on a database that refuses writes (a file the service's user cannot write, a
read-only replica or role), so the probe writes: it opens a write transaction, runs an
UPDATE that matches no row (the server still checks that the table may be written), and
rolls back. Nothing is changed and no row is locked.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import DBAPIError, OperationalError

from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database

PROBE = "UPDATE reminder SET attempts = attempts WHERE 1 = 0"
# A probe waits briefly for another writer; a longer wait is reported as busy, not broken.
SQLITE_PROBE_WAIT_MS = 2000
POSTGRES_LIMITS = ("SET LOCAL lock_timeout = '2s'", "SET LOCAL statement_timeout = '5s'")

Outcome = Literal["writable", "busy", "read-only", "not permitted", "unreachable", "error"]

_SQLITE_OUTCOMES: dict[int, Outcome] = {
    sqlite3.SQLITE_READONLY: "read-only",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_PERM: "not permitted",
    sqlite3.SQLITE_AUTH: "not permitted",
    sqlite3.SQLITE_CANTOPEN: "unreachable",
}
_POSTGRES_OUTCOMES: dict[str, Outcome] = {
    "25006": "read-only",  # read_only_sql_transaction (a read-only role, database or replica)
    "42501": "not permitted",  # insufficient_privilege
    "55P03": "busy",  # lock_not_available
    "57014": "busy",  # query_canceled (statement_timeout)
}


@dataclass(frozen=True)
class WriteProbe:
    outcome: Outcome
    # The driver's first line, for logs and the start-up message; never served over HTTP,
    # since it can name hosts and users.
    detail: str = ""

    @property
    def writable(self) -> bool:
        """A busy database takes writes, only later: that is load, not a fault."""
        return self.outcome in ("writable", "busy")


def probe_writes(db: Database, busy_wait_ms: int = SQLITE_PROBE_WAIT_MS) -> WriteProbe:
    """Blocking (run it in a thread): waits at most `busy_wait_ms` for another writer."""
    sqlite = db.dialect == "sqlite"
    try:
        with db.engine.connect() as conn:
            driver = conn.connection.dbapi_connection
            if sqlite and driver is not None:
                _set_busy_timeout(driver, busy_wait_ms)
            try:
                # On SQLite the engine's begin hook issues BEGIN IMMEDIATE: the write lock.
                with conn.begin() as transaction:
                    for statement in () if sqlite else POSTGRES_LIMITS:
                        conn.exec_driver_sql(statement)
                    conn.exec_driver_sql(PROBE)
                    transaction.rollback()
            finally:
                if sqlite and driver is not None:
                    _set_busy_timeout(driver, SQLITE_BUSY_TIMEOUT_MS)
    except DBAPIError as exc:
        return WriteProbe(_outcome(exc), _first_line(exc.orig))
    return WriteProbe("writable")


def _set_busy_timeout(driver: object, milliseconds: int) -> None:
    cursor = driver.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
    finally:
        cursor.close()


def _outcome(exc: DBAPIError) -> Outcome:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_OUTCOMES.get(code & 0xFF, "error")  # extended codes keep the primary
    state = getattr(exc.orig, "sqlstate", None)
    if isinstance(state, str):
        if state.startswith("08"):  # connection_exception
            return "unreachable"
        return _POSTGRES_OUTCOMES.get(state, "error")
    # psycopg reports a refused or lost connection as an OperationalError with no SQLSTATE.
    return "unreachable" if isinstance(exc, OperationalError) else "error"


def _first_line(error: BaseException | None) -> str:
    text = str(error or "").strip().splitlines()
    return text[0][:200] if text else ""
