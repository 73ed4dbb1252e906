"""/app/password: staff choose their own password (required after a one-time one)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.accounts import AccountProblem
from aftercare.dashboard.auth import PASSWORD_PAGE, SignedIn, require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.notices import with_notice
from aftercare.dashboard.passwords import MIN_LENGTH
from aftercare.dashboard.rendering import render
from aftercare.dashboard.strings import text


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    async def page(request: Request, staff: SignedIn, error: str = "") -> Response:
        return await render(
            request,
            "password.html",
            staff=staff,
            status=400 if error else 200,
            nav_active="password",
            first_time=staff.staff.must_change_password,
            min_length=MIN_LENGTH,
            error=error,
        )

    async def show(request: Request) -> Response:
        return await page(request, await require_staff(request))

    async def change(request: Request) -> Response:
        staff = await require_staff(request)
        form = await staff.form(request)
        new = form.get("new")
        if new != form.get("repeat"):
            return await page(request, staff, text("password.mismatch"))
        try:
            await asyncio.to_thread(
                dashboard.accounts.change_own_password,
                staff.staff,
                staff.session.session_id,
                form.get("current"),
                new,
                staff.actor,
            )
        except AccountProblem as exc:
            return await page(request, staff, exc.sentence)
        return RedirectResponse(with_notice("/app", "password.changed"), status_code=303)

    return [
        Route(PASSWORD_PAGE, show, methods=["GET"]),
        Route(PASSWORD_PAGE, change, methods=["POST"]),
    ]
