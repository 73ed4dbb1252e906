"""Who is asking: `require_staff` for every page, CSRF checks for every form, clinic scoping.

A page handler starts with

    staff = await require_staff(request)            # any signed-in staff member
    staff = await require_staff(request, "admin")   # admins only (others get 403)

which redirects to the sign-in page when there is no live session. Reading a POSTed form
goes through `await staff.form(request)`, which answers 403 unless the form carries the
session's CSRF token. A record of another clinic is answered as if it did not exist:
`staff.own(record_clinic_id)` raises a 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request

from aftercare.dashboard.accounts import Actor
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.sessions import SESSION_COOKIE, ExpiredSession
from aftercare.dashboard.signing import same
from bot.http_body import BodyTooLarge, MalformedForm, UnsupportedMediaType, read_urlencoded
from storage.audit import AuditAction, AuditLog
from storage.staff import SessionView, StaffAccount

CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
FORM_LIMIT: Final = 64 * 1024
PASSWORD_PAGE: Final = "/app/password"
# Where someone who signed in with a one-time password may go before choosing their own.
OPEN_BEFORE_PASSWORD_CHANGE: Final = frozenset({PASSWORD_PAGE, "/logout"})


class SignInRequired(Exception):
    """No live session: the dashboard answers with a redirect to /login."""

    def __init__(self, next_path: str | None, expired: bool) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path
        self.expired = expired


class PasswordChangeRequired(Exception):
    """Signed in with a one-time password: every page leads to the password form."""


class Form:
    """A url-encoded form's fields (the CSRF token already checked)."""

    def __init__(self, fields: Sequence[tuple[str, str]]) -> None:
        self._fields = list(fields)

    def get(self, name: str, default: str = "") -> str:
        for key, value in self._fields:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self._fields if key == name]

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self._fields)


def not_found() -> HTTPException:
    return HTTPException(404)


def client_address(request: Request) -> str:
    # uvicorn has put the address a trusted proxy forwarded here (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "unknown"


def dashboard_of(request: Request) -> Dashboard:
    dashboard = request.app.state.dashboard
    assert isinstance(dashboard, Dashboard)
    return dashboard


@dataclass(frozen=True)
class SignedIn:
    """The staff member behind a request, and what pages do on their behalf."""

    dashboard: Dashboard
    session: SessionView
    csrf_token: str
    address: str

    @property
    def staff(self) -> StaffAccount:
        return self.session.staff

    @property
    def staff_id(self) -> int:
        return self.session.staff.id

    @property
    def email(self) -> str:
        return self.session.staff.email

    @property
    def role(self) -> str:
        return self.session.staff.role

    @property
    def is_admin(self) -> bool:
        return self.session.staff.role == "admin"

    @property
    def clinic_id(self) -> int:
        return self.session.staff.clinic_id

    @property
    def clinic_name(self) -> str:
        return self.session.clinic_name

    @property
    def clinic_slug(self) -> str:
        return self.session.clinic_slug

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone: show every time in it."""
        return ZoneInfo(self.session.clinic_timezone)

    @property
    def actor(self) -> Actor:
        return Actor(self.staff_id, self.email, self.address)

    def own(self, clinic_id: int | None) -> None:
        """404 unless the record belongs to this staff member's clinic."""
        if clinic_id != self.clinic_id:
            raise not_found()

    def audit_in(
        self,
        session: Session,
        action: AuditAction,
        target_kind: str | None = None,
        target_id: str | int | None = None,
    ) -> None:
        """Record inside the caller's transaction (committed with the change)."""
        AuditLog.add(
            session,
            self.dashboard.clock.now(),
            self.clinic_id,
            self.staff_id,
            action,
            target_kind,
            target_id,
            actor=self.email,
            address=self.address,
        )

    async def audit(
        self,
        action: AuditAction,
        target_kind: str | None = None,
        target_id: str | int | None = None,
    ) -> None:
        """Record in a transaction of its own, off the event loop."""
        await asyncio.to_thread(
            self.dashboard.audit.record,
            self.dashboard.clock.now(),
            self.clinic_id,
            self.staff_id,
            action,
            target_kind,
            target_id,
            actor=self.email,
            address=self.address,
        )

    def check_csrf(self, token: str | None) -> None:
        """403 unless `token` is this session's CSRF token (for forms read elsewhere,
        e.g. a multipart upload; `form()` does this itself)."""
        if not token or not same(token, self.csrf_token):
            raise HTTPException(403, "csrf")

    async def form(self, request: Request, limit: int = FORM_LIMIT) -> Form:
        """The POSTed url-encoded form, after checking its CSRF token (403 without)."""
        try:
            fields = await read_urlencoded(request, limit)
        except BodyTooLarge:
            raise HTTPException(413) from None
        except UnsupportedMediaType:
            # Not a form, so no token in it: 403 like any POST without one.
            self.check_csrf(request.headers.get(CSRF_HEADER))
            raise HTTPException(415) from None
        except MalformedForm:
            raise HTTPException(400) from None
        form = Form(fields)
        self.check_csrf(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))
        return form


async def require_staff(
    request: Request, role: Literal["admin", "nurse"] | None = None
) -> SignedIn:
    """The signed-in staff member, or a redirect to sign in; `role="admin"` lets only
    admins through (403 for others). Nurses' pages need no role: admins may do all a
    nurse does."""
    dashboard = dashboard_of(request)
    current = await asyncio.to_thread(
        dashboard.sessions.current, request.cookies.get(SESSION_COOKIE)
    )
    if current is None or isinstance(current, ExpiredSession):
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(
            back if request.method == "GET" else None, isinstance(current, ExpiredSession)
        )
    signed_in = SignedIn(dashboard, current.view, current.csrf_token, client_address(request))
    request.state.signed_in = signed_in  # for error pages drawn inside the frame
    if signed_in.staff.must_change_password and request.url.path not in OPEN_BEFORE_PASSWORD_CHANGE:
        raise PasswordChangeRequired()
    if role == "admin" and not signed_in.is_admin:
        raise HTTPException(403)
    return signed_in
