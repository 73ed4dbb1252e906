"""`GET /metrics` (Prometheus text format) and the middleware that counts HTTP requests.

Requests are counted by route template (`/api/v1/patients/{external_id}`), never the raw
path, which would carry patients' ids and grow a series per URL; a request no route
matched counts as `unmatched`.

With METRICS_USERNAME and METRICS_PASSWORD set, `/metrics` asks for HTTP basic auth
(compared in constant time); without them it is open, for a scraper on a private network.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftercare.metrics import Metrics

UNMATCHED = "unmatched"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")  # {external_id:path} -> {external_id}


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route that served the request: a mount's prefix (as matched;
    ours have no parameters) followed by the route's own path."""
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    prefix = str(scope.get("root_path", ""))[len(root_path) :]
    if isinstance(route, Mount):
        return f"{prefix}/{{path}}"
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return _CONVERTER.sub(r"{\1}", f"{prefix}{path}")


class HttpMetrics:
    """ASGI middleware: one count per HTTP response, by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root_path = str(scope.get("root_path", ""))
        status = 500  # an exception before the response started is served as a 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            # The router filled in scope["route"] on its way down (the same dict).
            method = str(scope.get("method", "GET"))
            route = route_template(scope, root_path)
            self.metrics.http_requests.labels(method, route, str(status)).inc()


def metrics_route(metrics: Metrics, username: str | None, password: str | None) -> Route:
    async def serve(request: Request) -> Response:
        if username and password and not _authorised(request, username, password):
            return Response(
                "metrics need a username and password\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="metrics"'},
                media_type="text/plain",
            )
        # Off the event loop: the queue depth is read from the database while collecting.
        body = await asyncio.to_thread(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", serve, methods=["GET"])


def _authorised(request: Request, username: str, password: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, _, secret = given.partition(b":")
    # Both compared, whatever the first answer, so timing says nothing about which failed.
    user_ok = hmac.compare_digest(user, username.encode())
    secret_ok = hmac.compare_digest(secret, password.encode())
    return user_ok and secret_ok
