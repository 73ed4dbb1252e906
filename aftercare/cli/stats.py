"""`aftercare stats`: the counters /metrics has, for the last day, read from the database."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from aftercare.cli.common import open_database, out, read_settings

if TYPE_CHECKING:
    from storage.activity import Activity


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list (not empty)."""
    rank = max(math.ceil(share * len(ordered)), 1)
    return ordered[rank - 1]


def stats(
    hours: Annotated[float, typer.Option(help="How far back to count.", min=0.1)] = 24.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The counters /metrics has, for the last day, read from the database."""
    # Imported here, like the other commands' storage: `aftercare --help` stays quick.
    from storage.activity import activity

    with open_database(read_settings()) as db:
        found = activity(db, datetime.now(UTC), timedelta(hours=hours))
    if as_json:
        typer.echo(json.dumps(as_document(found), indent=2))
    else:
        show(found)


def lateness_summary(found: Activity) -> dict[str, float | int]:
    seconds = found.lateness_seconds
    if not seconds:
        return {"sent": 0}
    summary: dict[str, float | int] = {"sent": len(seconds)}
    for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        summary[name] = round(percentile(seconds, share), 3)
    summary["max"] = round(seconds[-1], 3)
    return summary


def as_document(found: Activity) -> dict[str, object]:
    return {
        "since": found.since.isoformat(timespec="seconds"),
        "until": found.until.isoformat(timespec="seconds"),
        "reminders": [
            {"channel": c, "milestone": m, "outcome": o, "count": n}
            for (c, m, o), n in sorted(found.reminders.items())
        ],
        "lateness_seconds": lateness_summary(found),
        "provider_errors": [
            {"channel": c, "code": code, "count": n}
            for (c, code), n in sorted(found.provider_errors.items())
        ],
        "inbound_messages": dict(sorted(found.inbound.items())),
        "escalations": dict(sorted(found.escalations.items())),
        "queue": {c: {"due": due, "pending": total} for c, (due, total) in found.queue.items()},
    }


def show(found: Activity) -> None:
    from storage.activity import COUNTED

    out.print(f"From {found.since:%Y-%m-%d %H:%M} to {found.until:%Y-%m-%d %H:%M} UTC")
    outcomes = [status.value for status in COUNTED]
    table = Table("channel", "milestone", *outcomes, title="reminders settled")
    pairs = sorted({(c, m) for c, m, _ in found.reminders})
    for channel, milestone in pairs:
        counts = [str(found.reminders.get((channel, milestone, o), 0)) for o in outcomes]
        table.add_row(channel, milestone, *counts)
    out.print(table if pairs else "reminders settled: none")
    late = lateness_summary(found)
    out.print(
        "dispatch lateness: "
        + ", ".join(f"{k} {v}{' s' if k != 'sent' else ''}" for k, v in late.items())
    )
    out.print(
        _line("provider errors", {f"{c} {k}": n for (c, k), n in found.provider_errors.items()})
    )
    out.print(_line("inbound messages", dict(found.inbound)))
    out.print(_line("escalations", dict(found.escalations)))
    queue = {c: f"{due} due, {total} pending" for c, (due, total) in found.queue.items()}
    out.print("queue now: " + "; ".join(f"{c} {v}" for c, v in sorted(queue.items())))
    out.print("HTTP requests are counted only in memory: see /metrics")


def _line(title: str, counts: dict[str, int]) -> str:
    if not counts:
        return f"{title}: none"
    return f"{title}: " + ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
