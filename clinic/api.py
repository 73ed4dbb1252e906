"""The clinic HTTP API under /api/v1, authenticated with `Authorization: Bearer <clinic key>`.

A key sees and changes only its own clinic's patients: another clinic's patient is 404, as
if it did not exist. Failed authentications are counted per client address (the connecting
address, or the one a trusted proxy forwards: FORWARDED_ALLOW_IPS) and, past a limit, that
address gets 429 for a while, unless it presents a current key: only failures are limited.
Database work runs in threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.http_body import BodyTooLarge, UnsupportedMediaType
from clinic.importer import Importer, InviteLink
from clinic.keys import hash_api_key, plausible_key
from clinic.openapi import OPENAPI
from clinic.reader import FileProblem, FileTooLarge, Limits
from clinic.upload import MalformedUpload, read_upload
from scheduler.clock import Clock
from scheduler.planning import Planner
from storage.enrollment import ClinicProfile, EnrollmentStore, PatientDetail

log = logging.getLogger(__name__)


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


class KnownKeyHashes:
    """The hashes of the clinics' current keys, held in memory for a blocked address.

    While an address is blocked its requests cost no query: a key is hashed and looked up
    in this set, reloaded at most every `max_age`, so a key issued meanwhile (by the CLI, in
    another process) is known within that time. A hash reveals nothing about a key, and the
    lookup time does not depend on how close a guess is.
    """

    def __init__(
        self,
        load: Callable[[], frozenset[str]],
        clock: Clock,
        max_age: timedelta = timedelta(seconds=5),
    ) -> None:
        self._load = load
        self._clock = clock
        self._max_age = max_age
        self._hashes: frozenset[str] = frozenset()
        self._loaded_at: datetime | None = None
        self._reloading = asyncio.Lock()

    async def contains(self, key_hash: str) -> bool:
        if key_hash in self._hashes:
            return True
        async with self._reloading:
            loaded_at = self._loaded_at
            if loaded_at is None or self._clock.now() - loaded_at >= self._max_age:
                self._hashes = await asyncio.to_thread(self._load)
                self._loaded_at = self._clock.now()
        return key_hash in self._hashes


@dataclass
class ApiDeps:
    store: EnrollmentStore
    importer: Importer
    clock: Clock
    limiter: FailedAuthLimiter
    limits: Limits
    known_keys: KnownKeyHashes


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


Handler = Callable[[Request, ClinicProfile], Awaitable[Response]]


def _authenticated(deps: ApiDeps, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        # With FORWARDED_ALLOW_IPS naming a proxy, uvicorn has already put the address that
        # proxy forwarded here; otherwise X-Forwarded-For was ignored (aftercare.web).
        client = request.client.host if request.client else "unknown"
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        key_hash = hash_api_key(key) if scheme.lower() == "bearer" and plausible_key(key) else None
        wait = deps.limiter.retry_after(client)
        if wait is not None and not (key_hash and await deps.known_keys.contains(key_hash)):
            return _error(
                429, "too many failed authentications; try later", {"Retry-After": str(wait)}
            )
        clinic = None
        if key_hash is not None:
            clinic = await asyncio.to_thread(deps.store.profile_for_key_hash, key_hash)
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


def routes(deps: ApiDeps) -> list[BaseRoute]:
    async def enrollments(request: Request, clinic: ClinicProfile) -> Response:
        dry_run = request.query_params.get("dry_run", "false").lower() in ("1", "true", "yes")
        reissue = request.query_params.get("reissue_invites", "false").lower() in (
            "1",
            "true",
            "yes",
        )
        # Statuses follow the error's type, never its wording: over the limit 413, not a
        # readable CSV 422 (even when the message says "longer than").
        limit = deps.limits.max_bytes
        try:
            stream = await read_upload(request, limit)
        except BodyTooLarge:
            return _error(
                413, f"the file is larger than {limit:,} bytes; split it into smaller files"
            )
        except UnsupportedMediaType as exc:
            return _error(415, str(exc))
        except MalformedUpload as exc:
            return _error(400, str(exc))
        try:
            with stream:
                result = await asyncio.to_thread(
                    deps.importer.run,
                    clinic,
                    stream,  # type: ignore[arg-type]
                    dry_run=dry_run,
                    reissue_invites=reissue,
                    collect_patients=True,
                )
        except FileTooLarge as exc:
            return _error(413, str(exc))
        except FileProblem as exc:
            return _error(422, str(exc))
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


def build_api(
    *,
    planner: Planner,
    store: EnrollmentStore,
    clock: Clock,
    invite_ttl: timedelta,
    invite_link: InviteLink | None,
    limits: Limits | None = None,
) -> list[BaseRoute]:
    """The API's routes. `invite_link` turns an invite token into the link a patient taps
    (None: no bot, so no invites are made)."""
    limits = limits or Limits()
    importer = Importer(
        store, planner, invite_ttl=invite_ttl, invite_link=invite_link, limits=limits
    )
    limiter = FailedAuthLimiter(clock)
    known_keys = KnownKeyHashes(store.api_key_hashes, clock)
    return routes(ApiDeps(store, importer, clock, limiter, limits, known_keys))
