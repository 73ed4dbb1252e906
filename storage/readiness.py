"""Is the database there, reachable and migrated? One line saying what to do when it is not.

Commands other than `aftercare db upgrade` and `aftercare run` never create or migrate a
database: with the default relative path, running one from the wrong folder would silently
make an empty `aftercare.db` there. They call `require_migrated`, which only reads. The two
that may create one call `require_creatable` first, so a missing folder, a file this user
may not write or a server that refuses connections is named in one line, not a traceback.

Messages name the setting (DATABASE_URL) and the target (a file's absolute path, or a
server's host, port and database) and never the password.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from storage.db import normalise_url

UPGRADE = "run `aftercare db upgrade`"
CONNECT_TIMEOUT_SECONDS = 5


class DatabaseNotReady(Exception):
    """The database cannot be used as configured; the message is one line saying why."""


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite database file, or None (PostgreSQL, in-memory)."""
    parsed = make_url(normalise_url(url))
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database or ""
    if database.startswith("file:"):  # the URI form: sqlite:///file:PATH?mode=ro&uri=true
        database = database.removeprefix("file:").split("?", 1)[0]
    if database in ("", ":memory:") or "mode=memory" in str(parsed):
        return None
    return Path(database).expanduser().absolute()


def describe(url: str) -> str:
    """The target without credentials: a file's path, or the server and database."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    parsed = make_url(normalise_url(url))
    if parsed.drivername.startswith("sqlite"):
        return "an in-memory SQLite database"
    return _server(parsed)


def _server(parsed: URL) -> str:
    host = parsed.host or "localhost"
    port = parsed.port or 5432
    return f"PostgreSQL at {host}:{port}/{parsed.database or ''}"


def require_migrated(url: str, heads: list[str] | None = None) -> None:
    """Raise DatabaseNotReady unless the database exists, answers and is at `heads` (by
    default this version's migration heads).

    Only reads: a missing SQLite file is reported, never created.
    """
    from storage.migrate import current_heads

    heads = current_heads(url) if heads is None else heads
    path = sqlite_file(url)
    if path is None and url.startswith("sqlite"):
        return  # in memory: nothing outlives the process that made it
    if path is not None and not path.exists():
        raise DatabaseNotReady(
            f"no database at {path}: run from the project folder or set DATABASE_URL "
            f"(a new database is made by `aftercare db upgrade`)"
        )
    versions = _versions(url, path)
    if versions is None:
        raise DatabaseNotReady(
            f"the database at {describe(url)} has no aftercare tables: {UPGRADE}"
        )
    if sorted(versions) != sorted(heads):
        raise DatabaseNotReady(
            f"the database at {describe(url)} is at migration {', '.join(versions) or 'none'}, "
            f"this version of aftercare needs {', '.join(heads)}: {UPGRADE}"
        )


def require_creatable(url: str) -> None:
    """Raise DatabaseNotReady when the database could not be created or written.

    SQLite: the folder must exist, and the file (or, for a new file, the folder) must be
    writable. PostgreSQL: the server must accept a connection.
    """
    path = sqlite_file(url)
    if path is None:
        if not url.startswith("sqlite"):
            _versions(url, None)  # connects, or raises naming the server
        return
    if not path.parent.is_dir():
        raise DatabaseNotReady(
            f"DATABASE_URL: the folder {path.parent} for the SQLite database {path.name} does "
            "not exist; create it or point DATABASE_URL elsewhere"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise DatabaseNotReady(f"DATABASE_URL: this user may not write the SQLite file {path}")
    if not path.exists() and not os.access(path.parent, os.W_OK):
        raise DatabaseNotReady(
            f"DATABASE_URL: this user may not create {path.name} in the folder {path.parent}"
        )


def connection_problem(url: str, exc: DBAPIError) -> str:
    """One line for a driver's error: the setting, the target, the driver's first line."""
    reason = (str(exc.orig or exc).strip().splitlines() or ["unknown error"])[0][:200]
    if sqlite_file(url) is None and not url.startswith("sqlite"):
        return f"DATABASE_URL: cannot connect to {describe(url)} ({reason})"
    return f"DATABASE_URL: cannot use the database at {describe(url)} ({reason})"


def _versions(url: str, path: Path | None) -> list[str] | None:
    """The migration revisions recorded in the database, None without the table."""
    if path is not None:
        try:
            # Read-only: opening a file that vanished meanwhile must not create it.
            with sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True) as conn:
                known = conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name = 'alembic_version'"
                ).fetchall()
                if not known:
                    return None
                return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.DatabaseError as exc:
            raise DatabaseNotReady(
                f"DATABASE_URL: cannot read the SQLite database {path} ({exc})"
            ) from None
    engine = create_engine(
        normalise_url(url),
        hide_parameters=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    try:
        with engine.connect() as conn:
            present = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            if present is None:
                return None
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError as exc:
        raise DatabaseNotReady(connection_problem(url, exc)) from None
    finally:
        engine.dispose()
