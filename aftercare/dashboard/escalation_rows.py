"""Escalations as the inbox and the escalation page show them: category labels and badge
styles (any category, known or not), the patient's name, and how long ago."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.conversation_view import channel_label
from aftercare.dashboard.strings import EN, text
from storage.escalations import InboxItem, priority_of

WORDS_SHOWN = 280  # of the patient's message, in the inbox list


def category_label(category: str) -> str:
    key = f"category.{category}"
    return text(key) if key in EN else category.replace("_", " ").capitalize()


def category_style(category: str) -> str:
    """The badge's class: one per known category, one for any other."""
    return f"priority-{category}" if f"category.{category}" in EN else "priority-other"


def patient_name(first_name: str | None, erased: bool, known: bool = True) -> str:
    if not known:
        return text("inbox.unknown")
    if erased:
        return text("inbox.erased")
    return first_name or text("inbox.no_name")


def ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return text("ago.now")
    if seconds < 3600:
        return text("ago.minutes", n=seconds // 60)
    if seconds < 86400:
        return text("ago.hours", n=seconds // 3600)
    days = seconds // 86400
    return text("ago.day") if days == 1 else text("ago.days", n=days)


def shortened(words: str, limit: int = WORDS_SHOWN) -> str:
    if len(words) <= limit:
        return words
    return words[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class InboxRow:
    id: int
    category: str
    category_label: str
    category_style: str
    priority: int
    name: str
    external_id: str
    channel: str
    ago: str
    when: str  # the local time, for the tooltip and screen readers
    when_iso: str
    words: str | None


def inbox_row(item: InboxItem, now: datetime, zone: tzinfo) -> InboxRow:
    return InboxRow(
        id=item.escalation_id,
        category=item.category,
        category_label=category_label(item.category),
        category_style=category_style(item.category),
        priority=priority_of(item.category),
        name=patient_name(item.first_name, item.erased, item.patient_id is not None),
        external_id=item.external_id or "",
        channel=channel_label(item.channel) if item.channel else "",
        ago=ago(item.created_at, now),
        when=local_time(item.created_at, zone),
        when_iso=item.created_at.astimezone(zone).isoformat(timespec="seconds"),
        words=shortened(item.words) if item.words else None,
    )
