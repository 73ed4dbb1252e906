"""`aftercare simulate`: a treatment's timeline as it would be planned, with the texts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from aftercare.cli.common import TREATMENT_HELP, fail, out, read_protocol, read_settings
from clinic.dates import parse_typed_treatment
from messages.milestones import passed_milestones
from messages.render import RenderContext, render_text
from scheduler.localtime import zone_named
from scheduler.timeline import plan
from storage.values import ChannelName, Language


def simulate(
    treatment: Annotated[str, typer.Option(help=TREATMENT_HELP)],
    tz: Annotated[str, typer.Option(help="The patient's IANA time zone.")],
    now: Annotated[
        str | None, typer.Option(help="Registration time (default: the treatment time).")
    ] = None,
    channel: Annotated[ChannelName, typer.Option()] = "sms",
    lang: Annotated[Language, typer.Option()] = "en",
    first_name: Annotated[str, typer.Option()] = "Alex",
    clinic_name: Annotated[str, typer.Option()] = "Your clinic",
    clinic_phone: Annotated[str, typer.Option()] = "+1 555 010 0000",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show the timeline as planned, with the rendered texts. No database needed."""
    settings = read_settings()
    try:
        zone = zone_named(tz)
        treated = parse_typed_treatment(treatment, zone, datetime.now(UTC))
        registered = parse_typed_treatment(now, zone, datetime.now(UTC)) if now else treated
    except ValueError as exc:
        raise fail(str(exc)) from None
    protocol = read_protocol(settings)
    context = RenderContext(first_name, clinic_name, clinic_phone, lang)
    passed = passed_milestones(treated, protocol, zone, registered)
    rows: list[dict[str, Any]] = []
    for item in plan(treated, protocol, zone, settings.quiet_hours, registered):
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
                    context,
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
