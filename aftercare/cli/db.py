"""`aftercare db ...`: create or migrate the database (`db backup` is registered in
aftercare.cli.entry)."""

from __future__ import annotations

import typer

from aftercare.cli.common import database_creatable, fail, out, read_settings

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    # Imported here, like the other commands' storage: `aftercare --help` stays quick.
    from sqlalchemy.exc import DBAPIError

    from storage.migrate import upgrade
    from storage.readiness import connection_problem

    settings = read_settings()
    database_creatable(settings)
    try:
        upgrade(settings.database_url)
    except DBAPIError as exc:
        raise fail(connection_problem(settings.database_url, exc)) from None
    out.print("database is up to date")
