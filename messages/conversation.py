"""The conversation core: one patient message in, one reply out. Pure and channel-agnostic.

Telegram and SMS both call `reply`, so they answer identically; only the rendering differs.
Order matters: warning signs first (they must never be missed behind an FAQ topic), then
the best FAQ topic, answered against the patient's own timeline when we know it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from messages import gsm7
from messages.answers import LOCALES, FaqLocale, Text, keyword_models, load_faq
from messages.faq import UNKNOWN, classify, detect_language
from messages.lexicon import Lexicon, Tokens
from messages.milestones import milestone_times
from messages.protocol import Channel, Protocol
from messages.redflags import WORDS as WARNING_WORDS
from messages.redflags import check
from messages.render import SMS_NAME_LIMITS, shorten
from messages.when import format_when

# Why a message is put before the clinic's staff. A red flag and an emergency alert them;
# a check-in answered "not sure" (2) is a low-priority item they see, with no alert.
Category = Literal["red_flag", "emergency", "checkin_concern"]
ALERTING: frozenset[str] = frozenset({"red_flag", "emergency"})
SMS_CHAR_BUDGET = 306
SMS_SEGMENT_BUDGET = 2


@dataclass(frozen=True)
class PatientContext:
    """What the reply needs to know about a registered patient."""

    first_name: str | None
    language: str
    timezone: ZoneInfo
    treated_at: datetime | None  # the current treatment; None if there is none
    clinic_name: str
    clinic_phone: str
    protocol: Protocol | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    topic: str  # an FAQ topic, "unknown", "red_flag", "emergency" or "checkin"
    escalate: bool
    category: Category | None  # why it escalated
    language: str
    also: str | None = None  # a second topic the message asked about, answered too if room


@cache
def _lexicon() -> Lexicon:
    """FAQ and warning-sign words together: each word of a message is looked up once."""
    return Lexicon(keyword_models().words | WARNING_WORDS)


def choose_language(
    patient: PatientContext | None, text: str, hint: str | None, default: str
) -> str:
    """A registered patient's stored language; otherwise what the text is written in, then
    the channel's hint (a Telegram user's app language), then the service default."""
    if patient is not None and patient.language in LOCALES:
        return patient.language
    fallback = hint if hint in LOCALES else default
    return detect_language(text, default=fallback if fallback in LOCALES else "en")


def fits_sms(text: str) -> bool:
    cost = gsm7.cost(text)
    return (
        cost.encoding == "GSM-7"
        and cost.segments <= SMS_SEGMENT_BUDGET
        and len(text) <= SMS_CHAR_BUDGET
    )


class _Renderer:
    """Fills templates for one channel: plain GSM-7 values for SMS, escaped for Telegram."""

    def __init__(self, channel: Channel, values: Mapping[str, str]) -> None:
        self.channel = channel
        self.values = {key: self.value(text) for key, text in values.items()}

    def value(self, text: str) -> str:
        if self.channel == "sms":
            return gsm7.to_gsm7(text)
        return html.escape(text, quote=False)

    def __call__(self, template: Text, **extra: str) -> str:
        values = dict(self.values)
        values.update({key: self.value(text) for key, text in extra.items()})
        return template.get(self.channel).format_map(values).strip()


def _schedule(
    faq: FaqLocale,
    patient: PatientContext,
    protocol: Protocol,
    now: datetime,
    render: _Renderer,
    language: str,
) -> str:
    answer = faq.topics["schedule"].answer
    assert patient.treated_at is not None
    times = milestone_times(patient.treated_at, protocol, patient.timezone)
    # The steps of the aftercare; check-ins ask a question when they come, and are no step.
    advice = {m.key for m in protocol.advice}
    upcoming = [(key, when) for key, when in times.items() if when > now and key in advice]
    if not upcoming:
        return render(answer["finished"])
    lines: list[str] = []
    text = ""
    for key, when in upcoming:
        titles = protocol.milestone(key).title
        title = titles.get(language) or next(iter(titles.values()))
        line = render(
            answer["step"], title=title, when=format_when(when, patient.timezone, now, language)
        )
        candidate = render(answer["upcoming"], steps="\n".join([*lines, line]))
        if render.channel == "sms" and not fits_sms(candidate) and lines:
            break  # the next reminder will tell them the rest
        lines.append(line)
        text = candidate
    return text


def _topic_answer(
    faq: FaqLocale,
    topic: str,
    patient: PatientContext | None,
    now: datetime,
    render: _Renderer,
    language: str,
) -> str:
    entry = faq.topics[topic]
    protocol = patient.protocol if patient is not None else None
    if patient is None or patient.treated_at is None or protocol is None:
        return render(entry.answer["general"])
    if topic == "schedule":
        return _schedule(faq, patient, protocol, now, render, language)
    if entry.milestone is None or entry.milestone not in {m.key for m in protocol.timed}:
        return render(entry.answer["general"])
    reached = milestone_times(patient.treated_at, protocol, patient.timezone)[entry.milestone]
    when = format_when(reached, patient.timezone, now, language)
    return render(entry.answer["after" if reached <= now else "before"], when=when)


def reply(
    patient: PatientContext | None,
    text: str,
    now: datetime,
    channel: Channel = "sms",
    *,
    language: str | None = None,
    emergency_number: str = "911",
    default_language: str = "en",
) -> Reply:
    """Answer one message. `patient` is None for a sender we cannot match to a patient;
    `language` is a hint used only for such senders."""
    lang = choose_language(patient, text, language, default_language)
    faq = load_faq(lang)
    render = _faq_renderer(faq, patient, channel, emergency_number)
    found = _lexicon().index(Tokens.of(text))
    finding = check(found)
    if finding is not None:
        body = render(faq.topics[finding.category].answer["general"])
        return Reply(body, finding.category, True, finding.category, lang)
    match = classify(found, keyword_models(), faq.threshold)
    body = _topic_answer(faq, match.topic, patient, now, render, lang)
    also = match.secondary if match.topic != UNKNOWN else None
    if also is not None:
        extra = _topic_answer(faq, also, patient, now, render, lang)
        combined = f"{body}\n\n{extra}"
        if channel == "telegram" or fits_sms(combined):
            body = combined
        else:
            body = with_ask_separately(body, faq, also, render)
    return Reply(body, match.topic, False, None, lang, also)


def _faq_renderer(
    faq: FaqLocale, patient: PatientContext | None, channel: Channel, emergency_number: str
) -> _Renderer:
    clinic_name = patient.clinic_name if patient is not None else ""
    if channel == "sms":
        clinic_name = shorten(clinic_name, SMS_NAME_LIMITS["clinic_name"])
    contact = (
        faq.values.contact_known.format(clinic_name=clinic_name, clinic_phone=patient.clinic_phone)
        if patient is not None
        else faq.values.contact_unknown
    )
    return _Renderer(
        channel,
        {
            "contact": contact,
            "emergency_number": emergency_number,
            # Only a registered patient's clinic is alerted.
            "alerted": faq.values.alerted if patient is not None else "",
        },
    )


def red_flag_reply(
    patient: PatientContext, channel: Channel, language: str, emergency_number: str
) -> Reply:
    """The answer to a described warning sign, word for word (a check-in answered "3")."""
    language = language if language in LOCALES else "en"
    faq = load_faq(language)
    render = _faq_renderer(faq, patient, channel, emergency_number)
    body = render(faq.topics["red_flag"].answer["general"])
    return Reply(body, "red_flag", True, "red_flag", language)


def with_ask_separately(body: str, faq: FaqLocale, other: str, render: _Renderer) -> str:
    """An SMS answer that has no room for the second question's answer says it saw it
    ("Ask me about alcohol separately."), giving up the closing line if it must."""
    note = render.value(faq.values.ask_separately.format(title=faq.topics[other].title))
    closing = render.value(faq.values.closing)
    shorter = body.removesuffix(closing).rstrip()
    for candidate in (f"{body}\n{note}", f"{shorter}\n{note}"):
        if fits_sms(candidate):
            return candidate
    return body
