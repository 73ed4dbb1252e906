"""Log set-up: human-readable lines by default, or one JSON object per line (LOG_FORMAT=json)
for a log collector.

Either way a record carries what the code logged: ids and outcomes, never a phone number,
a name, a chat id or a message text (the loggers are written that way; library loggers that
would print request URLs holding tokens and chat ids are kept at WARNING).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LIBRARIES = ("httpx", "telegram", "twilio", "apscheduler.executors", "apscheduler.scheduler")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message"}` plus `"exception"` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: a line is one line whatever the message holds.
        return json.dumps(entry, ensure_ascii=True, default=str)


def log_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(level: str, log_format: str = "text", stream: TextIO | None = None) -> None:
    """The root logger writes to stderr in the chosen format; replaces earlier handlers."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(log_handler(log_format, stream))
    root.setLevel(level.upper())
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if log_format == "json":
        # uvicorn's own loggers have their own handlers; route them through the root's.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers = []
            logger.propagate = True
