"""`aftercare patient add`: one patient and appointment, by hand; the reminders are planned.

The command is a one-row import through the clinic importer, so it follows the import's
rules exactly: the same checks, and for a patient already enrolled the same decision
between a new session and a correction (by appointment id, or without one by the
protocol's length), reported in the import report's words.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from aftercare.cli.common import fail, open_database, out, read_protocol, read_settings
from clinic.csv_rows import RowError
from clinic.dates import parse_typed_treatment
from scheduler.clock import SystemClock
from scheduler.localtime import zone_named
from storage.patients import NotFoundError
from storage.values import ChannelName, Language

patient_app = typer.Typer(help="Patients.", no_args_is_help=True)

APPOINTMENT_HELP = (
    "The time: ISO 8601 (naive = local to --tz), or how long ago or ahead: -2h, -3d, +2d."
)
# The import's column -> the option that gave it, to name in an error.
OPTIONS = {
    "external_id": "--external-id",
    "treatment_at": "--treatment",
    "first_name": "--first-name",
    "phone": "--phone",
    "timezone": "--tz",
    "language": "--lang",
    "channel": "--channel",
    "appointment_id": "--appointment-id",
    "service": "--service",
}


@patient_app.command("add")
def patient_add(
    clinic: Annotated[str, typer.Option(help="Clinic slug.")],
    external_id: Annotated[str, typer.Option(help="The clinic's id for the patient.")],
    treatment: Annotated[str, typer.Option(help=APPOINTMENT_HELP)],
    first_name: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[
        str | None, typer.Option(help="Phone; local numbers use the clinic's country.")
    ] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone (default: the clinic's).")] = None,
    lang: Annotated[Language | None, typer.Option(help="Default: the clinic's.")] = None,
    channel: Annotated[ChannelName | None, typer.Option()] = None,
    appointment_id: Annotated[
        str | None,
        typer.Option(
            help="The booking system's id of this session: a new id is a new session, "
            "a known one at another time a correction."
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(
            help="The booked service: one the clinic mapped gets its protocol; otherwise "
            "its name must say microneedling."
        ),
    ] = None,
) -> None:
    """Enroll one patient's treatment (up to the clinic's days ahead); its reminders are
    planned at once. For a patient already enrolled: a new session or a correction, by the
    import's rules; options left out keep the stored values."""
    # The composition root pulls in the web stack, the importer its parts: loaded only here.
    from aftercare.wiring import build_planner, invite_links
    from clinic.importer import Importer
    from clinic.outcomes import RowOutcome
    from clinic.reader import FileProblem
    from storage.enrollment import EnrollmentStore

    settings = read_settings()
    clock = SystemClock()
    with open_database(settings) as db:
        store = EnrollmentStore(db)
        planner = build_planner(db, read_protocol(settings), settings, clock)
        try:
            profile = store.profile(clinic)
        except NotFoundError as exc:
            raise fail(str(exc)) from None
        try:
            zone = zone_named(tz or profile.timezone)
        except ValueError as exc:
            raise fail(f"--tz: {exc}") from None
        try:
            # Typed relative times are read here (the file format has none); the instant
            # then goes through the import's own checks (window, days ahead).
            treated = parse_typed_treatment(
                treatment, zone, clock.now(), profile.date_format, ahead=True
            )
        except ValueError as exc:
            raise fail(f"--treatment: {exc}") from None
        cells = {
            "external_id": external_id,
            "treatment_at": treated.isoformat(),
            "first_name": first_name,
            "phone": phone,
            "timezone": tz,
            "language": lang,
            "channel": channel,
            "appointment_id": appointment_id,
            "service": service,
        }
        importer = Importer(
            store,
            planner,
            invite_ttl=timedelta(hours=settings.invite_ttl_hours),
            invite_link=invite_links(settings.telegram_bot_username),
        )
        outcomes: list[RowOutcome] = []
        try:
            importer.run(profile, one_row_csv(cells), on_row=outcomes.append)
        except FileProblem as exc:  # a value the CSV reader cannot take (a NUL byte)
            raise fail(str(exc)) from None
        [outcome] = outcomes
        if outcome.status == "rejected":
            raise fail("; ".join(option_error(e) for e in outcome.errors))
        if outcome.status == "skipped":
            why = outcome.reason.message if outcome.reason else "skipped"
            raise fail(
                f"--service: {why} (aftercare clinic protocol SLUG FILE --service NAME); "
                "nothing enrolled"
            )
        detail = store.patient_detail(profile.id, external_id)
    assert detail is not None
    patient_zone = ZoneInfo(detail.timezone)
    # The import report's words: the patient's status, then what the treatment did.
    said = f"patient {external_id}: {outcome.status}"
    if outcome.status != "created":
        said += f"; treatment: {outcome.action}"
    out.print(
        f"{said} ({treated.astimezone(patient_zone):%a %d %b %Y %H:%M %Z})",
        highlight=False,
        markup=False,
    )
    if outcome.invite_url:
        # One line whatever the terminal's width: a link broken in two cannot be copied.
        out.print(
            f"Telegram invite (shown once): {outcome.invite_url}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    pending = [r for r in detail.reminders if r.status == "pending"]
    if not pending:
        out.print("no reminders pending")
        return
    table = Table("pending reminder", "due (patient's time)")
    for reminder in pending:
        table.add_row(
            reminder.milestone, f"{reminder.due_at.astimezone(patient_zone):%a %d %b %H:%M %Z}"
        )
    out.print(table)


def one_row_csv(cells: dict[str, str | None]) -> io.BytesIO:
    """A CSV file of the given columns only: a column left out keeps its stored value."""
    given = {column: value for column, value in cells.items() if value is not None}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(given)
    writer.writerow(given.values())
    return io.BytesIO(text.getvalue().encode())


def option_error(error: RowError) -> str:
    option = OPTIONS.get(error.column or "")
    return f"{option}: {error.message}" if option else error.message
