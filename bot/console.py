"""The console channel: prints each message. The default when no provider is configured."""

from __future__ import annotations

import itertools
import sys
from typing import TextIO

from messages import gsm7
from scheduler.ports import OutboundMessage, SendResult


class ConsoleChannel:
    def __init__(self, name: str = "console", stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream
        self._ids = itertools.count(1)

    async def send(self, message: OutboundMessage) -> SendResult:
        stream = self._stream or sys.stdout
        header = f"--- {message.channel} message"
        if message.reminder_id is not None:
            header += f" for reminder {message.reminder_id}"
        if message.patient_id is not None:
            header += f" (patient {message.patient_id})"
        # One write and a flush per message, so a reader never sees half of one.
        stream.write(f"{header} ---\n{message.text}\n")
        stream.flush()
        extra: dict[str, object] = {}
        if message.channel == "sms":
            cost = gsm7.cost(message.text)
            extra = {"encoding": cost.encoding, "segments": cost.segments}
        return SendResult.sent(f"console-{next(self._ids)}", **extra)
