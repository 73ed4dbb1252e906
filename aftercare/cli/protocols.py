"""`aftercare clinic protocol SLUG [FILE]`: a clinic's own protocol, stored in the database.

Every upload (and every reset) is a new version; a treatment keeps the version it was
planned with, so editing the protocol changes only plans made from then on, unless
`--replan` moves the pending reminders of the clinic's current plans to the new version.
`--service NAME` gives one booking service a protocol of its own.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aftercare.cli.clinic import clinic_app
from aftercare.cli.common import fail, open_database, out, read_protocol, read_settings
from messages.durations import Duration
from messages.protocol import Protocol
from messages.protocol_files import ProtocolError, parse_protocol
from storage.patients import NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scheduler.protocol_catalog import ClinicPlanning, ProtocolCatalog
    from storage.clinic_protocols import ActiveProtocols, ProtocolVersion
    from storage.db import Database

log = logging.getLogger(__name__)

EXIT_BAD_FILE = 2  # the file is not a usable protocol (as for a bad PROTOCOL_FILE)


def read_file(file: Path) -> tuple[str, Protocol]:
    """The file's text and the protocol it holds, checked like PROTOCOL_FILE."""
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(str(file), [f"cannot read ({exc})"]) from None
    return text, parse_protocol(text, str(file))


@clinic_app.command("protocol")
def clinic_protocol(
    slug: str,
    file: Annotated[
        Path | None, typer.Argument(help="A protocol TOML file (the built-in's format).")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(
            help="A booking service (its whole name; case and accents do not matter) that "
            "gets this protocol instead of the clinic's default."
        ),
    ] = None,
    replan: Annotated[
        bool,
        typer.Option(
            "--replan",
            help="Also move the pending reminders of the clinic's current plans (of this "
            "service) to the new version.",
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="Print the active protocol.")] = False,
    toml: Annotated[
        bool, typer.Option("--toml", help="With --show: print the TOML as uploaded.")
    ] = False,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Back to the built-in protocol; with --service: remove that service's mapping.",
        ),
    ] = False,
) -> None:
    """Upload, show or reset a clinic's own protocol (versioned; old plans keep theirs)."""
    if sum((file is not None, show, reset)) > 1:
        raise fail("give one of FILE, --show or --reset")
    if replan and file is None and not reset:
        raise fail("--replan goes with FILE or --reset")
    if toml and file is not None:
        raise fail("--toml goes with --show")
    settings = read_settings()
    source: str | None = None
    if file is not None:
        try:
            source, _ = read_file(file)
        except ProtocolError as exc:
            raise fail(str(exc), code=EXIT_BAD_FILE) from None
    built_in = read_protocol(settings)
    from scheduler.protocol_catalog import ProtocolCatalog  # loads storage: not for --help

    with open_database(settings) as db:
        catalog = ProtocolCatalog(db, built_in)
        try:
            if file is None and not reset:
                show_active(db, catalog, slug, service, toml=toml)
                return
            change(db, built_in, slug, source, file, service, replan=replan)
        except (NotFoundError, ValueError) as exc:
            raise fail(str(exc)) from None


def change(
    db: Database,
    built_in: Protocol,
    slug: str,
    source: str | None,
    file: Path | None,
    service: str | None,
    *,
    replan: bool,
) -> None:
    from aftercare.dashboard.accounts import COMMAND_LINE
    from aftercare.wiring import build_planner
    from scheduler.clock import SystemClock
    from scheduler.protocol_changes import ProtocolChange, audit_change, change_protocol

    planner = build_planner(db, built_in, read_settings(), SystemClock())
    now = planner.clock.now()

    def audit(session: Session, done: ProtocolChange) -> None:
        audit_change(session, done, slug, replan=replan, at=now, actor=COMMAND_LINE.name)

    done = change_protocol(
        planner,
        slug,
        source=source,
        file_name=file.name if file is not None else None,
        service=service,
        replan=replan,
        now=now,
        audit=audit,
    )
    version = done.version
    log.info(
        "clinic protocol clinic=%s version=%d row=%d reset=%s service=%s replanned=%d",
        version.clinic_id,
        version.version,
        version.id,
        version.source is None,
        service is not None,
        done.replanned,
    )
    out.print(
        escape(changed_line(slug, version, done.planning, service)), highlight=False, soft_wrap=True
    )
    if replan:
        out.print(f"replanned {done.replanned} current treatment(s); plans that are over stay")


def changed_line(
    slug: str, version: ProtocolVersion, planning: ClinicPlanning, service: str | None
) -> str:
    whose = f"the service {service!r}" if service else "the clinic"
    if version.source is None:
        if service:
            return (
                f"clinic {slug}: version {version.version}: {whose} no longer has a protocol "
                f"of its own; it follows the clinic's ({planning.protocol.name})"
            )
        return f"clinic {slug}: version {version.version}: back to the built-in protocol"
    protocol = planning.protocol
    return (
        f"clinic {slug}: version {version.version} ({protocol.name}, "
        f"{len(protocol.milestones)} milestones, from {version.file_name}) now plans new "
        f"treatments of {whose}"
    )


def show_active(
    db: Database, catalog: ProtocolCatalog, slug: str, service: str | None, *, toml: bool
) -> None:
    from storage.clinic_protocols import ClinicProtocols, service_key
    from storage.day_before import day_before_on

    store = ClinicProtocols(db)
    active = store.active(slug)
    with db.session() as session:
        before_on = day_before_on(session, store.clinic_id(session, slug))
    version = active.default
    if service is not None:
        version = active.services.get(service_key(service), active.default)
    planning = catalog.planning(version)
    if toml:
        if version is None or version.source is None:
            raise ValueError(f"clinic {slug} uses the built-in protocol ({planning.protocol.name})")
        typer.echo(version.source, nl=False)
        return
    out.print(
        escape(active_line(slug, version, planning, service)), highlight=False, soft_wrap=True
    )
    print_services(active)
    print_summary(planning.protocol)
    if planning.protocol.before and not before_on:
        # The table lists them either way; say that this clinic's patients do not get them.
        keys = ", ".join(m.key for m in planning.protocol.before)
        out.print(
            f"{keys}: not sent, the clinic's day-before reminder is off "
            f"(aftercare clinic day-before {slug} on)",
            highlight=False,
            soft_wrap=True,
        )


def active_line(
    slug: str, version: ProtocolVersion | None, planning: ClinicPlanning, service: str | None
) -> str:
    whose = f"clinic {slug}" + (f", service {service!r}" if service else "")
    if version is None:
        return f"{whose}: the built-in protocol ({planning.protocol.name})"
    uploaded = version.created_at.strftime("%Y-%m-%d %H:%M UTC")
    mapped = f" (mapped to {version.service!r})" if version.service else ""
    return (
        f"{whose}: version {version.version}{mapped}, {planning.protocol.name}, "
        f"from {version.file_name}, uploaded {uploaded}"
    )


def print_services(active: ActiveProtocols) -> None:
    if not active.services:
        out.print("services: none mapped (services named like microneedling follow the clinic's)")
        return
    out.print("services with their own protocol:")
    for v in sorted(active.services.values(), key=lambda v: v.version):
        line = f"  {v.service!r}: version {v.version}, from {v.file_name}"
        out.print(escape(line), highlight=False, soft_wrap=True)


def print_summary(protocol: Protocol) -> None:
    locale = protocol.locales[0]
    out.print(
        f"{protocol.name} (languages {', '.join(protocol.locales)}): the welcome goes out at "
        f"enrollment, or {protocol.welcome_delay} after an appointment booked ahead",
        highlight=False,
        soft_wrap=True,
    )
    table = Table("milestone", "kind", "when", "window", f"title ({locale})")
    for milestone in protocol.milestones:
        table.add_row(
            milestone.key,
            milestone.kind,
            when(milestone.offset),
            spoken(milestone.window),
            milestone.title.get(locale, ""),
        )
    out.print(table)


def when(offset: Duration) -> str:
    """`14 days after`, `1 day before` (the treatment); the welcome's moment is the line
    above the table (at enrollment, or the welcome delay after a booked appointment)."""
    if offset.amount == 0:
        return "see above"
    return f"{spoken(offset)} {'before' if offset.amount < 0 else 'after'}"


def spoken(duration: Duration) -> str:
    amount = abs(duration.amount)
    return f"{amount} {duration.unit if amount != 1 else duration.unit.removesuffix('s')}"
