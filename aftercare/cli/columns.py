"""`aftercare clinic columns SLUG --map external_id="Client Number" ...`: a clinic's own
header names for the import, kept in the database and used by every import of the clinic.
Also the clinic's other booking settings: `days-ahead`, `day-before`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from aftercare.cli.clinic import clinic_app
from aftercare.cli.common import fail, open_database, out, read_settings
from aftercare.dashboard.column_form import mapping_problems
from clinic.csv_rows import COLUMNS
from storage.audit import AuditAction, AuditLog
from storage.clinic_columns import column_map, save_column_map, save_days_ahead
from storage.day_before import save_day_before
from storage.patients import NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def audited(action: AuditAction, target: str) -> Callable[[Session, int], None]:
    """Records a clinic setting changed from the command line, in the change's transaction:
    the clinic by its slug and the new value, by 'command line'."""
    from aftercare.dashboard.accounts import COMMAND_LINE
    from scheduler.clock import SystemClock

    def audit(session: Session, clinic_id: int) -> None:
        AuditLog.add(
            session,
            SystemClock().now(),
            clinic_id,
            None,
            action,
            "clinic",
            target,
            actor=COMMAND_LINE.name,
        )

    return audit


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`column="Header cell"` pairs; every column must be one the importer knows."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, header = pair.partition("=")
        column, header = column.strip(), header.strip().strip('"').strip()
        if not sep or not header:
            raise ValueError(f'--map {pair!r}: write it as column="Header in your file"')
        if column not in COLUMNS:
            raise ValueError(f"--map {pair!r}: {column!r} is not one of {', '.join(COLUMNS)}")
        mapping[column] = header
    return mapping


@clinic_app.command("days-ahead")
def clinic_days_ahead(
    slug: str,
    days: Annotated[int, typer.Argument(help="0 to 90; 90 is the built-in.", min=0, max=90)],
) -> None:
    """How many days ahead the clinic's appointments may be enrolled (audited)."""
    with open_database(read_settings()) as db:
        try:
            save_days_ahead(
                db,
                slug,
                None if days == 90 else days,
                audited(AuditAction.CLINIC_DAYS_AHEAD, f"{slug}: {days} days"),
            )
        except NotFoundError as exc:
            raise fail(str(exc)) from None
    out.print(f"clinic {slug}: appointments up to {days} days ahead")


@clinic_app.command("day-before")
def clinic_day_before(
    slug: str,
    state: Annotated[Literal["on", "off"], typer.Argument(help="on or off (the default).")],
) -> None:
    """A one-line reminder of the appointment the day before (off unless turned on). It
    applies to appointments enrolled or moved from now on; reminders already planned stay
    (audited)."""
    with open_database(read_settings()) as db:
        try:
            save_day_before(
                db, slug, state == "on", audited(AuditAction.CLINIC_DAY_BEFORE, f"{slug}: {state}")
            )
        except NotFoundError as exc:
            raise fail(str(exc)) from None
    out.print(f"clinic {slug}: day-before reminder {state}")


@clinic_app.command("columns")
def clinic_columns(
    slug: str,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help='column="Header in your file"; repeat for each column.'),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Back to the built-in names.")] = False,
) -> None:
    """Show or set the clinic's own header names for imports (changes are audited)."""
    try:
        mapping = parse_mapping(map_ or [])
    except ValueError as exc:
        raise fail(str(exc)) from None
    with open_database(read_settings()) as db:
        try:
            if mapping or reset:
                merged = {} if reset else column_map(db, slug) | mapping
                # The dashboard form's rules: one name per column, a header cell's length.
                for column, problem in mapping_problems(merged).items():
                    raise fail(f"--map {column}: {problem}")
                save_column_map(db, slug, merged, audited(AuditAction.IMPORT_COLUMNS, slug))
            shown = column_map(db, slug)
        except NotFoundError as exc:
            raise fail(str(exc)) from None
    if not shown:
        out.print(f"clinic {slug}: the built-in column names and aliases")
    for column, header in sorted(shown.items()):
        out.print(escape(f"{column} = {header!r}"))
