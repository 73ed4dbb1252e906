"""Alembic environment: the URL and connection come from the service, not alembic.ini.

On SQLite, foreign keys are not enforced while migrating: a table that must be rebuilt
(SQLite cannot drop a constraint in place) is dropped and replaced, and enforcement would
refuse to drop a table other rows refer to. Every foreign key is checked before the
migration commits instead, as SQLite's documented procedure for schema changes does.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from storage.db import make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _set_sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # Only outside a transaction does the pragma take effect; the driver connection runs
    # in autocommit mode (storage.db), so this goes around SQLAlchemy's own BEGIN.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    broken = connection.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise RuntimeError(f"migration left rows with broken foreign keys in {', '.join(tables)}")


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
    )
    if sqlite and not connection.in_transaction():
        _set_sqlite_foreign_keys(connection, False)
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_sqlite_foreign_keys(connection)
    finally:
        if sqlite and not connection.in_transaction():
            _set_sqlite_foreign_keys(connection, True)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
