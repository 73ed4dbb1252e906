"""Running `aftercare run` as a real process and reading what its console channel prints;
a fake Twilio API in a thread of the test process for engines that send real SMS."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.twilio_api import FakeTwilioApi, RecordedRequest

AFTERCARE = str(Path(sys.executable).with_name("aftercare"))
T = TypeVar("T")
HEADER = re.compile(r"^--- (sms|telegram) message for reminder (\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "PORT": str(free_port()),
            "QUIET_HOURS": "off",
            "LOG_LEVEL": "WARNING",
            "SWEEP_INTERVAL_SECONDS": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Service:
    """One `aftercare run` process; its stdout is read on a thread so the pipe never fills."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = int(env["PORT"])
        self.process = subprocess.Popen(
            [AFTERCARE, "run"],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.reminder_ids: list[int] = []
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                match = HEADER.match(line)
                if match:
                    self.reminder_ids.append(int(match.group(2)))
                self._changed.notify_all()

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        """Until GET /healthz says 200: serving, its engine started and sweeping."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:  # not listening yet, or 503 (an HTTPError)
                pass
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.poll()}: {self.stderr()}")
            time.sleep(0.1)
        raise AssertionError("the service did not become healthy in time")

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (
                    self.process.poll() is not None and not self._reader.is_alive()
                ):
                    raise AssertionError(
                        f"timed out; exit={self.process.poll()} stderr={self.stderr()}"
                    )
                self._changed.wait(min(remaining, 0.2))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._reader.join(10)

    def terminate(self) -> bool:
        """SIGTERM; True if the process shut down by itself in time.

        uvicorn finishes its graceful shutdown and then re-raises the signal, so a clean stop
        exits with -SIGTERM (or 0), never with a traceback's 1.
        """
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self._reader.join(10)
        return code in (0, -signal.SIGTERM)

    def stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()[-2000:]


def poll(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """For conditions on the database, which has no event to wait on."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "process-test-token"
FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "https://aftercare.example.org"


class TwilioInThread:
    """The fake Twilio API on its own event loop in a daemon thread, on the real clock, so
    `aftercare run` processes can send SMS to it while the test waits synchronously."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.api: FakeTwilioApi = self._call(self._make())
        self.url = self.api.url

    async def _make(self) -> FakeTwilioApi:
        api = FakeTwilioApi(ACCOUNT_SID, AUTH_TOKEN, now=lambda: datetime.now(UTC))
        await api.start()
        return api

    def _call(self, coroutine: Coroutine[object, object, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def env(self, **extra: str) -> dict[str, str]:
        """Settings for an engine that sends SMS here (and requests delivery receipts, so
        each text names its reminder in its StatusCallback URL)."""
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": self.url,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            **extra,
        }

    def created(self) -> list[RecordedRequest]:
        return [r for r in list(self.api.requests) if r.response_status == 201]

    def close(self) -> None:
        self._call(self.api.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class TelegramInThread:
    """The fake Bot API on its own event loop in a daemon thread, for `aftercare` processes."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.api = FakeTelegramApi()
        asyncio.run_coroutine_threadsafe(self.api.start(), self._loop).result(30)

    def env(self, token: str | None = None) -> dict[str, str]:
        """Settings for a process that talks to this fake (with another token: refused)."""
        return {
            "TELEGRAM_BOT_TOKEN": token or self.api.token,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
        }

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.api.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def reminder_of(form: Mapping[str, str]) -> int:
    """The reminder a text was for, from the receipt URL it asked Twilio to call."""
    query = parse_qs(urlsplit(form["StatusCallback"]).query)
    return int(query["reminder"][0])
