"""The answer to an SMS "PLAN": the patient's next aftercare steps, briefly, and their next
session when one is booked ahead. Pure: no I/O.

Plain GSM-7 within two segments whatever the protocol's titles: steps are listed soonest
first for as long as they fit (the next reminder tells the rest), and the next session is
always kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from messages import gsm7
from messages.protocol import SMS_CHAR_BUDGET, SMS_SEGMENT_BUDGET, Protocol
from messages.sms_texts import sms_text
from messages.when import format_when


def fits(text: str) -> bool:
    cost = gsm7.cost(text)
    return (
        cost.encoding == "GSM-7"
        and cost.segments <= SMS_SEGMENT_BUDGET
        and len(text) <= SMS_CHAR_BUDGET
    )


def plan_text(
    protocol: Protocol,
    pending: Sequence[tuple[str, datetime]],
    next_session: datetime | None,
    zone: ZoneInfo,
    now: datetime,
    language: str,
) -> str:
    """`pending`: (milestone, due at) of the current session's reminders still to come. Only
    aftercare steps are listed (a check-in asks its question when it comes)."""
    locale = language if language in protocol.locales else protocol.locales[0]
    steps = {m.key for m in protocol.advice}
    upcoming = sorted((due, key) for key, due in pending if key in steps and due > now)
    session = (
        sms_text("plan_next_session", language, when=format_when(next_session, zone, now, language))
        if next_session is not None
        else None
    )
    lines: list[str] = []
    for due, key in upcoming:
        title = protocol.milestone(key).title
        line = sms_text(
            "plan_step",
            language,
            title=(title.get(locale) or next(iter(title.values()))) if title else key,
            when=format_when(due, zone, now, language),
        )
        candidate = _joined(sms_text("plan", language, steps="\n".join([*lines, line])), session)
        if lines and not fits(candidate):
            break
        lines.append(line)
    if not lines:
        return _joined(sms_text("plan_finished", language), session)
    return _joined(sms_text("plan", language, steps="\n".join(lines)), session)


def _joined(body: str, session: str | None) -> str:
    return f"{body}\n{session}" if session else body
