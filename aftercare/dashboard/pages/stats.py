"""/app/stats: a clinic's delivery statistics for a chosen period (by default the last 8
weeks, by week) as charts and a table of every number; /app/stats.csv exports them.
Nurses and admins alike: the figures are counts, no patient is named."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import SignedIn, require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.rendering import NoticeKind, render
from aftercare.dashboard.stats_period import Grouping, Period, preset_start, read_period
from aftercare.dashboard.stats_view import charts, csv_lines, summaries, table
from aftercare.dashboard.strings import text
from storage.stats import ClinicStats, StatsStore

PRESETS: tuple[tuple[Grouping, int], ...] = (("week", 4), ("week", 8), ("week", 26), ("day", 30))


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    store = StatsStore(dashboard.db)

    def period_of(request: Request, staff: SignedIn) -> Period:
        today = dashboard.clock.now().astimezone(staff.zone).date()
        return read_period(request.query_params, today, staff.zone)

    async def counted(staff: SignedIn, period: Period) -> ClinicStats:
        return await asyncio.to_thread(store.clinic_stats, staff.clinic_id, period.bounds)

    async def show(request: Request) -> Response:
        staff = await require_staff(request)
        period = period_of(request, staff)
        stats = await counted(staff, period)
        columns, groups = table(stats, period)
        notices: list[tuple[NoticeKind, str]] = [
            ("error" if key == "stats.bad_date" else "info", text(key, **values))
            for key, values in period.problems
        ]
        today = dashboard.clock.now().astimezone(staff.zone).date()
        presets = [
            (
                text(f"stats.preset.{by}", n=n),
                "/app/stats?"
                + urlencode({"by": by, "from": preset_start(today, by, n).isoformat()}),
            )
            for by, n in PRESETS
        ]
        return await render(
            request,
            "stats.html",
            staff=staff,
            nav_active="stats",
            notices=notices,
            zone_name=staff.zone.key.replace("_", " "),
            chosen=period.as_params(),
            presets=presets,
            summaries=summaries(stats),
            charts=charts(stats, period),
            columns=columns,
            groups=groups,
            replies_recorded=stats.replies_recorded,
            export_url="/app/stats.csv?" + urlencode(period.as_params()),
        )

    async def export(request: Request) -> Response:
        staff = await require_staff(request)
        period = period_of(request, staff)
        stats = await counted(staff, period)
        name = f"stats-{staff.clinic_slug}-{period.first}-{period.last}.csv"
        return StreamingResponse(
            csv_lines(stats, period),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return [
        Route("/app/stats", show, methods=["GET"]),
        Route("/app/stats.csv", export, methods=["GET"]),
    ]
