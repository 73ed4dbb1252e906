"""CLI commands for clinics: keys, listing, date format, and `aftercare enroll`."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from aftercare.settings import ConfigError, Settings, load_settings
from storage.clinic_fields import ClinicFieldError

if TYPE_CHECKING:
    from aftercare.wiring import Core

key_app = typer.Typer(help="Clinic API keys.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)

EXIT_OK, EXIT_UNREADABLE, EXIT_SOME_REJECTED = 0, 1, 2
PROGRESS_FROM_BYTES = 512 * 1024  # small files finish before a bar would be seen


def _fail(message: str, as_json: bool = False) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_UNREADABLE)


def _settings(as_json: bool = False) -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise _fail(str(exc), as_json) from None


def _core(settings: Settings, as_json: bool = False) -> Core:
    """The service's parts on a database that exists and is migrated (never made here)."""
    from aftercare.wiring import build_core
    from storage.readiness import DatabaseNotReady, require_migrated

    try:
        require_migrated(settings.database_url)
    except DatabaseNotReady as exc:
        raise _fail(str(exc), as_json) from None
    return build_core(settings)


def _with_bot_username(settings: Settings, as_json: bool) -> Settings:
    """With a token but no TELEGRAM_BOT_USERNAME, the bot's username is asked of Telegram."""
    from bot.telegram.identity import BotIdentityError, bot_username

    if not settings.telegram_bot_token or settings.telegram_bot_username:
        return settings
    try:
        username = bot_username(settings.telegram_bot_token, settings.telegram_api_base_url)
    except BotIdentityError as exc:
        message = f"{exc} (or set TELEGRAM_BOT_USERNAME to make invite links without asking)"
        raise _fail(message, as_json) from None
    return settings.model_copy(update={"telegram_bot_username": username})


def issue_key(core: Core, slug: str) -> str:
    """A fresh key for the clinic; any previous key stops working."""
    from clinic.keys import hash_api_key, new_api_key
    from storage.enrollment import EnrollmentStore

    key = new_api_key()
    EnrollmentStore(core.db).set_key_hash(slug, hash_api_key(key))
    return key


def print_key(slug: str, key: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"slug": slug, "api_key": key}))
        return
    out.print(f"API key for [bold]{slug}[/bold] (shown once; only a hash is stored):")
    typer.echo(key)


@key_app.command("rotate")
def key_rotate(
    slug: str,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"slug", "api_key"}.')] = False,
) -> None:
    """Issue a new API key for a clinic; the old one stops working at once."""
    from storage.patients import NotFoundError

    core = _core(_settings(as_json), as_json)
    try:
        key = issue_key(core, slug)
    except NotFoundError as exc:
        raise _fail(str(exc), as_json) from None
    finally:
        core.close()
    print_key(slug, key, as_json)


def clinic_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List clinics with their settings and how many patients each has."""
    from storage.enrollment import EnrollmentStore

    core = _core(_settings(as_json), as_json)
    try:
        summaries = EnrollmentStore(core.db).summaries()
    finally:
        core.close()
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
        }
        for s in summaries
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("slug", "name", "time zone", "country", "lang", "date format", "patients", "key")
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
        )
    out.print(table)


def clinic_date_format(
    slug: str,
    date_format: Annotated[
        str, typer.Argument(help="DMY, MDY, YMD, a strftime pattern, or 'none' for ISO only.")
    ],
) -> None:
    """Set how the clinic's files write treatment dates (ISO 8601 is always accepted)."""
    from clinic.dates import date_format_problem
    from storage.enrollment import EnrollmentStore
    from storage.patients import NotFoundError

    value: str | None = None if date_format.lower() == "none" else date_format
    if value is not None:
        problem = date_format_problem(value)
        if problem:
            raise _fail(problem)
        value = value.upper() if "%" not in value else value
    core = _core(_settings())
    try:
        EnrollmentStore(core.db).set_date_format(slug, value)
    except NotFoundError as exc:
        raise _fail(str(exc)) from None
    finally:
        core.close()
    out.print(f"clinic [bold]{slug}[/bold]: date format {value or 'ISO 8601 only'}")


def option_problem(exc: ClinicFieldError) -> str:
    """The checker's reason, named the way the command line spells the value."""
    where = "slug" if exc.field == "slug" else f"--{exc.field}"
    return f"{where}: {exc.reason}"


def clinic_set(
    slug: str,
    name: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option(help="The number patients are told to call.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA name, e.g. Europe/Madrid.")] = None,
    country: Annotated[
        str | None, typer.Option(help="Default country for local phone numbers.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="en or es.")] = None,
) -> None:
    """Change a clinic's name, phone, time zone, country or language.

    Checked like `clinic add`: a value that is refused changes nothing.
    """
    from storage.clinic_fields import check_country, check_phone
    from storage.patients import NotFoundError

    if all(value is None for value in (name, phone, timezone, country, language)):
        raise _fail("nothing to change: give --name, --phone, --timezone, --country or --language")
    core = _core(_settings())
    try:
        current = core.patients.clinic(slug)
        if phone is not None:
            # Typed by a person: also ask whether the number can be in service.
            phone = check_phone(phone, check_country(country or current.country))
        updated = core.patients.update_clinic(
            slug, name=name, phone=phone, timezone=timezone, country=country, language=language
        )
    except ClinicFieldError as exc:
        raise _fail(option_problem(exc)) from None
    except NotFoundError as exc:
        raise _fail(str(exc)) from None
    finally:
        core.close()
    out.print(
        f"clinic [bold]{escape(updated.slug)}[/bold]: {escape(updated.name)}, "
        f"{updated.phone}, {updated.timezone}, {updated.country}, {updated.language}",
        highlight=False,
    )


def enroll(
    file: Annotated[Path, typer.Argument(help="The CSV file ('-' reads standard input).")],
    clinic: Annotated[str, typer.Option(help="Clinic slug.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report only.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write a CSV with one line per input row.")
    ] = None,
    reissue_invites: Annotated[
        bool,
        typer.Option(
            "--reissue-invites",
            help="New invite links for patients already enrolled but not yet on Telegram.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON object.")] = False,
) -> None:
    """Enroll a clinic's patients from a CSV file.

    Exit status: 0 every row imported, 2 some rows rejected (the valid ones are imported),
    1 nothing could be read.
    """
    from aftercare.wiring import invite_links
    from clinic.importer import Importer
    from clinic.reader import FileProblem
    from clinic.report import ReportWriter, summary_lines
    from storage.enrollment import EnrollmentStore
    from storage.patients import NotFoundError

    settings = _with_bot_username(_settings(as_json), as_json)
    core = _core(settings, as_json)
    try:
        store = EnrollmentStore(core.db)
        try:
            profile = store.profile(clinic)
        except NotFoundError as exc:
            raise _fail(str(exc), as_json) from None
        importer = Importer(
            store,
            core.planner,
            invite_ttl=timedelta(hours=settings.invite_ttl_hours),
            invite_link=invite_links(settings.telegram_bot_username),
        )
        with ExitStack() as stack:
            try:
                stream = (
                    sys.stdin.buffer if str(file) == "-" else stack.enter_context(file.open("rb"))
                )
            except OSError as exc:
                raise _fail(f"cannot open {file}: {exc.strerror}", as_json) from None
            size = 0 if str(file) == "-" else file.stat().st_size
            on_row = None
            if report is not None:
                report_stream = stack.enter_context(
                    report.open("w", encoding="utf-8-sig", newline="")
                )
                on_row = ReportWriter(report_stream, dry_run=dry_run)
            progress = None
            if size >= PROGRESS_FROM_BYTES and not as_json:
                progress = stack.enter_context(_ProgressBar())
            try:
                result = importer.run(
                    profile,
                    stream,
                    dry_run=dry_run,
                    reissue_invites=reissue_invites,
                    collect_patients=as_json,
                    on_row=on_row,
                    progress=progress,
                    total_bytes=size,
                )
            except FileProblem as exc:
                raise _fail(f"{file}: {exc}", as_json) from None
    finally:
        core.close()
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        for line in summary_lines(result):
            out.print(line, highlight=False, markup=False)
        if report is not None:
            out.print(f"report written to {report}", highlight=False)
    raise typer.Exit(EXIT_SOME_REJECTED if result.rejected else EXIT_OK)


class _ProgressBar:
    """Two bars on standard error: checking the file (bytes), then importing (rows)."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._progress.stop()

    def __call__(self, phase: str, done: int, total: int) -> None:
        task = self._tasks.get(phase)
        if task is None:
            label = "checking (bytes)" if phase == "checking" else "importing (rows)"
            task = self._tasks[phase] = self._progress.add_task(label, total=total or None)
        self._progress.update(task, completed=done, total=total or None)


def clinic_settings_problem(country: str, date_format: str | None) -> str | None:
    """Why `clinic add` options cannot be used, or None."""
    import phonenumbers

    from clinic.dates import date_format_problem

    if country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return f"--country must be a two-letter country code such as US or ES, got {country!r}"
    if date_format:
        return date_format_problem(date_format)
    return None
