"""`aftercare simulate`: a treatment's timeline as it would be planned, with the texts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from aftercare.cli.common import (
    TREATMENT_HELP,
    fail,
    open_database,
    out,
    read_protocol,
    read_settings,
)
from aftercare.settings import Settings
from clinic.dates import parse_typed_treatment
from messages.milestones import passed_milestones
from messages.protocol import Protocol
from messages.render import RenderContext, render_text
from scheduler.localtime import zone_named
from scheduler.timeline import plan
from storage.values import ChannelName, Language


def simulate(
    treatment: Annotated[str, typer.Option(help=TREATMENT_HELP + " Booked ahead: +2d.")],
    tz: Annotated[str, typer.Option(help="The patient's IANA time zone.")],
    now: Annotated[
        str | None,
        typer.Option(
            help="Registration time (default: the treatment time, or now for one booked ahead)."
        ),
    ] = None,
    channel: Annotated[ChannelName, typer.Option()] = "sms",
    lang: Annotated[Language, typer.Option()] = "en",
    first_name: Annotated[str, typer.Option()] = "Alex",
    clinic_name: Annotated[
        str | None, typer.Option(help="Default: the --clinic's name, or 'Your clinic'.")
    ] = None,
    clinic_phone: Annotated[
        str | None, typer.Option(help="Default: the --clinic's phone, or +1 555 010 0000.")
    ] = None,
    clinic: Annotated[
        str | None, typer.Option(help="Plan with this clinic's protocol (needs the database).")
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="With --clinic: a booking service it mapped.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show the timeline as planned, with the rendered texts. No database needed, except
    with --clinic (that clinic's own protocol, clinic protocol SLUG FILE, and its day-before
    reminder when turned on, clinic day-before SLUG on)."""
    settings = read_settings()
    try:
        zone = zone_named(tz)
        current = datetime.now(UTC)
        treated = parse_typed_treatment(treatment, zone, current, ahead=True)
        # An appointment ahead is booked now: its welcome waits for it, and the day-before
        # reminder shows when the clinic has it on.
        registered = (
            parse_typed_treatment(now, zone, current, ahead=True) if now else min(treated, current)
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    protocol = read_protocol(settings)
    name, phone, before = "Your clinic", "+1 555 010 0000", False
    if clinic is not None:
        protocol, before, name, phone = clinic_protocol(settings, protocol, clinic, service)
    elif service is not None:
        raise fail("--service goes with --clinic")
    context = RenderContext(
        first_name,
        clinic_name or name,
        clinic_phone or phone,
        lang,
        emergency_number=settings.emergency_number,
    )
    passed = passed_milestones(treated, protocol, zone, registered)
    rows: list[dict[str, Any]] = []
    ahead = {m.key for m in protocol.before}
    planned = plan(treated, protocol, zone, settings.quiet_hours, registered, before=before)
    for item in sorted(planned, key=lambda p: p.due_at):
        # A reminder before the treatment names it as of the moment it is due.
        context_then = context.with_appointment(treated, zone, item.due_at)
        rows.append(
            {
                "key": item.key,
                "due_at": item.due_at.astimezone(zone).isoformat(),
                "milestone_at": item.milestone_at.astimezone(zone).isoformat(),
                "expires_at": item.expires_at.astimezone(zone).isoformat(),
                "text": render_text(
                    protocol,
                    item.key,
                    channel,
                    context_then if item.key in ahead else context,
                    passed=passed if item.key == protocol.welcome.key else (),
                ),
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("key", "due (local)", "text", show_lines=True)
    for row in rows:
        table.add_row(
            row["key"], row["due_at"].replace("T", " ")[:16] + row["due_at"][-6:], row["text"]
        )
    out.print(table)


def clinic_protocol(
    settings: Settings, built_in: Protocol, slug: str, service: str | None
) -> tuple[Protocol, bool, str, str]:
    """The protocol the clinic plans new treatments (of `service`) with, whether it plans
    reminders before the treatment, and its name and phone for the texts."""
    from scheduler.protocol_catalog import ProtocolCatalog
    from storage.patients import NotFoundError, PatientRepository

    with open_database(settings) as db:
        try:
            view = PatientRepository(db).clinic(slug)
        except NotFoundError as exc:
            raise fail(str(exc)) from None
        with db.session() as session:
            plans = ProtocolCatalog(db, built_in).plans(session, view.id)
    planning = plans.for_service(service)
    return planning.protocol, planning.before, view.name, view.phone
