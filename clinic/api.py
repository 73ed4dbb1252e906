"""The clinic HTTP API under /api/v1, authenticated with `Authorization: Bearer <clinic key>`.

A key sees and changes only its own clinic's patients: another clinic's patient is 404, as
if it did not exist. Failed authentications are counted per client address and, past a
limit, refused for a while without looking at the key. Database work runs in threads.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from clinic.importer import Importer
from clinic.keys import hash_api_key, plausible_key
from clinic.openapi import OPENAPI
from clinic.reader import FileProblem, Limits
from scheduler.clock import Clock
from storage.enrollment import ClinicProfile, EnrollmentStore, PatientDetail

log = logging.getLogger(__name__)

CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")
_SPOOL_IN_MEMORY = 1024 * 1024


class FailedAuthLimiter:
    """At most `limit` failed authentications per client address in `window`."""

    def __init__(
        self,
        clock: Clock,
        limit: int = 10,
        window: timedelta = timedelta(minutes=5),
        max_clients: int = 10_000,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.max_clients = max_clients  # bounded memory under a spray of addresses
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    def _recent(self, client: str) -> deque[datetime]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        horizon = self.clock.now() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until the client may try again, or None when it is not blocked."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return None
        wait = failures[0] + self.window - self.clock.now()
        return max(1, int(wait.total_seconds()) + 1)

    def failed(self, client: str) -> None:
        failures = self._failures.setdefault(client, deque())
        self._failures.move_to_end(client)
        failures.append(self.clock.now())
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)


@dataclass
class ApiDeps:
    store: EnrollmentStore
    importer: Importer
    clock: Clock
    limiter: FailedAuthLimiter
    limits: Limits


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


Handler = Callable[[Request, ClinicProfile], Awaitable[Response]]


def _authenticated(deps: ApiDeps, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        wait = deps.limiter.retry_after(client)
        if wait is not None:
            return _error(
                429, "too many failed authentications; try later", {"Retry-After": str(wait)}
            )
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        clinic = None
        if scheme.lower() == "bearer" and plausible_key(key.strip()):
            clinic = await asyncio.to_thread(
                deps.store.profile_for_key_hash, hash_api_key(key.strip())
            )
        if clinic is None:
            deps.limiter.failed(client)
            log.info("clinic API: failed authentication")
            return _error(
                401,
                "missing or wrong API key (send Authorization: Bearer <clinic key>)",
                {"WWW-Authenticate": "Bearer"},
            )
        return await handler(request, clinic)

    return endpoint


async def _body_to_spool(request: Request, limit: int) -> IO[bytes]:
    # Closed by the caller once imported (or here, when over the limit).
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            spool.close()
            raise FileProblem(f"the file is larger than {limit:,} bytes; split it")
        await asyncio.to_thread(spool.write, chunk)
    spool.seek(0)
    return spool


def _too_large(request: Request, limit: int) -> bool:
    declared = request.headers.get("content-length", "")
    # Multipart framing adds a little; a declared length far beyond the limit is refused early.
    return declared.isdigit() and int(declared) > limit + 64 * 1024


def routes(deps: ApiDeps) -> list[BaseRoute]:
    async def enrollments(request: Request, clinic: ClinicProfile) -> Response:
        dry_run = request.query_params.get("dry_run", "false").lower() in ("1", "true", "yes")
        reissue = request.query_params.get("reissue_invites", "false").lower() in (
            "1",
            "true",
            "yes",
        )
        if _too_large(request, deps.limits.max_bytes):
            return _error(413, f"the file is larger than {deps.limits.max_bytes:,} bytes")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if content_type == "multipart/form-data":
                form = await request.form(max_files=1, max_fields=10)
                upload = next((v for v in form.values() if isinstance(v, UploadFile)), None)
                if upload is None:
                    return _error(400, "the multipart form has no file part")
                stream: IO[bytes] = upload.file
            elif content_type in CSV_TYPES:
                stream = await _body_to_spool(request, deps.limits.max_bytes)
            else:
                return _error(
                    415, "send the CSV as a text/csv body or as a multipart/form-data file"
                )
            try:
                result = await asyncio.to_thread(
                    deps.importer.run,
                    clinic,
                    stream,  # type: ignore[arg-type]
                    dry_run=dry_run,
                    reissue_invites=reissue,
                    collect_patients=True,
                )
            finally:
                stream.close()
        except FileProblem as exc:
            status = 413 if "larger than" in str(exc) else 422
            return _error(status, str(exc))
        return JSONResponse(result.as_dict())

    async def patient(request: Request, clinic: ClinicProfile) -> Response:
        external_id = request.path_params["external_id"]
        if request.method == "DELETE":
            erased = await asyncio.to_thread(
                deps.store.erase, clinic.id, external_id, deps.clock.now()
            )
            if erased is None:
                return _error(404, "no such patient")
            log.info("clinic API: patient erased (clinic %s)", clinic.id)
            erased_at, cancelled = erased
            return JSONResponse(
                {
                    "external_id": external_id,
                    "erased_at": erased_at.isoformat(),
                    "reminders_cancelled": cancelled,
                }
            )
        detail = await asyncio.to_thread(deps.store.patient_detail, clinic.id, external_id)
        if detail is None:
            return _error(404, "no such patient")
        return JSONResponse(patient_json(detail))

    async def openapi(_request: Request) -> Response:
        return JSONResponse(OPENAPI)

    return [
        Mount(
            "/api/v1",
            routes=[
                Route("/openapi.json", openapi, methods=["GET"]),
                Route("/enrollments", _authenticated(deps, enrollments), methods=["POST"]),
                Route(
                    "/patients/{external_id:path}",
                    _authenticated(deps, patient),
                    methods=["GET", "DELETE"],
                ),
            ],
        )
    ]


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def patient_json(detail: PatientDetail) -> dict[str, Any]:
    return {
        "external_id": detail.external_id,
        "first_name": detail.first_name,
        "phone": detail.phone,
        "telegram_linked": detail.telegram_linked,
        "timezone": detail.timezone,
        "language": detail.language,
        "channel": detail.channel,
        "paused": detail.paused,
        "sms_opted_out": detail.sms_opted_out,
        "created_at": _iso(detail.created_at),
        "erased_at": _iso(detail.erased_at),
        "treatments": [
            {
                "performed_at": _iso(t.performed_at),
                "registered_at": _iso(t.registered_at),
                "protocol": t.protocol,
                "cancelled_at": _iso(t.cancelled_at),
            }
            for t in detail.treatments
        ],
        "reminders": [
            {
                "milestone": r.milestone,
                "channel": r.channel,
                "due_at": _iso(r.due_at),
                "expires_at": _iso(r.expires_at),
                "status": r.status,
                "attempts": r.attempts,
                "sent_at": _iso(r.sent_at),
            }
            for r in detail.reminders
        ],
    }


def build_api(core: Any, limits: Limits | None = None) -> list[BaseRoute]:
    """The API's routes for the composition root (`core` is an aftercare.wiring.Core)."""
    limits = limits or Limits()
    store = EnrollmentStore(core.db)
    importer = Importer(
        store,
        core.planner,
        invite_ttl=timedelta(hours=core.settings.invite_ttl_hours),
        bot_username=core.settings.telegram_bot_username,
        limits=limits,
    )
    return routes(ApiDeps(store, importer, core.clock, FailedAuthLimiter(core.clock), limits))
