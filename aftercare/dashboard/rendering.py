"""Turning a template into a response: the page frame's context and the security headers.

    return await render(request, "staff.html", staff=staff, nav_active="staff", rows=rows)

fills in what base.html needs for a signed-in page (the staff member, the clinic's
name, the open count, the CSRF token). Every response of the dashboard also passes
through `SecurityHeaders`, so even an error page or a redirect carries the headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftercare.dashboard.auth import SignedIn, dashboard_of
from aftercare.dashboard.templating import STATIC_PREFIX, security_headers

NoticeKind = Literal["info", "success", "error"]
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def render(
    request: Request,
    template: str,
    *,
    staff: SignedIn | None = None,
    status: int = 200,
    nav_active: str = "",
    notices: Iterable[tuple[NoticeKind, str]] = (),
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    dashboard = dashboard_of(request)
    values: dict[str, Any] = {**context, "notices": list(notices)}
    if staff is not None:
        open_count = await asyncio.to_thread(dashboard.open_count, staff.clinic_id)
        values.update(
            staff=staff.staff,
            clinic_name=staff.clinic_name,
            open_count=open_count,
            csrf_token=staff.csrf_token,
            nav_active=nav_active,
        )
    html = dashboard.env.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=headers)


class SecurityHeaders:
    """Adds the dashboard's security headers to every response that lacks them; nothing
    but static files may be cached. Refuses a state-changing request that the browser
    says came from another site (a second line behind the CSRF tokens)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX + "/")
        extra = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in security_headers(private=not static).items()
        ]
        if scope["method"] in UNSAFE_METHODS and _cross_site(scope):
            response = HTMLResponse("Forbidden", status_code=403)
            await response(scope, receive, self._with_headers(send, extra))
            return
        await self.app(scope, receive, self._with_headers(send, extra))

    @staticmethod
    def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        return sending


def _cross_site(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"sec-fetch-site":
            return bytes(value) == b"cross-site"
    return False
