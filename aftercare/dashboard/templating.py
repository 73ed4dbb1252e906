"""The dashboard's Jinja2 environment, static file URLs and security headers.

Templates get `t(key, **values)` (UI strings, see strings.py) and `static_url(name)`,
which adds a content hash so a browser may cache static files for good.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files
from typing import Final

from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, StrictUndefined

from aftercare.dashboard.strings import text

PACKAGE: Final = "aftercare.dashboard"
STATIC_PREFIX: Final = "/app/static"

# Pages load scripts and styles only from this origin and may not be framed. Inline SVG
# is allowed (it is markup); style="" attributes and inline <script> are not.
CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)


def security_headers(*, private: bool = True) -> dict[str, str]:
    """Headers for every dashboard page; `private` pages (patient data) are never cached."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if private:
        headers["Cache-Control"] = "no-store"
    return headers


@cache
def static_version(name: str) -> str:
    """A short hash of a static file's content (raises if the file does not exist)."""
    data = files(PACKAGE).joinpath("static", name).read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def make_environment(
    *,
    language: str = "en",
    static_prefix: str = STATIC_PREFIX,
    extra_loader: BaseLoader | None = None,
) -> Environment:
    """`extra_loader` is searched before the package's templates (tests add pages)."""
    package_loader = PackageLoader(PACKAGE, "templates")
    loader = (
        package_loader if extra_loader is None else ChoiceLoader([extra_loader, package_loader])
    )
    env = Environment(
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def translate(key: str, **values: object) -> str:
        return text(key, language, **values)

    def static_url(name: str) -> str:
        return f"{static_prefix}/{name}?v={static_version(name)}"

    env.globals.update(t=translate, static_url=static_url, language=language)
    return env
