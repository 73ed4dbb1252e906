"""Every SQLite connection is set up for several processes sharing one file."""

from __future__ import annotations

from pathlib import Path

from storage.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_WAL_KEEP_BYTES, Database


def test_each_connection_shares_the_file_safely_and_keeps_its_log_small(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'aftercare.db'}")
    try:
        with db.engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None

            def pragma(name: str) -> object:
                return driver.execute(f"PRAGMA {name}").fetchone()[0]

            assert pragma("journal_mode") == "wal"
            assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
            assert pragma("foreign_keys") == 1
            # A big import's log is cut back to this once it has been copied in.
            assert pragma("journal_size_limit") == SQLITE_WAL_KEEP_BYTES
    finally:
        db.dispose()
