"""Symptom check-ins: reading a "1", "2" or "3" and answering it. Pure, no I/O.

Only a message that is nothing but the number (or "uno", "two", "3️⃣"...) is an answer, and
only while a check-in sent to the patient is open (bot.inbound looks that up); anything else
goes through the usual conversation core, warning signs first.

1 = as expected: reassurance, and the next step of their aftercare when one is ahead.
2 = not sure or worse: the warning signs and whom to call; a low-priority item for staff.
3 = worried: answered and escalated exactly like a described warning sign.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from messages import gsm7
from messages.conversation import PatientContext, Reply, fits_sms, red_flag_reply
from messages.milestones import milestone_times
from messages.protocol import (
    EMERGENCY_NUMBER,
    WORST_CASE_VALUES,
    Channel,
    ChannelText,
    Milestone,
    Protocol,
)
from messages.render import SMS_NAME_LIMITS, shorten
from messages.when import format_short_when, format_when, longest_short_when

# How long after a check-in is sent a bare number counts as its answer.
ANSWER_WINDOW = timedelta(hours=24)
TOPIC = "checkin"
CONCERN = "checkin_concern"
# The longest emergency number a budget check assumes (as the FAQ's template checks do).
WORST_EMERGENCY_NUMBER = WORST_CASE_VALUES[EMERGENCY_NUMBER]

_WORDS = {
    "1": 1,
    "2": 2,
    "3": 3,
    "one": 1,
    "two": 2,
    "three": 3,
    "uno": 1,
    "dos": 2,
    "tres": 3,
}
# Keycap emoji (1️⃣ is "1", VS16, U+20E3) and the punctuation people put around a number.
_DECORATION = re.compile(r"[\ufe0f\u20e3\s.,;:!¡?¿#()\[\]*\"'-]+")


def parse_answer(text: str) -> int | None:
    """1, 2 or 3 when the whole message is that answer ("2", " 3! ", "Uno", "1️⃣", "#2",
    "２"); None for anything else, which is then an ordinary message."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    bare = _DECORATION.sub("", folded)
    return _WORDS.get(bare)


def _values(
    protocol: Protocol, patient: PatientContext, channel: Channel, language: str, **extra: str
) -> dict[str, str]:
    first_name = (patient.first_name or "").strip() or protocol.first_name_fallback.get(
        language, ""
    )
    values = {
        "first_name": first_name,
        "clinic_name": patient.clinic_name,
        "clinic_phone": patient.clinic_phone,
        **extra,
    }
    if channel == "sms":
        for key, size in SMS_NAME_LIMITS.items():
            values[key] = shorten(values[key], size)
        return {key: gsm7.to_gsm7(value) for key, value in values.items()}
    return {key: html.escape(value, quote=False) for key, value in values.items()}


def _fill(template: ChannelText, channel: Channel, values: Mapping[str, str]) -> str:
    return re.sub(r"[ \t]+([,.!?;:])", r"\1", template.get(channel).format(**values)).strip()


def _next_step(
    protocol: Protocol, patient: PatientContext, now: datetime, channel: Channel, language: str
) -> tuple[str, str] | None:
    """(title, when) of the patient's next advice milestone still ahead, if any."""
    if patient.treated_at is None:
        return None
    advice = {m.key for m in protocol.advice}
    times = milestone_times(patient.treated_at, protocol, patient.timezone)
    for key, reached in times.items():
        if key in advice and reached > now:
            title = protocol.milestone(key).title.get(language, "")
            format_at = format_short_when if channel == "sms" else format_when
            return title, format_at(reached, patient.timezone, now, language)
    return None


def _compose(
    milestone: Milestone,
    protocol: Protocol,
    patient: PatientContext,
    channel: Channel,
    language: str,
    answer: int,
    emergency_number: str,
    next_step: tuple[str, str] | None,
) -> str:
    replies = milestone.replies
    assert replies is not None
    texts = replies[language]
    # Every protocol text may name the emergency number.
    values = _values(protocol, patient, channel, language, emergency_number=emergency_number)
    if answer == 2:
        return _fill(texts.unsure, channel, values)
    body = _fill(texts.expected, channel, values)
    if next_step is None:
        return body
    title, when = next_step
    step = {**values, **_values(protocol, patient, channel, language, title=title, when=when)}
    combined = f"{body}\n\n{_fill(texts.next_step, channel, step)}"
    # The next step is a courtesy: an SMS without room for it keeps the reassurance whole.
    return combined if channel == "telegram" or fits_sms(combined) else body


def checkin_reply(
    answer: int,
    checkin_key: str,
    patient: PatientContext,
    now: datetime,
    channel: Channel,
    *,
    emergency_number: str = "911",
) -> Reply:
    """The reply to an answer of the open check-in `checkin_key` of the patient's protocol.

    Its category says what staff see: None for 1, "checkin_concern" (recorded, no alert)
    for 2, "red_flag" (recorded, clinic alerted) for 3.
    """
    protocol = patient.protocol
    assert protocol is not None, "a check-in belongs to a registered patient's protocol"
    language = patient.language if patient.language in protocol.locales else protocol.locales[0]
    if answer == 3:
        return red_flag_reply(patient, channel, language, emergency_number)
    milestone = protocol.milestone(checkin_key)
    next_step = _next_step(protocol, patient, now, channel, language) if answer == 1 else None
    text = _compose(
        milestone, protocol, patient, channel, language, answer, emergency_number, next_step
    )
    category = CONCERN if answer == 2 else None
    return Reply(text, TOPIC, False, category, language)  # type: ignore[arg-type]


def reply_budget_problems(protocol: Protocol) -> list[str]:
    """Every check-in reply as an SMS, with the longest names, title, time and emergency
    number, is plain GSM-7 within two segments (with the next step, for answer 1)."""
    problems = []
    for milestone in protocol.timed:
        if milestone.replies is None:
            continue
        for language in protocol.locales:
            patient = PatientContext(
                first_name=WORST_CASE_VALUES["first_name"],
                language=language,
                timezone=ZoneInfo("UTC"),
                treated_at=None,
                clinic_name=WORST_CASE_VALUES["clinic_name"],
                clinic_phone=WORST_CASE_VALUES["clinic_phone"],
                protocol=protocol,
            )
            titles = [m.title.get(language, "") for m in protocol.advice] or [""]
            longest = (max(titles, key=len), longest_short_when(language))
            for answer, step in ((1, longest), (2, None)):
                text = _compose(
                    milestone,
                    protocol,
                    patient,
                    "sms",
                    language,
                    answer,
                    WORST_EMERGENCY_NUMBER,
                    step,
                )
                whole = answer != 1 or "\n\n" in text
                if not fits_sms(text) or not whole:
                    problems.append(
                        f"{milestone.key}.replies.{language}: the SMS answer to {answer} does "
                        f"not fit 2 GSM-7 segments with the longest values ({len(text)} chars)"
                    )
    return problems
