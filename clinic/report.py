"""The per-row report a clinic opens in a spreadsheet, and the summary printed by the CLI."""

from __future__ import annotations

import csv
from typing import TextIO

from clinic.csv_rows import escape_formula
from clinic.outcomes import ImportResult, RowOutcome

REPORT_COLUMNS = ("row", "external_id", "status", "action", "errors", "invite_url")
_DRY_RUN_STATUS = {"created": "would create", "updated": "would update"}


class ReportWriter:
    """One line per input row with data, in file order (blank rows are skipped). Cells a
    spreadsheet would run as a formula (=, +, -, @) are escaped, since external ids and
    messages echo what the file held."""

    def __init__(self, stream: TextIO, *, dry_run: bool) -> None:
        self._writer = csv.writer(stream)
        self._writer.writerow(REPORT_COLUMNS)
        self._dry_run = dry_run

    def __call__(self, outcome: RowOutcome) -> None:
        status = outcome.status
        if self._dry_run:
            status = _DRY_RUN_STATUS.get(status, status)
        said = outcome.errors if outcome.reason is None else [*outcome.errors, outcome.reason]
        errors = "; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in said)
        cells = (
            str(outcome.row),
            outcome.external_id,
            status,
            outcome.action,
            errors,
            outcome.invite_url or "",
        )
        self._writer.writerow([escape_formula(cell) for cell in cells])


def summary_lines(result: ImportResult, *, shown_errors: int = 20) -> list[str]:
    verb = "would be " if result.dry_run else ""
    lines = [
        f"{result.rows} rows: {result.created} {verb}created, {result.updated} {verb}updated, "
        f"{result.unchanged} unchanged, {result.rejected} rejected"
        + (f", {result.skipped} skipped" if result.skipped else "")
        + (f", {result.blank_rows} blank rows skipped" if result.blank_rows else "")
        + (" (dry run: nothing was written)" if result.dry_run else "")
    ]
    # What happened to existing patients' treatments; the line above has the rest.
    sessions = {
        a: n
        for a, n in result.actions.items()
        if n and a not in ("created", "unchanged", "skipped")
    }
    if sessions:
        lines.append("treatments: " + ", ".join(f"{n} {a}" for a, n in sessions.items()))
    for warning in result.warnings:
        column = f", column {warning.column!r}" if warning.column is not None else ""
        lines.append(f"header{column}: {warning.message}")
    errors = result.errors.listed()
    for error in errors[:shown_errors]:
        where = f"row {error.row}" + (f", {error.column}" if error.column else "")
        lines.append(f"{where}: {error.message}")
    if result.errors.total > shown_errors:
        lines.append(f"... and {result.errors.total - shown_errors} more (see --report)")
    skips = result.skips.listed()
    for skip in skips[:shown_errors]:
        where = f"row {skip.row} skipped" + (f", {skip.column}" if skip.column else "")
        lines.append(f"{where}: {skip.message}")
    if result.skips.total > shown_errors:
        lines.append(f"... and {result.skips.total - shown_errors} more skipped (see --report)")
    if not result.invites_enabled and not result.dry_run and result.telegram_created:
        lines.append(
            f"no Telegram invite links were made for the {result.telegram_created} new "
            "patient(s) on Telegram: set TELEGRAM_BOT_USERNAME to have them"
        )
    return lines
