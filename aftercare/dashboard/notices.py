"""One-line notices carried across a redirect (POST, then redirect, then GET) by a query
parameter naming a UI string, e.g. `/app?notice=password.changed`. Only keys listed here
are shown, and with no values filled in, so a link cannot make a page say anything else."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from starlette.requests import Request

from aftercare.dashboard.rendering import NoticeKind
from aftercare.dashboard.strings import text

SHOWN_AFTER_REDIRECT: Final[dict[str, NoticeKind]] = {
    "password.changed": "success",
    "patients.paused": "success",
    "patients.resumed": "success",
    "patients.channel_changed": "success",
    "patients.treatment.changed": "success",
    "patients.erased": "success",
    "reply.queued": "success",
    "resolve.done": "success",
    "resolve.already": "info",
    "import.columns_saved": "success",
}


def with_notice(path: str, key: str) -> str:
    if key not in SHOWN_AFTER_REDIRECT:
        raise KeyError(f"{key} is not in SHOWN_AFTER_REDIRECT")
    return f"{path}?{urlencode({'notice': key})}"


def notices_from(request: Request) -> list[tuple[NoticeKind, str]]:
    key = request.query_params.get("notice", "")
    kind = SHOWN_AFTER_REDIRECT.get(key)
    return [] if kind is None else [(kind, text(key))]
