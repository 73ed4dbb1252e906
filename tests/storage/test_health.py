"""The write probe tells a database that takes writes from one that only reads.

Tests run as root, for whom file permissions stop nothing, so a read-only database is made
the way the server itself enforces it: SQLite opened read-only (`mode=ro`, or an immutable
file) and a PostgreSQL session with default_transaction_read_only=on, as a read-only role or
database would have.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.health import probe_writes


def read_only(database_url: str) -> str:
    """The same database, opened so that the server refuses every write."""
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    return database_url + "?options=-c%20default_transaction_read_only%3Don"


def test_a_writable_database_is_writable_and_keeps_nothing_from_the_probe(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        assert probe_writes(db).outcome == "writable"
        with db.session() as session:
            assert session.execute(text("SELECT count(*) FROM reminder")).scalar_one() == 0
    finally:
        db.dispose()


def test_a_database_that_refuses_writes_is_read_only(database_url: str) -> None:
    db = Database(read_only(database_url))
    try:
        with db.engine.connect() as conn:  # reading still works: that is what fooled /healthz
            assert conn.execute(text("SELECT count(*) FROM clinic")).scalar_one() == 0
        result = probe_writes(db)
    finally:
        db.dispose()
    assert (result.outcome, result.writable) == ("read-only", False)
    assert "read" in result.detail


def test_an_immutable_sqlite_file_is_read_only(sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    db = Database(f"sqlite:///file:{path}?immutable=1&uri=true")
    try:
        assert probe_writes(db).outcome == "read-only"
    finally:
        db.dispose()


def test_a_missing_sqlite_file_opened_read_only_is_unreachable(tmp_path: Path) -> None:
    db = Database(f"sqlite:///file:{tmp_path / 'gone' / 'x.db'}?mode=ro&uri=true")
    try:
        assert probe_writes(db).outcome == "unreachable"
    finally:
        db.dispose()


def test_a_sqlite_database_locked_by_another_writer_is_busy_not_broken(sqlite_url: str) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    db = Database(sqlite_url)
    try:
        result = probe_writes(db, busy_wait_ms=50)
        assert (result.outcome, result.writable) == ("busy", True)
        other.execute("ROLLBACK")
        assert probe_writes(db, busy_wait_ms=50).outcome == "writable"
        # The probe's short wait is not left on the pooled connection.
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30_000
    finally:
        other.close()
        db.dispose()
