"""/app/settings/api-key (admins): make a new clinic API key, shown once. Only its hash
is stored (clinic.keys); the old key stops working at once, as with
`aftercare clinic key rotate`."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import SignedIn, require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.rendering import render
from clinic.keys import hash_api_key, new_api_key
from storage.audit import AuditAction
from storage.clinic_keys import has_api_key, replace_api_key

PATH = "/app/settings/api-key"


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    db = dashboard.db

    async def page(request: Request, staff: SignedIn, new_key: str | None = None) -> Response:
        present = await asyncio.to_thread(has_api_key, db, staff.clinic_id)
        return await render(
            request,
            "api_key.html",
            staff=staff,
            nav_active="settings",
            has_key=present,
            new_key=new_key,
        )

    async def show(request: Request) -> Response:
        return await page(request, await require_staff(request, "admin"))

    async def rotate(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        await staff.form(request)
        key = new_api_key()

        def audit(session: Session) -> None:
            staff.audit_in(session, AuditAction.API_KEY_ROTATE, "clinic", staff.clinic_slug)

        await asyncio.to_thread(replace_api_key, db, staff.clinic_id, hash_api_key(key), audit)
        return await page(request, staff, new_key=key)

    return [
        Route(PATH, show, methods=["GET"]),
        Route(PATH, rotate, methods=["POST"]),
    ]
