"""`aftercare db backup`: a consistent copy of a SQLite database while the service runs.

SQLite's online backup API copies the pages under a read transaction, so with WAL the
engine keeps writing meanwhile and the copy is one instant's state. The copy is written
next to the target under a temporary name, checked, switched to a single file (no -wal
beside it) and only then renamed into place, so a failed backup never leaves half a file
under the name asked for. PostgreSQL is backed up with its own tools (pg_dump).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from storage.readiness import sqlite_file


class BackupError(Exception):
    """The backup could not be made; one line saying why and what to do."""


def backup_sqlite(database_url: str, target: Path) -> int:
    """Copy the SQLite database at `database_url` to `target` (which must not exist);
    returns the copy's size in bytes."""
    source = sqlite_file(database_url)
    if source is None:
        raise BackupError("DATABASE_URL: only a SQLite file can be backed up this way")
    if not source.exists():
        raise BackupError(f"no database at {source}: check DATABASE_URL")
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file name (a backup never overwrites)")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True)
        copy = sqlite3.connect(partial)
        try:
            src.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
            src.close()
        if verdict != "ok":
            raise BackupError(f"the copy failed SQLite's check ({verdict}); nothing was kept")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source} to {target} ({exc})") from None
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
