"""/app: the dashboard's home, the escalation inbox. Open escalations of the clinic, most
urgent first (emergencies, red flags, then low-priority concerns), newest first within
each, with who wrote, on which channel, how long ago and what they said."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.escalation_rows import inbox_row
from aftercare.dashboard.notices import notices_from
from aftercare.dashboard.rendering import render
from storage.escalations import INBOX_LIMIT, EscalationRepository


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    escalations = EscalationRepository(dashboard.db)

    async def home(request: Request) -> Response:
        staff = await require_staff(request)
        items = await asyncio.to_thread(escalations.inbox, staff.clinic_id, INBOX_LIMIT)
        now = dashboard.clock.now()
        total = len(items)
        if total >= INBOX_LIMIT:
            total = await asyncio.to_thread(dashboard.open_count, staff.clinic_id)
        return await render(
            request,
            "home.html",
            staff=staff,
            nav_active="inbox",
            notices=notices_from(request),
            rows=[inbox_row(item, now, staff.zone) for item in items],
            total=total,
        )

    return [Route("/app", home, methods=["GET"])]
