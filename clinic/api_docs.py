"""`/api/docs`: the clinic API's OpenAPI document in Swagger UI, served from this service.

The viewer is vendored (clinic/static/vendor/swagger-ui, from the npm package) and started
by a script file of our own, so the page loads nothing from another host and its
Content-Security-Policy allows this origin only. The vendored stylesheet draws its icons
from `data:` URLs, which that policy refuses; it is served with each one moved to a file of
its own under /api/docs/assets/img/ (the vendored file itself stays as published).
`/docs` redirects here.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor" / "swagger-ui"
PAGE_PATH = "/api/docs"
ASSETS = {
    "swagger-ui-bundle.js": (VENDOR / "swagger-ui-bundle.js", "text/javascript"),
    "api-docs.js": (STATIC / "api-docs.js", "text/javascript"),
    "icon.svg": (STATIC / "api-docs-icon.svg", "image/svg+xml"),
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CACHED = {"Cache-Control": "public, max-age=3600"}
PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aftercare clinic API</title>
<link rel="icon" href="{PAGE_PATH}/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{PAGE_PATH}/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{PAGE_PATH}/assets/swagger-ui-bundle.js"></script>
<script src="{PAGE_PATH}/assets/api-docs.js"></script>
</body>
</html>
"""


_DATA_URL = re.compile(
    r'url\("data:(?P<qmime>[^;,"]+)(?P<qparams>(?:;[^;,"]+)*),(?P<qbody>(?:[^"\\]|\\.)*)"\)'
    r"|url\(data:(?P<mime>[^;,)]+)(?P<params>(?:;[^;,)]+)*),(?P<body>[^)]*)\)"
)
_CSS_ESCAPE = re.compile(r"\\(.)")
_EXTENSIONS = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}


def move_data_images(css: str) -> tuple[str, dict[str, tuple[bytes, str]]]:
    """`css` with every `url(data:image/...)` replaced by `url("img/NAME")`, and the images
    by NAME (content, media type). Pure."""
    images: dict[str, tuple[bytes, str]] = {}

    def replace(match: re.Match[str]) -> str:
        quoted = match.group("qmime") is not None
        mime = match.group("qmime" if quoted else "mime")
        params = match.group("qparams" if quoted else "params")
        body = match.group("qbody" if quoted else "body")
        if mime not in _EXTENSIONS:
            return match.group(0)
        if ";base64" in params:
            content = base64.b64decode(body)
        else:
            content = unquote(_CSS_ESCAPE.sub(r"\1", body)).encode()
        name = f"{hashlib.sha256(content).hexdigest()[:16]}.{_EXTENSIONS[mime]}"
        images[name] = (content, mime)
        return f'url("img/{name}")'

    return _DATA_URL.sub(replace, css), images


@cache
def _stylesheet() -> tuple[str, dict[str, tuple[bytes, str]]]:
    return move_data_images((VENDOR / "swagger-ui.css").read_text(encoding="utf-8"))


async def docs_page(_request: Request) -> Response:
    return HTMLResponse(PAGE, headers=HEADERS)


async def docs_asset(request: Request) -> Response:
    asset = ASSETS.get(request.path_params["name"])
    if asset is None:
        return Response(status_code=404, headers=HEADERS)
    path, media_type = asset
    return FileResponse(path, media_type=media_type, headers={**HEADERS, **CACHED})


async def docs_stylesheet(_request: Request) -> Response:
    css, _images = _stylesheet()
    return Response(css, media_type="text/css", headers={**HEADERS, **CACHED})


async def docs_image(request: Request) -> Response:
    image = _stylesheet()[1].get(request.path_params["name"])
    if image is None:
        return Response(status_code=404, headers=HEADERS)
    content, media_type = image
    return Response(content, media_type=media_type, headers={**HEADERS, **CACHED})


async def to_docs(_request: Request) -> Response:
    return RedirectResponse(PAGE_PATH, status_code=307)


def docs_routes() -> list[BaseRoute]:
    return [
        Route(PAGE_PATH, docs_page, methods=["GET"]),
        Route(PAGE_PATH + "/assets/swagger-ui.css", docs_stylesheet, methods=["GET"]),
        Route(PAGE_PATH + "/assets/img/{name}", docs_image, methods=["GET"]),
        Route(PAGE_PATH + "/assets/{name}", docs_asset, methods=["GET"]),
        Route("/docs", to_docs, methods=["GET"]),
    ]
