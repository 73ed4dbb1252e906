"""What every `aftercare` command shares: one way to fail, one settings loader, and one way
to open the database (checked, never created here, always closed).

Commands other than `db upgrade` and `run` never create or migrate a database (see
storage.readiness): `open_database` only checks, then disposes of the engine however the
command ends.

Storage modules a command alone needs are imported inside it, so that `aftercare --help`
and the commands that need no database start without loading them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from aftercare.settings import ConfigError, Settings, load_settings
from messages.protocol import Protocol
from messages.protocol_files import ProtocolError, load_protocol
from storage.db import Database

EXIT_FAILURE = 1
TREATMENT_HELP = "Treatment time: ISO 8601 (naive = local to --tz), or how long ago: -2h, -3d."

out = Console()
err = Console(stderr=True)


def error_line(message: str) -> None:
    # One line whatever the terminal's width, so scripts and logs see the whole reason.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, *, as_json: bool = False, code: int = EXIT_FAILURE) -> typer.Exit:
    """Say why in one line and return the exit to raise: on stderr, or with --json as
    `{"error": ...}` on stdout so a script reads one JSON object either way."""
    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        error_line(message)
    return typer.Exit(code)


def read_settings(*, as_json: bool = False) -> Settings:
    """The settings, or a one-line failure naming each bad variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(str(exc), as_json=as_json) from None


def read_protocol(settings: Settings, *, as_json: bool = False) -> Protocol:
    """The protocol the settings name (PROTOCOL_FILE, or the built-in one)."""
    try:
        return load_protocol(settings.protocol_file)
    except ProtocolError as exc:
        raise fail(str(exc), as_json=as_json) from None


def database_creatable(settings: Settings) -> None:
    """Stop with one line when the database could not be created, reached or written."""
    from storage.readiness import DatabaseNotReady, require_creatable

    try:
        require_creatable(settings.database_url)
    except DatabaseNotReady as exc:
        raise fail(str(exc)) from None


@contextmanager
def open_database(settings: Settings, *, as_json: bool = False) -> Iterator[Database]:
    """The configured database, which must exist and be migrated; disposed of on the way
    out, whether the command succeeds or fails."""
    from storage.readiness import DatabaseNotReady, require_migrated

    try:
        require_migrated(settings.database_url)
    except DatabaseNotReady as exc:
        raise fail(str(exc), as_json=as_json) from None
    db = Database(settings.database_url)
    try:
        yield db
    finally:
        db.dispose()
