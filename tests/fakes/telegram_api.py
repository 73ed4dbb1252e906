"""A small fake of the Telegram Bot API on 127.0.0.1, for the real python-telegram-bot.

It speaks the Bot API's JSON envelope ({"ok": true, "result": ...}) for the methods the bot
uses, records every request, lets a test queue updates as if a user had written (served by
getUpdates long polling, or POSTed to the webhook once one is set, with its secret),
answers the next requests with an injected error (403 blocked, 429 flood, 400 bad request),
and can hold a request unanswered until the test lets it through (`hold`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

BOT_ID = 7_000_000_001
BOT_USERNAME = "glow_aftercare_bot"
JSON_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "drop_pending_updates",
    "show_alert",
    "max_connections",
}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    status: int
    wall: float = 0.0  # time.time() when it arrived, to compare with due times

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of an inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [
            (button["text"], button.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]


@dataclass
class Failure:
    method: str
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class Held:
    """A request the fake server keeps unprocessed until `let_through`: Telegram has not
    delivered that message yet, so anything processed meanwhile reaches the chat first (a
    call is recorded, in `calls`, when it is processed)."""

    method: str
    when: Callable[[dict[str, Any]], bool]
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _go: asyncio.Event = field(default_factory=asyncio.Event)

    async def arrived(self, within: float = 5.0) -> None:
        """Wait until the request is at the server, held."""
        async with asyncio.timeout(within):
            await self._arrived.wait()

    def let_through(self) -> None:
        self._go.set()

    async def keep(self) -> None:
        """The server's side: the request is here; wait until it may be processed."""
        self._arrived.set()
        await self._go.wait()


@dataclass
class FakeTelegramApi:
    token: str = "123456:TEST-token"
    calls: list[Call] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str | None = None
    commands: dict[str | None, list[dict[str, str]]] = field(default_factory=dict)
    # What getWebhookInfo reports of the last failed delivery: (unix time, Telegram's text).
    webhook_last_error: tuple[int, str] | None = None
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _failures: deque[Failure] = field(default_factory=deque)
    _holds: list[Held] = field(default_factory=list)  # still to come
    _holding: list[Held] = field(default_factory=list)  # at the server, waiting
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    _closing: bool = False
    url: str = ""

    # -- server -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for held in list(self._holding):  # nothing stays stuck in the server
            held.let_through()
        async with self._changed:  # end long polls still open
            self._closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE_URL is set to; PTB appends the token."""
        return f"{self.url}/bot"

    # -- what tests inject --------------------------------------------------------------------

    def fail_next(
        self, method: str, status: int, description: str, retry_after: int | None = None
    ) -> None:
        self._failures.append(Failure(method, status, description, retry_after))

    def hold(self, method: str, when: Callable[[dict[str, Any]], bool] = lambda _: True) -> Held:
        """Keep the next `method` request whose parameters satisfy `when` unprocessed until
        the test lets it through."""
        held = Held(method, when)
        self._holds.append(held)
        return held

    def block(self, method: str = "sendMessage") -> None:
        self.fail_next(method, 403, "Forbidden: bot was blocked by the user")

    def flood(self, retry_after: int, method: str = "sendMessage") -> None:
        self.fail_next(method, 429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def bad_request(self, description: str = "Bad Request: chat not found") -> None:
        self.fail_next("sendMessage", 400, description)

    @staticmethod
    def user(chat_id: int, first_name: str = "Ana", language: str = "en") -> dict[str, Any]:
        return {
            "id": chat_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        }

    async def user_says(self, chat_id: int, text: str, language: str = "en") -> int:
        """A user writes to the bot; returns the update id."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ana"},
            "from": self.user(chat_id, language=language),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.push({"message": message})

    async def user_sends_photo(self, chat_id: int) -> int:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id),
            "photo": [{"file_id": "f1", "file_unique_id": "u1", "width": 10, "height": 10}],
        }
        return await self.push({"message": message})

    async def user_presses(self, chat_id: int, data: str, language: str = "en") -> int:
        """A user taps an inline button with this callback data (on the bot's last message
        that carries it)."""
        source = self.last_with_button(chat_id, data)
        message_id = source.params.get("_message_id", 1) if source else 1
        callback = {
            "id": str(next(self._update_ids)),
            "from": self.user(chat_id, language=language),
            "chat_instance": str(chat_id),
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": self._me(),
                "text": source.text if source else "",
            },
        }
        return await self.push({"callback_query": callback})

    async def member_status(self, chat_id: int, status: str) -> int:
        """The user blocked ("kicked") or unblocked ("member") the bot."""
        old = "member" if status == "kicked" else "kicked"

        def member(value: str) -> dict[str, Any]:
            extra = {"until_date": 0} if value == "kicked" else {}
            return {"status": value, "user": self._me(), **extra}

        change = {
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(status),
        }
        return await self.push({"my_chat_member": change})

    async def push(self, body: dict[str, Any], update_id: int | None = None) -> int:
        update_id = update_id if update_id is not None else next(self._update_ids)
        update = {"update_id": update_id, **body}
        if self.webhook_url:
            await self.deliver(update)
        else:
            async with self._changed:
                self._updates.append(update)
                self._changed.notify_all()
        return update_id

    async def deliver(self, update: dict[str, Any], secret: str | None = None) -> int:
        """POST an update to the registered webhook, as Telegram does; returns the status."""
        headers = {"Content-Type": "application/json"}
        token = self.webhook_secret if secret is None else secret
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        async with httpx.AsyncClient() as client:
            response = await client.post(
                self.webhook_url, content=json.dumps(update), headers=headers
            )
        return response.status_code

    # -- what tests read ----------------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == "sendMessage"
            and c.status == 200
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def last_with_button(self, chat_id: int, data: str) -> Call | None:
        for call in reversed(self.sent(chat_id)):
            if any(d == data for _, d in call.buttons()):
                return call
        return None

    async def wait_for(
        self, predicate: Callable[[list[Call]], bool], within: float = 5.0
    ) -> list[Call]:
        async with asyncio.timeout(within):
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.calls))
        return self.calls

    async def reply(self, chat_id: int, after: int | None = None, within: float = 5.0) -> Call:
        """The next message the bot sends to `chat_id` after `after` messages to it."""
        count = len(self.sent(chat_id)) if after is None else after
        await self.wait_for(lambda _: len(self.sent(chat_id)) > count, within)
        return self.sent(chat_id)[count]

    async def conversation(
        self, chat_id: int, action: Callable[[], Any], replies: int = 1, within: float = 5.0
    ) -> list[Call]:
        """Do `action` (a user message or button) and wait for the bot's next `replies`."""
        before = len(self.sent(chat_id))
        await action()
        await self.wait_for(lambda _: len(self.sent(chat_id)) >= before + replies, within)
        return self.sent(chat_id)[before:]

    # -- the Bot API ------------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Glow Aftercare",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = str(value)
            if key in JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(text)
                    continue
            params[key] = text
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        held = next((h for h in self._holds if h.method == method and h.when(params)), None)
        if held is not None:
            self._holds.remove(held)
            self._holding.append(held)
            await held.keep()
            self._holding.remove(held)
        failure = next((f for f in self._failures if f.method == method), None)
        if failure is not None:
            self._failures.remove(failure)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            await self._record(method, params, failure.status)
            return web.json_response(body, status=failure.status)
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        else:
            result = self._answer(method, params)
        await self._record(method, params, 200)
        return web.json_response({"ok": True, "result": result})

    async def _record(self, method: str, params: dict[str, Any], status: int) -> None:
        async with self._changed:
            self.calls.append(Call(method, params, time.monotonic(), status, time.time()))
            self._changed.notify_all()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self._updates if u["update_id"] >= offset]

        async with self._changed:
            # Updates below the offset are confirmed: Telegram forgets them.
            self._updates = pending()
            if not self._updates and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: bool(pending()) or self._closing)
            return pending()

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self._me()
        if method in ("sendMessage", "editMessageText"):
            chat_id = int(params["chat_id"])
            message_id = (
                next(self._message_ids)
                if method == "sendMessage"
                else int(params.get("message_id", 0))
            )
            params["_message_id"] = message_id
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": self._me(),
                "text": params.get("text", ""),
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            return message
        if method == "setWebhook":
            self.webhook_url = str(params.get("url", ""))
            self.webhook_secret = params.get("secret_token")
            return True
        if method == "deleteWebhook":
            self.webhook_url = ""
            self.webhook_secret = None
            return True
        if method == "getWebhookInfo":
            info: dict[str, Any] = {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self.webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_last_error
            return info
        if method == "setMyCommands":
            commands = params.get("commands") or []
            self.commands[params.get("language_code")] = list(commands)
            return True
        if method in ("answerCallbackQuery", "editMessageReplyMarkup", "deleteMyCommands"):
            return True
        if method == "close" or method == "logOut":
            return True
        raise web.HTTPNotFound(text=json.dumps({"ok": False, "error_code": 404}))
