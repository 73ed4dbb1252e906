"""`aftercare reminders`: where the reminders stand, soonest first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from aftercare.cli.common import open_database, out, read_settings
from storage.values import ReminderStatus


def reminders(
    status: Annotated[
        ReminderStatus | None,
        typer.Option(help=f"Only this status: {', '.join(ReminderStatus)}."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
) -> None:
    """List reminders, soonest first."""
    # Imported here, like the other commands' storage: `aftercare --help` stays quick.
    from storage.reminders import ReminderRepository

    with open_database(read_settings()) as db:
        rows = ReminderRepository(db).listed(status, limit)
    table = Table(
        "id", "patient", "milestone", "channel", "due (UTC)", "status", "attempts", "note"
    )
    for r in rows:
        table.add_row(
            str(r.id),
            str(r.patient_id),
            r.milestone,
            r.channel,
            f"{r.due_at:%Y-%m-%d %H:%M}",
            r.status,
            str(r.attempts),
            r.last_error or "",
        )
    out.print(table)
