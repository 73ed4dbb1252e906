"""/app/audit (admins): the clinic's audit trail with filters (who, action, date range),
newest first, 50 at a time; /app/audit.csv exports what the filters select, every cell
formula-escaped so a spreadsheet shows it as text."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.audit_rows import action_choices, audit_row
from aftercare.dashboard.auth import require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.rendering import NoticeKind, render
from aftercare.dashboard.strings import text
from clinic.csv_rows import escape_formula
from storage.audit import AuditAction, AuditEntry, AuditQuery

PAGE_SIZE = 50
CSV_COLUMNS = ("time", "time_utc", "who", "action", "record_kind", "record_id", "address")


@dataclass(frozen=True)
class Filters:
    """The filters as typed (to refill the form) and as a query."""

    who: str
    action: str
    since: str
    until: str
    query: AuditQuery
    problems: list[str]

    def as_params(self) -> dict[str, str]:
        chosen = {"who": self.who, "action": self.action, "from": self.since, "to": self.until}
        return {name: value for name, value in chosen.items() if value}


def _day(value: str, field: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(text("audit.bad_date", field=field, value=value[:40]))
        return None


def read_filters(request: Request, zone: ZoneInfo) -> Filters:
    params = request.query_params
    problems: list[str] = []
    who = params.get("who", "")[:254]
    action = params.get("action", "")
    if action not in {a.value for a in AuditAction}:
        action = ""
    since_text, until_text = params.get("from", "")[:40], params.get("to", "")[:40]
    since = _day(since_text, text("audit.from"), problems)
    until = _day(until_text, text("audit.to"), problems)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(0), zone)

    query = AuditQuery(
        actor=who or None,
        action=action or None,
        since=start_of(since) if since else None,
        until=start_of(until + timedelta(days=1)) if until else None,  # "to" is inclusive
    )
    return Filters(
        who,
        action,
        since_text if since else "",
        until_text if until else "",
        query,
        problems,
    )


def csv_lines(entries: Iterator[AuditEntry], zone: ZoneInfo) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([escape_formula(cell) for cell in cells])
        return buffer.getvalue()

    yield line(list(CSV_COLUMNS))
    for entry in entries:
        yield line(
            [
                entry.at.astimezone(zone).isoformat(timespec="seconds"),
                entry.at.isoformat(timespec="seconds"),
                entry.actor or "",
                entry.action,
                entry.target_kind or "",
                entry.target_id or "",
                entry.address or "",
            ]
        )


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    audit = dashboard.audit

    async def show(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        filters = read_filters(request, staff.zone)
        before_text = request.query_params.get("before", "")
        before = int(before_text) if before_text.isdigit() and len(before_text) < 12 else None
        entries, actors = await asyncio.gather(
            asyncio.to_thread(audit.entries, staff.clinic_id, filters.query, PAGE_SIZE + 1, before),
            asyncio.to_thread(audit.actors, staff.clinic_id),
        )
        shown = entries[:PAGE_SIZE]
        params = filters.as_params()
        older = None
        if len(entries) > PAGE_SIZE:
            older = "/app/audit?" + urlencode({**params, "before": str(shown[-1].id)})
        newest = None
        if before is not None:
            newest = "/app/audit" + (f"?{urlencode(params)}" if params else "")
        notices: list[tuple[NoticeKind, str]] = [("error", p) for p in filters.problems]
        return await render(
            request,
            "audit.html",
            staff=staff,
            nav_active="audit",
            notices=notices,
            zone_name=staff.zone.key.replace("_", " "),
            actors=actors,
            actions=action_choices(),
            chosen={
                "who": filters.who,
                "action": filters.action,
                "from": filters.since,
                "to": filters.until,
            },
            rows=[audit_row(entry, staff.zone) for entry in shown],
            export_url="/app/audit.csv" + (f"?{urlencode(params)}" if params else ""),
            older_url=older,
            newest_url=newest,
        )

    async def export(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        filters = read_filters(request, staff.zone)
        await staff.audit(AuditAction.AUDIT_EXPORT)
        today = dashboard.clock.now().astimezone(staff.zone).date().isoformat()
        name = f"audit-{staff.clinic_slug}-{today}.csv"
        return StreamingResponse(
            csv_lines(audit.all_entries(staff.clinic_id, filters.query), staff.zone),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return [
        Route("/app/audit", show, methods=["GET"]),
        Route("/app/audit.csv", export, methods=["GET"]),
    ]
