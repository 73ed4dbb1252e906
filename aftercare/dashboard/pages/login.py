"""GET/POST /login and POST /logout."""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import (
    CSRF_FIELD,
    Form,
    client_address,
    require_staff,
)
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.rendering import NoticeKind, render
from aftercare.dashboard.sessions import (
    DEVICE_COOKIE,
    DEVICE_LIFETIME,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    LiveSession,
    Sessions,
)
from aftercare.dashboard.strings import text
from bot.http_body import BodyTooLarge, MalformedForm, UnsupportedMediaType, read_urlencoded
from storage.audit import AuditAction

# Anyone may post here, so the body is capped well below the signed-in forms' limit.
LOGIN_FORM_LIMIT: Final = 8 * 1024
LOGIN_TOKEN_LIFETIME: Final = 12 * 3600
HOME: Final = "/app"


def safe_next(value: str | None) -> str:
    """Only a path of this dashboard: never another host (//evil, /\\evil, https://...)."""
    if not value or len(value) > 1000:
        return HOME
    if value != HOME and not value.startswith(HOME + "/") and not value.startswith(HOME + "?"):
        return HOME
    if "\\" in value or any(ord(char) < 32 for char in value):
        return HOME
    return value


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    secure = dashboard.secure_cookies

    async def login_page(
        request: Request,
        *,
        status: int = 200,
        error: str = "",
        email: str = "",
        next_path: str = "",
        notices: list[tuple[NoticeKind, str]] | None = None,
    ) -> Response:
        token = request.cookies.get(LOGIN_COOKIE) or ""
        if not (20 <= len(token) <= 64 and token.isascii()):
            token = Sessions.new_login_token()
        response = await render(
            request,
            "login.html",
            status=status,
            csrf_token=token,
            error=error,
            email=email,
            next=next_path,
            notices=notices or [],
        )
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=LOGIN_TOKEN_LIFETIME,
            path="/login",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
        return response

    async def show(request: Request) -> Response:
        current = await asyncio.to_thread(
            dashboard.sessions.current, request.cookies.get(SESSION_COOKIE)
        )
        next_path = safe_next(request.query_params.get("next"))
        if isinstance(current, LiveSession):
            return RedirectResponse(next_path, status_code=303)
        notices: list[tuple[NoticeKind, str]] = []
        if request.query_params.get("signed_out"):
            notices.append(("success", text("login.signed_out")))
        elif request.query_params.get("expired"):
            notices.append(("info", text("login.expired")))
        return await login_page(
            request,
            next_path=next_path if next_path != HOME else "",
            notices=notices,
        )

    async def submit(request: Request) -> Response:
        try:
            form = Form(await read_urlencoded(request, LOGIN_FORM_LIMIT, max_fields=10))
        except BodyTooLarge:
            raise HTTPException(413) from None
        except UnsupportedMediaType:
            raise HTTPException(403, "csrf") from None  # not a form, so no token either
        except MalformedForm:
            raise HTTPException(400) from None
        if not Sessions.login_token_matches(
            request.cookies.get(LOGIN_COOKIE), form.get(CSRF_FIELD)
        ):
            raise HTTPException(403, "csrf")
        email = form.get("email")[:300]
        next_path = safe_next(form.get("next"))
        result = await asyncio.to_thread(
            dashboard.sign_in.attempt,
            email,
            form.get("password"),
            client_address(request),
            request.cookies.get(DEVICE_COOKIE),
        )
        if result.outcome != "signed_in":
            throttled = result.outcome == "throttled"
            # 200, not 401 or 429: the form is simply shown again, and a browser would
            # log an error status as a console error on every mistyped password.
            return await login_page(
                request,
                error=text("login.throttled" if throttled else "login.failed"),
                email=email,
                next_path=next_path if next_path != HOME else "",
            )
        assert result.session_cookie is not None and result.device_cookie is not None
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            result.session_cookie,
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
        response.set_cookie(
            DEVICE_COOKIE,
            result.device_cookie,
            max_age=int(DEVICE_LIFETIME.total_seconds()),
            path="/login",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
        response.delete_cookie(
            LOGIN_COOKIE, path="/login", secure=secure, httponly=True, samesite="lax"
        )
        return response

    async def logout(request: Request) -> Response:
        staff = await require_staff(request)
        await staff.form(request)  # the CSRF check
        await staff.audit(AuditAction.SIGN_OUT)
        await asyncio.to_thread(dashboard.sessions.end, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login?signed_out=1", status_code=303)
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax"
        )
        return response

    return [
        Route("/login", show, methods=["GET"]),
        Route("/login", submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
