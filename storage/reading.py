"""Reads that never take SQLite's write lock, for counting while the engine sends.

Every transaction on the main engine starts with BEGIN IMMEDIATE (storage.db), which a
writer needs and a reader does not: a count over the queue would hold the lock, and stall
the dispatcher, for as long as it scans. This engine's transactions start with a deferred
BEGIN (a WAL snapshot: writers go on meanwhile) on connections that refuse writes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database


def read_only_engine(db: Database) -> Engine:
    """For SQLite files, a separate engine (a connection per use, nothing to dispose of);
    otherwise (PostgreSQL, an in-memory database) the database's own engine."""
    return sqlite_reader(db) or db.engine


def sqlite_reader(db: Database) -> Engine | None:
    """The separate read-only engine of a SQLite file; None for PostgreSQL or an in-memory
    database (which another connection could not see)."""
    url = make_url(db.url)
    if db.dialect != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("mode") == "memory":
        return None
    # No pool: a connection per unit of work, closed with it, so nothing to dispose of.
    engine = create_engine(
        url,
        poolclass=NullPool,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the begin event below issues BEGIN
        dbapi_connection.execute("PRAGMA query_only=ON")

    @event.listens_for(engine, "begin")
    def _deferred(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")  # deferred: a read snapshot, no write lock

    return engine
