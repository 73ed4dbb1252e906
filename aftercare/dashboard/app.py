"""The dashboard as one Starlette app, and the routes that hand it its URLs.

Each page lives in its own module under aftercare/dashboard/pages/ and exposes

    def routes(dashboard: Dashboard) -> list[BaseRoute]

with full paths (/app/...). Every module in that package is collected, in name order,
so adding a page is adding a file. The app owns /login, /logout and /app/*; its
exception handlers turn "not signed in" into a redirect and errors into pages.
"""

from __future__ import annotations

import importlib
import pkgutil
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from aftercare.dashboard import pages
from aftercare.dashboard.auth import PASSWORD_PAGE, PasswordChangeRequired, SignInRequired
from aftercare.dashboard.context import Dashboard, build_dashboard
from aftercare.dashboard.passwords import Passwords
from aftercare.dashboard.rendering import SecurityHeaders, render
from aftercare.dashboard.strings import text
from aftercare.dashboard.templating import PACKAGE, STATIC_PREFIX
from aftercare.wiring import Runtime


def page_routes(dashboard: Dashboard) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for module_info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pages.__name__}.{module_info.name}")
        routes.extend(module.routes(dashboard))
    return routes


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    query: dict[str, str] = {}
    if exc.next_path:
        query["next"] = exc.next_path
    if exc.expired:
        query["expired"] = "1"
    target = "/login" + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(target, status_code=303)


async def _change_password_first(_request: Request, _exc: Exception) -> Response:
    return RedirectResponse(PASSWORD_PAGE, status_code=303)


ERRORS = {
    400: "error.bad_request",
    403: "error.forbidden",
    404: "error.not_found",
    405: "error.bad_request",
    413: "error.too_large",
    415: "error.bad_request",
}


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    key = "error.csrf" if exc.detail == "csrf" else ERRORS.get(exc.status_code, "error.other")
    return await render(
        request,
        "error.html",
        staff=getattr(request.state, "signed_in", None),
        status=exc.status_code,
        title=text(key + ".title"),
        message=text(key + ".text"),
        headers=exc.headers,
    )


def build_dashboard_app(dashboard: Dashboard) -> Starlette:
    routes = [
        *page_routes(dashboard),
        Mount(STATIC_PREFIX, StaticFiles(packages=[(PACKAGE, "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            SignInRequired: _sign_in_first,
            PasswordChangeRequired: _change_password_first,
            HTTPException: _error_page,
        },
    )
    app.state.dashboard = dashboard
    return app


def forwarding_routes(app: Starlette) -> list[BaseRoute]:
    """Routes for the service's own app that pass the dashboard's URLs to it unchanged."""
    return [
        Route("/login", app, name="dashboard-login"),
        Route("/logout", app, name="dashboard-logout"),
        Route("/app", app, name="dashboard-home"),
        Route("/app/{dashboard_path:path}", app, name="dashboard"),
    ]


def dashboard_routes(runtime: Runtime, passwords: Passwords | None = None) -> list[BaseRoute]:
    return forwarding_routes(build_dashboard_app(build_dashboard(runtime, passwords)))
