"""A small fake of Twilio's REST API (Messages create and list; the account, its phone
numbers and Messaging Services, for `aftercare doctor`) on 127.0.0.1, for the real client.

Twilio-like JSON for created messages, message lists and errors (legacy and RFC 9457
shapes); failures and slow answers are injected for the next requests; every request is
recorded, and every created message can be listed back (newest first, filtered by To,
From and DateSent like Twilio's Messages list).
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
    accept_first: bool = False  # create the message at once, then answer late


@dataclass(frozen=True)
class StoredMessage:
    """A message Twilio has: what the Messages list returns."""

    sid: str
    account_sid: str
    form: dict[str, str]
    created_at: datetime

    def resource(self) -> dict[str, Any]:
        cost = gsm7.cost(self.form.get("Body", ""))
        created = format_datetime(self.created_at)
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": self.form.get("MessagingServiceSid"),
            "to": self.form["To"],
            "from": self.form.get("From"),
            "body": self.form.get("Body", ""),
            "status": "accepted" if self.form.get("MessagingServiceSid") else "queued",
            "num_segments": str(cost.segments),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": created,
            "date_updated": created,
            # Still queued: Twilio has not sent it yet, so it has no date_sent.
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}.json",
            "subresource_uris": {},
        }


@dataclass
class FakeTwilioApi:
    account_sid: str
    auth_token: str
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: list[StoredMessage] = field(default_factory=list)
    lookups: list[dict[str, str]] = field(default_factory=list)  # Messages list queries
    # Called with each create request's form as it arrives, before it is answered.
    on_create: Callable[[dict[str, str]], None] | None = None
    account_status: str = "active"  # active | suspended | closed
    numbers: list[str] = field(default_factory=list)  # the account's IncomingPhoneNumbers
    services: list[str] = field(default_factory=list)  # the account's Messaging Service SIDs
    _failures: deque[Failure] = field(default_factory=deque)
    _lookup_failures: deque[Failure] = field(default_factory=deque)
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

    def accept_then_stall(self, seconds: float) -> None:
        """The next message is created at once, but the answer comes only after `seconds`:
        the client times out although Twilio has the message."""
        self._failures.append(Failure(201, delay=seconds, accept_first=True))

    def stall_then_fail(self, seconds: float, status: int = 503) -> None:
        """The next request is held for `seconds` and then refused: nothing is created."""
        self._failures.append(Failure(status, delay=seconds))

    def fail_next_lookup(self, status: int = 500, *, delay: float = 0.0) -> None:
        """The next Messages list request fails (after `delay` seconds)."""
        self._lookup_failures.append(Failure(status, delay=delay))

    def add_message(
        self, to: str, body: str, created_at: datetime, from_: str | None = None
    ) -> StoredMessage:
        """A message Twilio has that we did not create through the API here."""
        form = {"To": to, "Body": body}
        if from_ is not None:
            form["From"] = from_
        stored = StoredMessage("SM" + uuid.uuid4().hex, self.account_sid, form, created_at)
        self.messages.append(stored)
        return stored

    @property
    def created(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.response_status == 201]

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", self._list)
        app.router.add_get(r"/2010-04-01/Accounts/{sid:AC[0-9a-f]+}.json", self._account)
        app.router.add_get(
            "/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", self._incoming_numbers
        )
        app.router.add_get("/v1/Services/{service}", self._service)
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
        if self.on_create is not None:
            self.on_create(form)
        failure = self._failures.popleft() if self._failures else None
        if failure is not None and failure.accept_first:
            response = self._created(form, sid)
            await self._wait(failure.delay)
            return response
        if failure is not None and failure.delay:
            await self._wait(failure.delay)
            if failure.status == 201:
                failure = None
        if failure is not None:
            return self._error(form, sid, failure)
        missing = [name for name in ("To",) if not form.get(name)]
        if not form.get("From") and not form.get("MessagingServiceSid"):
            missing.append("From")
        if missing:
            return self._error(form, sid, Failure(400, 21604, f"'{missing[0]}' is required"))
        return self._created(form, sid)

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _created(self, form: dict[str, str], account_sid: str) -> web.Response:
        stored = StoredMessage("SM" + uuid.uuid4().hex, account_sid, form, self.now())
        self.messages.append(stored)
        self.requests.append(RecordedRequest(account_sid, form, stored.created_at, 201, stored.sid))
        return web.json_response(stored.resource(), status=201)

    async def _list(self, request: web.Request) -> web.Response:
        """GET Messages.json: newest first, filtered like Twilio (To, From, DateSent>/<)."""
        sid = request.match_info["sid"]
        query = {key: str(value) for key, value in request.query.items()}
        if not self._authorised(request, sid):
            return self._error(query, sid, Failure(401, 20003, "Authenticate"), record=False)
        self.lookups.append(query)
        failure = self._lookup_failures.popleft() if self._lookup_failures else None
        if failure is not None:
            await self._wait(failure.delay)
            return self._error(query, sid, failure, record=False)
        after = _date_filter(query.get("DateSent>"))
        before = _date_filter(query.get("DateSent<"))
        found = [
            m
            for m in reversed(self.messages)
            if m.account_sid == sid
            and query.get("To", m.form["To"]) == m.form["To"]
            and query.get("From", m.form.get("From")) == m.form.get("From")
            # Like Twilio, a DateSent filter only matches messages that have been sent;
            # these are all still queued.
            and after is None
            and before is None
        ]
        size = int(query.get("PageSize", "50"))
        page = found[:size]
        uri = f"/2010-04-01/Accounts/{sid}/Messages.json"
        body = {
            "messages": [m.resource() for m in page],
            "end": max(len(page) - 1, 0),
            "first_page_uri": f"{uri}?PageSize={size}&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{uri}?PageSize={size}&Page=0",
        }
        return web.json_response(body)

    # -- the account, its numbers and services (read by `aftercare doctor`) -----------------

    async def _account(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if not self._authorised(request, sid):
            return self._error({}, sid, Failure(401, 20003, "Authenticate"), record=False)
        body = {
            "sid": sid,
            "friendly_name": "Glow Skin Clinic",
            "status": self.account_status,
            "type": "Full",
            "uri": f"/2010-04-01/Accounts/{sid}.json",
        }
        return web.json_response(body)

    async def _incoming_numbers(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if not self._authorised(request, sid):
            return self._error({}, sid, Failure(401, 20003, "Authenticate"), record=False)
        wanted = request.query.get("PhoneNumber")
        found = [n for n in self.numbers if wanted is None or n == wanted]
        uri = f"/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json"
        body = {
            "incoming_phone_numbers": [
                {"sid": f"PN{i:032x}", "account_sid": sid, "phone_number": n, "status": "in-use"}
                for i, n in enumerate(found)
            ],
            "end": max(len(found) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }
        return web.json_response(body)

    async def _service(self, request: web.Request) -> web.Response:
        """GET messaging.twilio.com/v1/Services/{sid}: only this account's services."""
        service = request.match_info["service"]
        if not self._authorised(request, self.account_sid):
            return self._error({}, "", Failure(401, 20003, "Authenticate"), record=False)
        if service not in self.services:
            return self._error({}, "", Failure(404, 20404, "not found"), record=False)
        body = {"sid": service, "account_sid": self.account_sid, "friendly_name": "Aftercare"}
        return web.json_response(body)

    def _error(
        self, form: dict[str, str], account_sid: str, failure: Failure, *, record: bool = True
    ) -> web.Response:
        if record:  # create requests only; lookups are kept in `lookups`
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


def _date_filter(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
