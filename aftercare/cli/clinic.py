"""`aftercare clinic ...`: add, list, change a clinic; its date format; its API key."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import phonenumbers
import typer
from rich.markup import escape
from rich.table import Table

from aftercare.cli.common import fail, open_database, out, read_settings
from clinic.dates import date_format_problem
from clinic.keys import hash_api_key, new_api_key
from storage.clinic_fields import ClinicFieldError, check_clinic, check_country, check_phone
from storage.db import Database
from storage.patients import DuplicateError, NotFoundError, PatientRepository
from storage.values import LANGUAGES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.enrollment import EnrollmentStore

clinic_app = typer.Typer(help="Clinics.", no_args_is_help=True)
key_app = typer.Typer(help="Clinic API keys.", no_args_is_help=True)

JSON_KEY_HELP = 'Print {"slug", "api_key"}.'
LANGUAGE_HELP = " or ".join(LANGUAGES) + "."


def option_problem(exc: ClinicFieldError) -> str:
    """The checker's reason, named the way the command line spells the value."""
    where = "slug" if exc.field == "slug" else f"--{exc.field}"
    return f"{where}: {exc.reason}"


def clinic_settings_problem(country: str, date_format: str | None) -> str | None:
    """Why `clinic add` options cannot be used, or None."""
    if country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return f"--country must be a two-letter country code such as US or ES, got {country!r}"
    if date_format:
        return date_format_problem(date_format)
    return None


def enrollment_store(db: Database) -> EnrollmentStore:
    from storage.enrollment import EnrollmentStore  # slow to load: only when a command runs

    return EnrollmentStore(db)


def print_key(slug: str, key: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"slug": slug, "api_key": key}))
        return
    out.print(f"API key for [bold]{slug}[/bold] (shown once; only a hash is stored):")
    typer.echo(key)


@clinic_app.command("list")
def clinic_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List clinics with their settings and how many patients each has."""
    with open_database(read_settings(as_json=as_json), as_json=as_json) as db:
        summaries = enrollment_store(db).summaries()
    rows: list[dict[str, Any]] = [
        {
            "slug": s.profile.slug,
            "name": s.profile.name,
            "timezone": s.profile.timezone,
            "country": s.profile.country,
            "language": s.profile.language,
            "date_format": s.profile.date_format,
            "patients": s.patients,
            "api_key": s.has_key,
            "day_before": s.profile.day_before,
        }
        for s in summaries
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(
        "slug",
        "name",
        "time zone",
        "country",
        "lang",
        "date format",
        "patients",
        "key",
        "day before",
    )
    for row in rows:
        table.add_row(
            row["slug"],
            row["name"],
            row["timezone"],
            row["country"],
            row["language"],
            row["date_format"] or "ISO only",
            str(row["patients"]),
            "yes" if row["api_key"] else "no",
            "on" if row["day_before"] else "off",
        )
    out.print(table)


@clinic_app.command("date-format")
def clinic_date_format(
    slug: str,
    date_format: Annotated[
        str, typer.Argument(help="DMY, MDY, YMD, a strftime pattern, or 'none' for ISO only.")
    ],
) -> None:
    """Set how the clinic's files write treatment dates (ISO 8601 is always accepted)."""
    value: str | None = None if date_format.lower() == "none" else date_format
    if value is not None:
        problem = date_format_problem(value)
        if problem:
            raise fail(problem)
        value = value.upper() if "%" not in value else value
    with open_database(read_settings()) as db:
        try:
            enrollment_store(db).set_date_format(slug, value)
        except NotFoundError as exc:
            raise fail(str(exc)) from None
    out.print(f"clinic [bold]{slug}[/bold]: date format {value or 'ISO 8601 only'}")


@clinic_app.command("set")
def clinic_set(
    slug: str,
    name: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option(help="The number patients are told to call.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA name, e.g. Europe/Madrid.")] = None,
    country: Annotated[
        str | None, typer.Option(help="Default country for local phone numbers.")
    ] = None,
    language: Annotated[str | None, typer.Option(help=LANGUAGE_HELP)] = None,
) -> None:
    """Change a clinic's name, phone, time zone, country or language.

    Checked like `clinic add`: a value that is refused changes nothing.
    """
    if all(value is None for value in (name, phone, timezone, country, language)):
        raise fail("nothing to change: give --name, --phone, --timezone, --country or --language")
    with open_database(read_settings()) as db:
        clinics = PatientRepository(db)
        try:
            current = clinics.clinic(slug)
            if phone is not None:
                # Typed by a person: also ask whether the number can be in service.
                phone = check_phone(phone, check_country(country or current.country))
            updated = clinics.update_clinic(
                slug, name=name, phone=phone, timezone=timezone, country=country, language=language
            )
        except ClinicFieldError as exc:
            raise fail(option_problem(exc)) from None
        except NotFoundError as exc:
            raise fail(str(exc)) from None
    out.print(
        f"clinic [bold]{escape(updated.slug)}[/bold]: {escape(updated.name)}, "
        f"{updated.phone}, {updated.timezone}, {updated.country}, {updated.language}",
        highlight=False,
    )


@clinic_app.command("add")
def clinic_add(
    slug: Annotated[str, typer.Argument(help="1 to 40 lower-case letters, digits or '-'.")],
    name: Annotated[str, typer.Option()],
    phone: Annotated[str, typer.Option(help="The number patients are told to call.")],
    timezone: Annotated[str, typer.Option(help="IANA name, e.g. America/New_York.")],
    country: Annotated[str, typer.Option(help="Default country for local phone numbers.")] = "US",
    language: Annotated[str, typer.Option(help=LANGUAGE_HELP)] = "en",
    date_format: Annotated[
        str | None, typer.Option(help="How its CSV files write dates: DMY, MDY, YMD or strftime.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_KEY_HELP)] = False,
) -> None:
    """Add a clinic and print its API key (shown once); name and phone fill the templates."""
    settings = read_settings()
    try:
        fields = check_clinic(slug, name, phone, timezone, country, language)
    except ClinicFieldError as exc:
        raise fail(option_problem(exc)) from None
    problem = clinic_settings_problem(country, date_format)
    if problem:
        raise fail(problem)
    key = new_api_key()
    with open_database(settings) as db:
        try:
            clinic = PatientRepository(db).add_clinic(
                fields.slug,
                fields.name,
                fields.phone,
                fields.timezone,
                fields.country,
                fields.language,
                hash_api_key(key),
            )
            if date_format:
                enrollment_store(db).set_date_format(slug, date_format)
        except (DuplicateError, ClinicFieldError) as exc:
            raise fail(str(exc)) from None
    if not as_json:
        out.print(f"clinic [bold]{clinic.slug}[/bold] added (id {clinic.id})")
    print_key(clinic.slug, key, as_json)


@key_app.command("rotate")
def key_rotate(
    slug: str,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_KEY_HELP)] = False,
) -> None:
    """Issue a new API key for a clinic; the old one stops working at once (audited)."""
    from aftercare.dashboard.accounts import COMMAND_LINE
    from scheduler.clock import SystemClock
    from storage.audit import AuditAction, AuditLog
    from storage.clinic_keys import replace_api_key

    key = new_api_key()
    with open_database(read_settings(as_json=as_json), as_json=as_json) as db:
        try:
            clinic_id = PatientRepository(db).clinic(slug).id
        except NotFoundError as exc:
            raise fail(str(exc), as_json=as_json) from None

        def audit(session: Session) -> None:
            # As the dashboard records it (the clinic by its slug, never the key), by whom.
            AuditLog.add(
                session,
                SystemClock().now(),
                clinic_id,
                None,
                AuditAction.API_KEY_ROTATE,
                "clinic",
                slug,
                actor=COMMAND_LINE.name,
            )

        replace_api_key(db, clinic_id, hash_api_key(key), audit)
    print_key(slug, key, as_json)


clinic_app.add_typer(key_app, name="key")
