"""Twilio's own async HTTP client, pointed at TWILIO_API_BASE_URL.

twilio 9 has no base-URL setting; its documented extension point is the HTTP client passed
to `Client(http_client=...)`. This subclass rewrites the scheme and host of each request
(keeping path and query) and applies a default timeout, which the library's async client
otherwise leaves unbounded.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response

TWILIO_API_BASE_URL = "https://api.twilio.com"


def _basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


class RebasedTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Create it inside the running event loop (it opens an aiohttp session); close() it."""

    def __init__(self, base_url: str = TWILIO_API_BASE_URL, timeout: float = 10.0) -> None:
        base = urlsplit(base_url.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError(f"TWILIO_API_BASE_URL must be an http(s) URL, got {base_url!r}")
        super().__init__(timeout=timeout)
        self._base = base
        self._rebase = base_url.rstrip("/") != TWILIO_API_BASE_URL

    def rebase(self, url: str) -> str:
        """The same request on the configured host; Twilio's own URL when it is the default
        (so TWILIO_EDGE / TWILIO_REGION keep working)."""
        if not self._rebase:
            return url
        parts = urlsplit(url)
        path = self._base.path + parts.path
        return urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the library's signature)
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            # As a header: aiohttp deprecates its `auth` argument and BasicAuth.
            headers = {**(headers or {}), "Authorization": _basic(*auth)}
        response: Any = await super().request(
            method,
            self.rebase(url),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        return response
