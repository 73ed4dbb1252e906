"""Rendering a milestone for one patient, channel and locale."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from messages import gsm7
from messages.protocol import (
    APPOINTMENT_TIME,
    EMERGENCY_NUMBER,
    SMS_SEGMENT_BUDGET,
    WELCOME,
    WELCOME_CHAR_BUDGET,
    WORST_CASE_VALUES,
    Channel,
    Milestone,
    Protocol,
)
from messages.when import format_offset, format_short_when, format_when, longest_short_when

_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.!?;:])")
# The longest names an SMS carries: the budget checks assume them (protocol.WORST_CASE_VALUES).
SMS_NAME_LIMITS = {"first_name": 20, "clinic_name": 40}


@dataclass(frozen=True)
class RenderContext:
    first_name: str | None
    clinic_name: str
    clinic_phone: str
    locale: str
    # EMERGENCY_NUMBER: texts that speak of an emergency name it. Required, so no caller
    # falls back to a number that is not the deployment's.
    emergency_number: str = field(kw_only=True)
    # The booked treatment as the patient reads it ("tomorrow at 9:30 am"): only texts
    # before the treatment name it (`with_appointment`).
    appointment_time: str | None = None

    def with_locale(self, locale: str) -> RenderContext:
        return replace(self, locale=locale)

    def with_appointment(
        self, treated_at: datetime, zone: ZoneInfo, now: datetime
    ) -> RenderContext:
        """The appointment named relative to `now`, the moment the text is sent, so a
        reminder held back by quiet hours or a retry still names the day rightly."""
        return replace(self, appointment_time=format_when(treated_at, zone, now, self.locale))


@dataclass(frozen=True)
class Timeline:
    """When each timed milestone of the patient's treatment is reached (aware instants),
    their zone, and the moment the text is written: a late welcome then says until when
    each thing is still off, in the patient's own time."""

    milestones: Mapping[str, datetime]
    zone: ZoneInfo
    now: datetime


def shorten(value: str, limit: int) -> str:
    """`value` cut to `limit` characters, at a word boundary when there is one."""
    value = value.strip()
    if len(value) <= limit:
        return value
    cut = value[: limit + 1].rsplit(" ", 1)[0].strip()
    return cut if 0 < len(cut) <= limit else value[:limit]


def _values(protocol: Protocol, channel: Channel, context: RenderContext) -> dict[str, str]:
    first_name = (context.first_name or "").strip() or protocol.first_name_fallback.get(
        context.locale, ""
    )
    values = {
        "first_name": first_name,
        "clinic_name": context.clinic_name,
        "clinic_phone": context.clinic_phone,
        EMERGENCY_NUMBER: context.emergency_number,
    }
    if context.appointment_time is not None:
        values[APPOINTMENT_TIME] = context.appointment_time
    if channel == "sms":
        values.update({key: shorten(values[key], size) for key, size in SMS_NAME_LIMITS.items()})
        # A name such as "Mónica" would push the whole SMS into UCS-2 and double its cost.
        return {key: gsm7.to_gsm7(value) for key, value in values.items()}
    return {key: html.escape(value, quote=False) for key, value in values.items()}


def _fill(template: str, values: Mapping[str, str]) -> str:
    return _SPACE_BEFORE_PUNCT.sub(r"\1", template.format(**values)).strip()


def _locale(protocol: Protocol, context: RenderContext) -> RenderContext:
    locale = context.locale if context.locale in protocol.locales else protocol.locales[0]
    return context.with_locale(locale)


def _when_for(
    channel: Channel, locale: str, timeline: Timeline | None
) -> Callable[[Milestone], str]:
    def when(milestone: Milestone) -> str:
        reached = timeline.milestones.get(milestone.key) if timeline is not None else None
        if timeline is None or reached is None:
            return format_offset(milestone.offset, locale)
        if channel == "sms":
            return format_short_when(reached, timeline.zone, timeline.now, locale)
        return format_when(reached, timeline.zone, timeline.now, locale)

    return when


def render_late_welcome(
    protocol: Protocol,
    channel: Channel,
    context: RenderContext,
    passed: Sequence[str],
    when: Callable[[Milestone], str],
) -> str:
    """The welcome for a patient who registers after some milestones: greeting and warning
    signs, what is still off and until when, what is allowed again, what applies every day.

    An SMS must stay within the welcome budget, so it always keeps the greeting, warning
    signs, what is still off and the daily part, then adds what is allowed again, newest
    first, while it fits. Once no still-off line remains, the newest allowed-again line is
    kept too: it is the one that says what stays off after it ("still no scrubs").
    """
    context = _locale(protocol, context)
    locale = context.locale
    values = _values(protocol, channel, context)
    welcome = protocol.welcome
    assert welcome.late_intro is not None

    def line(template: str, milestone: Milestone | None = None) -> str:
        extra = {}
        if milestone is not None:
            moment = when(milestone)
            extra["when"] = gsm7.to_gsm7(moment) if channel == "sms" else html.escape(moment)
        return _fill(template, {**values, **extra})

    intro = line(welcome.late_intro[locale].get(channel))
    still_off = [
        line(m.still_off[locale].get(channel), m)
        for m in protocol.timed
        if m.key not in passed and m.still_off is not None
    ]
    reached = [m for m in protocol.timed if m.key in passed and m.catch_up is not None]
    catch_up = {
        m.key: line(m.catch_up[locale].get(channel)) for m in reached if m.catch_up is not None
    }
    outro = [line(welcome.late_outro[locale].get(channel))] if welcome.late_outro else []
    if channel == "telegram":
        middle = "\n".join([*still_off, *catch_up.values()])
        return "\n\n".join(part for part in (intro, middle, *outro) if part)

    def compose(keys: Sequence[str]) -> str:
        kept = [catch_up[m.key] for m in reached if m.key in keys]
        return "\n".join([intro, *still_off, *kept, *outro])

    newest_first = [m.key for m in reversed(reached)]
    chosen = newest_first[:1] if newest_first and not still_off else []
    for key in newest_first:
        if key not in chosen and len(compose([*chosen, key])) <= WELCOME_CHAR_BUDGET:
            chosen.append(key)
    return compose(chosen)


def render_text(
    protocol: Protocol,
    key: str,
    channel: Channel,
    context: RenderContext,
    passed: Sequence[str] = (),
    *,
    timeline: Timeline | None = None,
) -> str:
    """The text of milestone `key`; for the welcome, `passed` names milestones already behind
    the patient, in which case the welcome says what applies now instead of the first-day
    rules. With the patient's `timeline`, what is still off is given until a date and time
    in their zone; without it, as a day after treatment."""
    context = _locale(protocol, context)
    milestone = protocol.milestone(key)
    if milestone.kind == "before" and context.appointment_time is None:
        raise ValueError(f"{key} is before the treatment: its text needs the appointment time")
    if milestone.late_intro is not None and passed:
        when = _when_for(channel, context.locale, timeline)
        return render_late_welcome(protocol, channel, context, passed, when)
    return _fill(milestone.text[context.locale].get(channel), _values(protocol, channel, context))


def longest_sms_whens(locale: str) -> list[Callable[[Milestone], str]]:
    """`when` texts as long as an SMS late welcome can get: a date from a timeline, or the
    day-after-treatment form used without one."""
    longest = longest_short_when(locale)
    return [lambda _milestone: longest, lambda milestone: format_offset(milestone.offset, locale)]


def sms_budget_problems(protocol: Protocol) -> list[str]:
    """Every SMS rendering, with the longest allowed values, must fit the segment budget
    and keep FIRST_SMS_RESERVE characters free: any of them may be the first SMS a number
    gets, which also carries the opt-out line (messages.first_sms)."""
    problems = []
    for locale in protocol.locales:
        context = RenderContext(**WORST_CASE_VALUES, locale=locale)
        cases: list[tuple[str, str]] = [
            (m.key, render_text(protocol, m.key, "sms", context)) for m in protocol.milestones
        ]
        passed: list[str] = []
        for milestone in protocol.timed:
            passed.append(milestone.key)
            for when in longest_sms_whens(locale):
                text = render_late_welcome(protocol, "sms", context, passed, when)
                cases.append((f"{WELCOME} after {milestone.key}", text))
        for label, text in cases:
            budget = WELCOME_CHAR_BUDGET
            cost = gsm7.cost(text)
            if cost.encoding != "GSM-7" or cost.segments > SMS_SEGMENT_BUDGET or len(text) > budget:
                problems.append(
                    f"{label}.{locale}.sms: {len(text)} characters, {cost.segments} "
                    f"{cost.encoding} segments with the longest names (budget: "
                    f"{budget} characters in {SMS_SEGMENT_BUDGET} segments)"
                )
    return sorted(set(problems), key=problems.index)
