"""An import job as the page and the progress script show it: words, counts, local times.
Pure: reads a job's state, never the database."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.import_jobs import ImportJob, Progress, RunReport
from aftercare.dashboard.strings import EN, text
from clinic.csv_rows import RowError, ValidRow
from clinic.outcomes import ImportResult, RowOutcome

ERRORS_SHOWN: Final = 100  # rejected rows listed on the page (the report has every one)
INVITES_SHOWN: Final = 100
REFRESH_SECONDS: Final = 2  # the page's own refresh when scripts do not run


def file_size(size: int) -> str:
    """2.5 MB, 40 kB, 900 bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size} bytes"


def progress_words(progress: Progress) -> str:
    if progress.step == "writing":
        return text("import.step.writing", done=f"{progress.done:,}", total=f"{progress.total:,}")
    return text(f"import.step.{progress.step}")


def progress_view(job: ImportJob) -> dict[str, Any]:
    """What import.js needs: how far the run is, in numbers and in words."""
    percent = int(job.progress.fraction * 100)
    return {
        "state": str(job.state),
        "finished": not job.running,
        "percent": percent,
        "text": progress_words(job.progress),
    }


def counts(result: ImportResult) -> dict[str, int]:
    return {
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "blank": result.blank_rows,
        # rows the importer leaves alone on purpose (appointments of another service)
        "skipped": int(getattr(result, "skipped", 0)),
    }


def error_row(error: RowError) -> dict[str, Any]:
    return {"row": error.row, "column": error.column or "", "reason": error.message}


STATUS_BADGES: Final = {"created": "state-delivered", "updated": "state-sent"}
CHANNEL_NAMES: Final = {"sms": "SMS", "telegram": "Telegram"}


def outcome_label(outcome: RowOutcome) -> str:
    """What the row does, as the report's action column says it (a new session, a
    correction, a cancellation), else its status."""
    key = f"import.action.{outcome.action.replace(' ', '_')}"
    return text(key) if outcome.action and key in EN else text(f"import.status.{outcome.status}")


def stored_row(outcome: RowOutcome, row: ValidRow) -> dict[str, Any]:
    zone = ZoneInfo(row.timezone)
    local = row.treated_at.astimezone(zone)
    return {
        "row": row.row,
        "status": outcome.status,
        "status_label": outcome_label(outcome),
        "status_class": STATUS_BADGES.get(outcome.status, "state-cancelled"),
        "channel_name": CHANNEL_NAMES.get(row.channel, row.channel),
        "external_id": row.external_id,
        "treatment": local_time(row.treated_at, zone),
        "treatment_iso": local.isoformat(timespec="minutes"),
        "zone_abbreviation": local.tzname() or "",
        "timezone": row.timezone,
        "first_name": row.first_name or "",
        "phone": row.phone or "",
        "language": row.language,
        "channel": row.channel,
    }


def _errors(result: ImportResult) -> tuple[list[dict[str, Any]], int]:
    listed = result.errors.listed()
    if result.errors.left_out:
        listed = listed[:-1]  # the "and N more" line: the page says it in its own words
    shown = [error_row(e) for e in listed[:ERRORS_SHOWN]]
    return shown, result.errors.total - len(shown)


def _run_view(run: RunReport) -> dict[str, Any]:
    errors, more_errors = _errors(run.result)
    return {
        "counts": counts(run.result),
        "warnings": [error_row(w) for w in run.result.warnings],
        "errors": errors,
        "more_errors": more_errors,
        "sample": [stored_row(outcome, row) for outcome, row in run.sample],
        "invites": [
            {"row": o.row, "external_id": o.external_id, "url": o.invite_url}
            for o in run.invites[:INVITES_SHOWN]
        ],
        "more_invites": max(0, run.invite_count - INVITES_SHOWN),
        "invites_enabled": run.result.invites_enabled,
        "telegram_created": run.result.telegram_created,
    }


def job_view(job: ImportJob, zone: tzinfo, ttl_minutes: int) -> dict[str, Any]:
    """The import_job.html context (see the template's header)."""
    base = f"/app/import/{job.token}"
    imported = job.imported
    return {
        "state": str(job.state),
        "running": job.running,
        "can_import": job.can_import,
        "token": job.token,
        "action_url": base,
        "discard_url": f"{base}/discard",
        "progress_url": f"{base}/progress",
        "check_report_url": f"{base}/check.csv" if job.check is not None else None,
        "report_url": f"{base}/report.csv" if imported is not None else None,
        "filename": job.filename,
        "size": file_size(job.size),
        "uploaded": local_time(job.created_at, zone),
        "progress": progress_view(job),
        "refresh_seconds": REFRESH_SECONDS,
        "ttl_minutes": ttl_minutes,
        "problem": job.problem,
        "header_cells": list(job.header),  # a header lacking a column: offer to name them
        "columns_url": f"/app/import/columns?token={job.token}",
        "crashed": job.crashed,
        "crashed_importing": job.crashed and job.check is not None,
        "check": _run_view(job.check) if job.check is not None else None,
        "imported": _run_view(imported) if imported is not None else None,
    }
