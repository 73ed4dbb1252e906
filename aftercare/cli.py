"""The `aftercare` command."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aftercare.ask import ask as ask_command
from aftercare.doctor import doctor
from aftercare.example_command import example_csv
from aftercare.logs import configure_logging as configure_log_output
from aftercare.ops_commands import db_backup, stats
from aftercare.settings import ConfigError, Settings, load_settings
from aftercare.staff_cli import staff_app
from clinic import commands as clinic_commands
from messages.milestones import passed_milestones
from messages.protocol import Channel as RenderChannel
from messages.protocol_files import ProtocolError, load_protocol
from messages.render import RenderContext, render_text
from scheduler.localtime import zone_named
from scheduler.timeline import plan
from storage.values import ReminderStatus

app = typer.Typer(
    help="Microneedling aftercare reminders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals hold tokens and patients' details
)
TREATMENT_HELP = "Treatment time: ISO 8601 (naive = local to --tz), or how long ago: -2h, -3d."
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
clinic_app = typer.Typer(help="Clinics.", no_args_is_help=True)
patient_app = typer.Typer(help="Patients.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clinic_app, name="clinic")
clinic_app.add_typer(clinic_commands.key_app, name="key")
clinic_app.command("list")(clinic_commands.clinic_list)
clinic_app.command("date-format")(clinic_commands.clinic_date_format)
clinic_app.command("set")(clinic_commands.clinic_set)
app.command("enroll")(clinic_commands.enroll)
app.add_typer(patient_app, name="patient")
app.add_typer(staff_app, name="staff")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    # One line whatever the terminal's width, so scripts and logs see the whole reason.
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(str(exc)) from None


def database_ready(settings: Settings) -> None:
    """Stop with one line unless the database exists and is migrated; never creates one."""
    from storage.readiness import DatabaseNotReady, require_migrated

    try:
        require_migrated(settings.database_url)
    except DatabaseNotReady as exc:
        raise fail(str(exc)) from None


def database_creatable(settings: Settings) -> None:
    """Stop with one line when the database could not be created, reached or written."""
    from storage.readiness import DatabaseNotReady, require_creatable

    try:
        require_creatable(settings.database_url)
    except DatabaseNotReady as exc:
        raise fail(str(exc)) from None


def configure_logging(settings: Settings) -> None:
    # LOG_FORMAT=json: one object per line. Library loggers that would print request URLs,
    # which carry tokens and chat ids, are kept at WARNING either way.
    configure_log_output(settings.log_level, settings.log_format)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from sqlalchemy.exc import DBAPIError

    from storage.migrate import upgrade
    from storage.readiness import connection_problem

    settings = settings_or_exit()
    database_creatable(settings)
    try:
        upgrade(settings.database_url)
    except DBAPIError as exc:
        raise fail(connection_problem(settings.database_url, exc)) from None
    out.print("database is up to date")


@app.command()
def run() -> None:
    """Migrate, then serve: scheduler, HTTP app and the configured channels."""
    import uvicorn

    from aftercare.health import startup_problem
    from aftercare.preflight import (
        StartupError,
        bind_listener,
        telegram_username,
        with_bot_username,
    )
    from aftercare.web import create_app, server_config
    from aftercare.wiring import build_core, build_runtime

    settings = settings_or_exit()
    # Before logging is set up, so a database that cannot be written stops start-up with
    # one line, not migration chatter or a traceback.
    database_creatable(settings)
    problem = startup_problem(settings.database_url)
    if problem:
        raise fail(problem)
    try:
        # The port is taken before anything starts; the token is checked (and the bot's
        # username learned for invite links) before the scheduler runs.
        listener = bind_listener(settings.host, settings.port)
        if settings.telegram_bot_token:
            settings = with_bot_username(settings, telegram_username(settings))
    except StartupError as exc:
        raise fail(str(exc)) from None
    configure_logging(settings)
    try:
        core = build_core(settings)
    except ProtocolError as exc:
        raise fail(str(exc)) from None
    runtime = build_runtime(core)
    config = server_config(create_app(runtime), settings)
    # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, which runs the lifespan exit.
    asyncio.run(uvicorn.Server(config).serve(sockets=[listener]))
    core.close()


@app.command()
def simulate(
    treatment: Annotated[str, typer.Option(help=TREATMENT_HELP)],
    tz: Annotated[str, typer.Option(help="The patient's IANA time zone.")],
    now: Annotated[
        str | None, typer.Option(help="Registration time (default: the treatment time).")
    ] = None,
    channel: Annotated[Literal["sms", "telegram"], typer.Option()] = "sms",
    lang: Annotated[Literal["en", "es"], typer.Option()] = "en",
    first_name: Annotated[str, typer.Option()] = "Alex",
    clinic_name: Annotated[str, typer.Option()] = "Your clinic",
    clinic_phone: Annotated[str, typer.Option()] = "+1 555 010 0000",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show the timeline as planned, with the rendered texts. No database needed."""
    from clinic.dates import parse_typed_treatment

    rendering: RenderChannel = channel
    settings = settings_or_exit()
    try:
        zone = zone_named(tz)
        treated = parse_typed_treatment(treatment, zone, datetime.now(UTC))
        registered = parse_typed_treatment(now, zone, datetime.now(UTC)) if now else treated
        protocol = load_protocol(settings.protocol_file)
    except (ValueError, ProtocolError) as exc:
        raise fail(str(exc)) from None
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
                    rendering,
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


@clinic_app.command("add")
def clinic_add(
    slug: Annotated[str, typer.Argument(help="1 to 40 lower-case letters, digits or '-'.")],
    name: Annotated[str, typer.Option()],
    phone: Annotated[str, typer.Option(help="The number patients are told to call.")],
    timezone: Annotated[str, typer.Option(help="IANA name, e.g. America/New_York.")],
    country: Annotated[str, typer.Option(help="Default country for local phone numbers.")] = "US",
    language: Annotated[str, typer.Option(help="en or es.")] = "en",
    date_format: Annotated[
        str | None, typer.Option(help="How its CSV files write dates: DMY, MDY, YMD or strftime.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"slug", "api_key"}.')] = False,
) -> None:
    """Add a clinic and print its API key (shown once); name and phone fill the templates."""
    from aftercare.wiring import build_core
    from clinic.commands import clinic_settings_problem, print_key
    from clinic.keys import hash_api_key, new_api_key
    from storage.clinic_fields import ClinicFieldError, check_clinic
    from storage.enrollment import EnrollmentStore
    from storage.patients import DuplicateError

    settings = settings_or_exit()
    try:
        fields = check_clinic(slug, name, phone, timezone, country, language)
    except ClinicFieldError as exc:
        raise fail(clinic_commands.option_problem(exc)) from None
    problem = clinic_settings_problem(country, date_format)
    if problem:
        raise fail(problem)
    database_ready(settings)
    core = build_core(settings)
    key = new_api_key()
    try:
        clinic = core.patients.add_clinic(
            fields.slug,
            fields.name,
            fields.phone,
            fields.timezone,
            fields.country,
            fields.language,
            hash_api_key(key),
        )
        if date_format:
            EnrollmentStore(core.db).set_date_format(slug, date_format)
    except (DuplicateError, ClinicFieldError) as exc:
        raise fail(str(exc)) from None
    finally:
        core.close()
    if not as_json:
        out.print(f"clinic [bold]{clinic.slug}[/bold] added (id {clinic.id})")
    print_key(clinic.slug, key, as_json)


@patient_app.command("add")
def patient_add(
    clinic: Annotated[str, typer.Option(help="Clinic slug.")],
    external_id: Annotated[str, typer.Option(help="The clinic's id for the patient.")],
    treatment: Annotated[str, typer.Option(help=TREATMENT_HELP)],
    first_name: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[
        str | None, typer.Option(help="Phone; local numbers use the clinic's country.")
    ] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone (default: the clinic's).")] = None,
    lang: Annotated[Literal["en", "es"] | None, typer.Option(help="Default: the clinic's.")] = None,
    channel: Annotated[Literal["sms", "telegram"] | None, typer.Option()] = None,
) -> None:
    """Register one patient and treatment; its reminders are planned at once."""
    from aftercare.wiring import build_core
    from clinic.dates import parse_typed_treatment, treatment_window_problem
    from scheduler.planning import NewPatient
    from storage.clinic_fields import normalise_phone
    from storage.patients import DuplicateError, NotFoundError

    settings = settings_or_exit()
    database_ready(settings)
    core = build_core(settings)
    try:
        owner = core.patients.clinic(clinic)
        zone = zone_named(tz or owner.timezone)
        # The CSV importer's rules: a date without a time is refused, the window named.
        treated = parse_typed_treatment(treatment, zone, core.clock.now())
        problem = treatment_window_problem(treated, core.clock.now(), core.protocol)
        if problem:
            raise ValueError(f"--treatment: {problem}")
        e164 = normalise_phone(phone, owner.country) if phone else None
        registration = core.planner.register(
            owner.id,
            NewPatient(
                external_id=external_id,
                timezone=zone.key,
                language=lang or owner.language,
                first_name=first_name,
                phone=e164,
                channel=channel,
            ),
            treated,
        )
    except (ValueError, NotFoundError, DuplicateError) as exc:
        raise fail(str(exc)) from None
    finally:
        core.close()
    table = Table("reminder", "due (patient's time)")
    for item in registration.planned:
        table.add_row(item.key, f"{item.due_at.astimezone(zone):%a %d %b %H:%M %Z}")
    out.print(
        f"patient {registration.patient_id} registered, treatment {registration.treatment_id}"
    )
    out.print(table)


@app.command()
def reminders(
    status: Annotated[
        ReminderStatus | None,
        typer.Option(help=f"Only this status: {', '.join(ReminderStatus)}."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
) -> None:
    """List reminders, soonest first."""
    from sqlalchemy import select

    from aftercare.wiring import build_core
    from storage.models import Reminder

    settings = settings_or_exit()
    database_ready(settings)
    core = build_core(settings)
    with core.db.session() as session:
        query = select(Reminder).order_by(Reminder.next_attempt_at).limit(limit)
        if status:
            query = query.where(Reminder.status == status.value)
        rows = list(session.scalars(query))
    core.close()
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


app.command("ask")(ask_command)
app.command("example-csv")(example_csv)
app.command("doctor")(doctor)
app.command("stats")(stats)
db_app.command("backup")(db_backup)


def main() -> None:
    from sqlalchemy.exc import DBAPIError

    from aftercare.help_names import name_values
    from storage.readiness import connection_problem

    command = typer.main.get_command(app)
    name_values(command)
    try:
        command()
    except DBAPIError as exc:
        # The database went away or refused a write after the checks: one line, no traceback.
        url = load_settings().database_url
        err.print(f"[red]error:[/red] {escape(connection_problem(url, exc))}", soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
