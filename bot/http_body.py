"""Reading request bodies with a hard size cap, for routes anyone on the internet can call.

Starlette has no body-size limit of its own: `request.body()` and `request.form()` read
(or spool to disk) whatever the client sends. These helpers stop at the cap while the
bytes stream in, whether or not the client sent a Content-Length, so an unauthenticated
caller can never make the server hold more than `limit` bytes of its body.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

URLENCODED = "application/x-www-form-urlencoded"


class BodyTooLarge(Exception):
    """The body is over the route's cap; answer 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit


class UnsupportedMediaType(Exception):
    """The body is not of the type the route accepts; answer 415."""


class MalformedForm(Exception):
    """The body is not a well-formed url-encoded form; answer 400."""


def declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or `BodyTooLarge` as soon as it passes `limit` bytes."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)  # refuse before reading a byte
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_urlencoded(
    request: Request, limit: int, max_fields: int = 100
) -> list[tuple[str, str]]:
    """A url-encoded form's fields in order; only that content type is accepted.

    Multipart is refused outright, since parsing it spools files to disk.
    """
    if media_type(request) != URLENCODED:
        raise UnsupportedMediaType(f"expected {URLENCODED}")
    body = await read_body(request, limit)
    try:
        text = body.decode("utf-8")
        return parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=max_fields
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedForm(str(exc)) from None
