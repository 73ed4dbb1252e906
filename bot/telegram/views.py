"""Pure pieces of what the bot shows: local times, the plan, time zone look-up."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from messages.milestones import milestone_times
from messages.protocol import Protocol
from messages.telegram_texts import MONTHS, WEEKDAYS, raw, text
from storage.models import ReminderStatus
from storage.plans import PlanRow


def format_local(instant: datetime, zone: ZoneInfo, language: str) -> str:
    """'Mon 2 Mar, 10:00' / 'lun 2 mar, 10:00' in the patient's zone, whatever the locale."""
    local = instant.astimezone(zone)
    weekday = WEEKDAYS.get(language, WEEKDAYS["en"])[local.weekday()]
    month = MONTHS.get(language, MONTHS["en"])[local.month - 1]
    return f"{weekday} {local.day} {month}, {local:%H:%M}"


def plan_lines(
    protocol: Protocol,
    performed_at: datetime,
    rows: Sequence[PlanRow],
    zone: ZoneInfo,
    now: datetime,
    language: str,
) -> list[str]:
    """One line per timed milestone: reached ones ticked, upcoming ones with the time the
    reminder will arrive (after quiet hours). An upcoming one whose reminder was cancelled
    (a newer session takes over from its start) is left out: it will not come."""
    by_key = {row.milestone: row for row in rows}
    locale = language if language in protocol.locales else protocol.locales[0]
    lines = []
    for key, reached in milestone_times(performed_at, protocol, zone).items():
        milestone = protocol.milestone(key)
        title = milestone.title[locale] if milestone.title else key
        row = by_key.get(key)
        when = row.due_at if row is not None and row.status == ReminderStatus.PENDING else reached
        done = reached <= now
        if not done and row is not None and row.status == ReminderStatus.CANCELLED:
            continue
        lines.append(
            text(
                "plan_done" if done else "plan_next",
                language,
                when=format_local(when if not done else reached, zone, language),
                title=title,
            )
        )
    return lines


def plan_message(
    protocol: Protocol,
    performed_at: datetime,
    rows: Sequence[PlanRow],
    zone: ZoneInfo,
    now: datetime,
    language: str,
    paused: bool = False,
    next_session: datetime | None = None,
) -> str:
    """The plan of the session shown (`performed_at`), then the next session when one is
    booked ahead."""
    lines = plan_lines(protocol, performed_at, rows, zone, now, language)
    header = text(
        "plan_header",
        language,
        when=format_local(performed_at, zone, language),
        zone=zone.key,
    )
    parts = [header, *lines]
    if next_session is not None:
        when = format_local(next_session, zone, language)
        parts.append(text("plan_next_session", language, when=when))
    if paused:
        parts.append(text("plan_paused_note", language))
    elif all(line.startswith("✅") for line in lines):
        parts.append(text("plan_all_done", language))
    return "\n".join(parts)


def confirmation_message(
    protocol: Protocol, treated_at: datetime, zone: ZoneInfo, now: datetime, language: str
) -> str:
    """The plan a registering patient is asked to confirm (nothing is stored yet)."""
    lines = plan_lines(protocol, treated_at, [], zone, now, language)
    return raw(
        "confirm_plan",
        language,
        when=html.escape(format_local(treated_at, zone, language)),
        zone=html.escape(zone.key),
        plan="\n".join(lines),
    )


@cache
def _zones() -> dict[str, str]:
    """Lower-case IANA names and city names ('new york', 'mexico city') to IANA names."""
    names: dict[str, str] = {}
    cities: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in name:
            continue
        names[name.lower()] = name
        city = name.rsplit("/", 1)[1].replace("_", " ").lower()
        # Prefer the canonical continent zones over legacy aliases such as US/Eastern.
        if city not in cities or not name.startswith(("US/", "Canada/", "Mexico/", "Brazil/")):
            cities.setdefault(city, name)
    return {**cities, **names}


def find_zone(typed: str) -> str | None:
    """An IANA zone from what the patient typed: a zone name or a city in it."""
    cleaned = " ".join(typed.strip().replace("_", " ").split()).lower()
    if not cleaned:
        return None
    zones = _zones()
    return zones.get(cleaned) or zones.get(cleaned.replace(" ", "_"))
