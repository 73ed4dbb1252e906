"""`aftercare enroll FILE --clinic SLUG`: a clinic's patients from a CSV file."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from aftercare.cli.common import err, fail, open_database, out, read_protocol, read_settings
from aftercare.settings import Settings
from scheduler.clock import SystemClock
from storage.patients import NotFoundError

EXIT_OK, EXIT_UNREADABLE, EXIT_SOME_REJECTED = 0, 1, 2
PROGRESS_FROM_BYTES = 512 * 1024  # small files finish before a bar would be seen


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
    # The composition root pulls in the web stack, the importer its parts: loaded only here.
    from aftercare.wiring import build_planner, invite_links
    from clinic.importer import Importer
    from clinic.reader import FileProblem
    from clinic.report import ReportWriter, summary_lines
    from storage.enrollment import EnrollmentStore

    settings = _with_bot_username(read_settings(as_json=as_json), as_json)
    with open_database(settings, as_json=as_json) as db:
        store = EnrollmentStore(db)
        protocol = read_protocol(settings, as_json=as_json)
        planner = build_planner(db, protocol, settings, SystemClock())
        try:
            profile = store.profile(clinic)
        except NotFoundError as exc:
            raise fail(str(exc), as_json=as_json) from None
        importer = Importer(
            store,
            planner,
            invite_ttl=timedelta(hours=settings.invite_ttl_hours),
            invite_link=invite_links(settings.telegram_bot_username),
        )
        with ExitStack() as stack:
            try:
                stream = (
                    sys.stdin.buffer if str(file) == "-" else stack.enter_context(file.open("rb"))
                )
            except OSError as exc:
                raise fail(f"cannot open {file}: {exc.strerror}", as_json=as_json) from None
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
                raise fail(f"{file}: {exc}", as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        for line in summary_lines(result):
            out.print(line, highlight=False, markup=False)
        if report is not None:
            out.print(f"report written to {report}", highlight=False)
    raise typer.Exit(EXIT_SOME_REJECTED if result.rejected else EXIT_OK)


def _with_bot_username(settings: Settings, as_json: bool) -> Settings:
    """With a token but no TELEGRAM_BOT_USERNAME, the bot's username is asked of Telegram."""
    from aftercare.preflight import StartupError, with_bot_username  # an HTTP client: lazily

    try:
        return with_bot_username(settings)
    except StartupError as exc:
        message = f"{exc} (or set TELEGRAM_BOT_USERNAME to make invite links without asking)"
        raise fail(message, as_json=as_json) from None


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
