"""/app: the dashboard's home. A placeholder until the escalation inbox takes its place."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.notices import notices_from
from aftercare.dashboard.rendering import render


def routes(_dashboard: Dashboard) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        staff = await require_staff(request)
        return await render(
            request, "home.html", staff=staff, nav_active="inbox", notices=notices_from(request)
        )

    return [Route("/app", home, methods=["GET"])]
