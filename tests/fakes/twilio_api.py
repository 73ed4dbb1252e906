"""A small fake of Twilio's REST API (Messages create) on 127.0.0.1, for the real client.

Twilio-like JSON for created messages and errors (legacy and RFC 9457 shapes); failures
and slow answers are injected for the next requests; every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from messages import gsm7


@dataclass(frozen=True)
class RecordedRequest:
    account_sid: str
    form: dict[str, str]
    at: datetime  # by the clock the fake was given (the tests' FakeClock)
    response_status: int
    sid: str | None = None


@dataclass
class Failure:
    status: int
    code: int | None = None
    message: str = "error"
    problem_details: bool = False  # RFC 9457 body: the library raises TwilioServiceException
    delay: float = 0.0  # seconds before answering (a timeout test's slow response)


@dataclass
class FakeTwilioApi:
    account_sid: str
    auth_token: str
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: deque[Failure] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    # -- scripting -------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        code: int | None = None,
        message: str = "error",
        *,
        problem_details: bool = False,
    ) -> None:
        self._failures.append(Failure(status, code, message, problem_details))

    def slow_next(self, seconds: float) -> None:
        """The next request is answered (successfully) only after `seconds`."""
        self._failures.append(Failure(201, delay=seconds))

    @property
    def created(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.response_status == 201]

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the endpoint ----------------------------------------------------------------------

    def _authorised(self, request: web.Request, sid: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.account_sid == sid and password == self.auth_token

    async def _create(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        form = {key: str(value) for key, value in (await request.post()).items()}
        if not self._authorised(request, sid):
            return self._error(form, sid, Failure(401, 20003, "Authenticate"))
        failure = self._failures.popleft() if self._failures else None
        if failure is not None and failure.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), failure.delay)
            failure = None
        if failure is not None:
            return self._error(form, sid, failure)
        missing = [name for name in ("To",) if not form.get(name)]
        if not form.get("From") and not form.get("MessagingServiceSid"):
            missing.append("From")
        if missing:
            return self._error(form, sid, Failure(400, 21604, f"'{missing[0]}' is required"))
        return self._created(form, sid)

    def _created(self, form: dict[str, str], account_sid: str) -> web.Response:
        sid = "SM" + uuid.uuid4().hex
        cost = gsm7.cost(form.get("Body", ""))
        now = self.now()
        self.requests.append(RecordedRequest(account_sid, form, now, 201, sid))
        body: dict[str, Any] = {
            "sid": sid,
            "account_sid": account_sid,
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "to": form["To"],
            "from": form.get("From"),
            "body": form.get("Body", ""),
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "num_segments": str(cost.segments),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": format_datetime(now),
            "date_updated": format_datetime(now),
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
            "subresource_uris": {},
        }
        return web.json_response(body, status=201)

    def _error(self, form: dict[str, str], account_sid: str, failure: Failure) -> web.Response:
        self.requests.append(RecordedRequest(account_sid, form, self.now(), failure.status))
        code = failure.code or failure.status
        more_info = f"https://www.twilio.com/docs/errors/{code}"
        if failure.problem_details:
            body: dict[str, Any] = {
                "type": more_info,
                "title": failure.message,
                "status": failure.status,
                "code": code,
                "detail": f"{failure.message} (number {form.get('To')})",
            }
            return web.json_response(
                body, status=failure.status, content_type="application/problem+json"
            )
        body = {
            # Like Twilio's, the message quotes the number: it must stay out of our logs.
            "code": code,
            "message": f"{failure.message}: {form.get('To')}",
            "more_info": more_info,
            "status": failure.status,
        }
        return web.json_response(body, status=failure.status)
