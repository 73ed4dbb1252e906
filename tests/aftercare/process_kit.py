"""Running `aftercare run` as a real process and reading what its console channel prints."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

AFTERCARE = str(Path(sys.executable).with_name("aftercare"))
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
