"""`aftercare db ...`: create or migrate the database, and back it up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aftercare.cli.common import database_creatable, fail, out, read_settings

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    # Imported here, like the other commands' storage: `aftercare --help` stays quick.
    from sqlalchemy.exc import DBAPIError

    from storage.migrate import upgrade_telling
    from storage.readiness import connection_problem, describe

    settings = read_settings()
    database_creatable(settings)
    try:
        done = upgrade_telling(settings.database_url)
    except DBAPIError as exc:
        raise fail(connection_problem(settings.database_url, exc)) from None
    where, at = describe(settings.database_url), ", ".join(done.after)
    if done.created:
        said = f"created the database at revision {at}: {where}"
    elif done.changed:
        said = f"migrated the database from revision {', '.join(done.before)} to {at}: {where}"
    else:
        said = f"the database is up to date (revision {at}): {where}"
    out.print(said, highlight=False, soft_wrap=True)


def pg_dump_command(url: str, file: Path) -> str:
    """The pg_dump line for this server and database, without the password."""
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    parsed = make_url(normalise_url(url))
    options = [f"--host {parsed.host or 'localhost'}", f"--port {parsed.port or 5432}"]
    if parsed.username:
        options.append(f"--username {parsed.username}")
    return f"pg_dump {' '.join(options)} --format=custom --file {file} {parsed.database or ''}"


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Where the copy goes (must not exist).")],
) -> None:
    """Copy the SQLite database while the service runs (PostgreSQL: use pg_dump)."""
    from storage.backup import BackupError, backup_sqlite
    from storage.readiness import describe, sqlite_file

    settings = read_settings()
    url = settings.database_url
    if sqlite_file(url) is None and not url.startswith("sqlite"):
        raise fail(
            f"DATABASE_URL is {describe(url)}: back it up with PostgreSQL's own tools, e.g. "
            f"{pg_dump_command(url, file)} (README: backup and restore)"
        )
    try:
        size = backup_sqlite(url, file.expanduser().absolute())
    except BackupError as exc:
        raise fail(str(exc)) from None
    out.print(f"backed up {describe(url)} to {file} ({size:,} bytes)", highlight=False)
