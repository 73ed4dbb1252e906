"""/app/protocol (all staff, read only): the aftercare protocol the clinic's new patients
get, as `aftercare clinic protocol SLUG --show`, `aftercare clinic day-before` and
`aftercare clinic days-ahead` set it: the version, the booking services mapped to a
protocol of their own, the day-before reminder, and each protocol's steps."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.protocol_view import ProtocolPage, protocol_page
from aftercare.dashboard.rendering import render
from scheduler.planning import MAX_AHEAD
from storage.clinic_protocols import ClinicProtocols
from storage.enrollment import EnrollmentStore

PATH = "/app/protocol"


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    catalog = dashboard.core.protocols
    versions = ClinicProtocols(dashboard.db)
    clinics = EnrollmentStore(dashboard.db)

    def read(slug: str, zone: ZoneInfo) -> ProtocolPage:
        """Blocking: the clinic's settings, then each active version's protocol (parsed
        once by the catalog and kept)."""
        active = versions.active(slug)
        profile = clinics.profile(slug)
        in_use = [active.default, *active.services.values()]
        return protocol_page(
            active,
            {v.key: catalog[v.key] for v in in_use if v is not None},
            catalog.built_in,
            zone,
            day_before=profile.day_before,
            days_ahead=profile.days_ahead if profile.days_ahead is not None else MAX_AHEAD.days,
        )

    async def show(request: Request) -> Response:
        staff = await require_staff(request)
        page = await asyncio.to_thread(read, staff.clinic_slug, staff.zone)
        return await render(request, "protocol.html", staff=staff, nav_active="protocol", page=page)

    return [Route(PATH, show, methods=["GET"])]
