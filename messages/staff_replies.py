"""A clinic's own reply to a patient: what may be sent, and how each channel carries it.

Staff write the text themselves, so it is not a protocol message: it is checked when it
is written (the dashboard refuses what cannot be sent) and again when it is sent, since
the patient's channel may change in between (a Telegram patient who blocks the bot is
answered by SMS). An SMS reply must be plain GSM-7 within the SMS budget, like every SMS
we send; it is never shortened or altered behind the writer's back.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

from messages import gsm7
from messages.protocol import SMS_SEGMENT_BUDGET

# Telegram takes 4,096 characters; a reply is a short answer, not a letter.
MAX_CHARS = 2_000
SMS_MAX_UNITS = SMS_SEGMENT_BUDGET * gsm7.MULTI_GSM7  # 306 septets in two segments

ProblemKind = Literal["empty", "too_long", "not_gsm7", "too_many_segments"]


@dataclass(frozen=True)
class ReplyProblem:
    """Why a reply cannot be sent; `values` fill the sentence (and the UI's own text)."""

    kind: ProblemKind
    values: dict[str, str | int] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        v = self.values
        if self.kind == "empty":
            return "the reply is empty"
        if self.kind == "too_long":
            return f"the reply has {v['length']} characters, more than {v['max']}"
        if self.kind == "not_gsm7":
            return f"an SMS cannot carry {v['chars']}"
        return f"the reply needs {v['segments']} SMS, more than {v['max']}"


def normalise(text: str) -> str:
    """A reply as typed in a browser, with line breaks as the patient's phone shows them
    (forms send CRLF), tabs as spaces, and no blank space around it."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").strip()


def problem(text: str, channel: str) -> ReplyProblem | None:
    """Why `text` (normalised) cannot go to a patient on `channel`, or None if it can."""
    if not text:
        return ReplyProblem("empty")
    if len(text) > MAX_CHARS:
        return ReplyProblem("too_long", {"length": len(text), "max": MAX_CHARS})
    if channel != "sms":
        return None
    others = gsm7.non_gsm7(text)
    if others:
        return ReplyProblem("not_gsm7", {"chars": " ".join(others[:5])})
    cost = gsm7.cost(text)
    if cost.segments > SMS_SEGMENT_BUDGET:
        return ReplyProblem(
            "too_many_segments",
            {
                "segments": cost.segments,
                "max": SMS_SEGMENT_BUDGET,
                "units": cost.units,
                "limit": SMS_MAX_UNITS,
            },
        )
    return None


def rendered(text: str, channel: Literal["sms", "telegram"]) -> str:
    """The reply as `channel` sends it (Telegram messages are sent as HTML)."""
    return html.escape(text, quote=False) if channel == "telegram" else text
