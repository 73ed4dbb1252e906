"""A patient's conversation as staff read it: one list of bubbles, oldest first, each with
its time in the clinic's zone, its channel and, for what we sent, its delivery state.

Protocol reminders are stored without text (they are rendered when sent), so they are
rendered again here from the same inputs the dispatcher used. Telegram texts are sent as
HTML; staff read them as plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.strings import EN, text
from messages.milestones import passed_milestones, welcome_timeline
from messages.protocol import INVITE, Protocol
from messages.render import RenderContext, render_text
from storage.patient_messages import PatientMessages, PatientWrote, SentToPatient

_TAG = re.compile(r"<[^>]+>")
# Reminder statuses as the dashboard names them (strings "state.*").
_STATES = {
    "pending": "sending",
    "claimed": "sending",
    "sending": "sending",
    "sent": "sent",
    "in_doubt": "in_doubt",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
    "skipped": "cancelled",
}


BubbleKind = Literal["patient", "automatic", "reminder", "staff"]


@dataclass(frozen=True)
class Bubble:
    kind: BubbleKind
    who: str  # "Patient", "Automatic answer", "Reminder: Makeup", "Reply by …"
    text: str | None  # None: the text is gone (retention or erasure)
    at: datetime
    when: str  # in the clinic's zone
    when_iso: str
    channel: str  # a label: SMS, Telegram
    state: str | None = None  # for what we sent: sending, sent, delivered, failed, …
    note: str | None = None  # why it failed, for a staff reply
    current: bool = False  # the message this escalation is about
    gone: str = ""  # what to say instead of a text that is not there

    @property
    def direction(self) -> Literal["in", "out"]:
        return "in" if self.kind == "patient" else "out"

    @property
    def state_label(self) -> str:
        return text(f"state.{self.state}") if self.state else ""


def plain(telegram_html: str) -> str:
    """A Telegram HTML text as plain text."""
    return html.unescape(_TAG.sub("", telegram_html))


def channel_label(channel: str) -> str:
    key = f"channel.{channel}"
    return text(key) if key in EN else channel


def delivery_state(status: str, delivery_status: str | None) -> str:
    if delivery_status == "delivered":
        return "delivered"
    if delivery_status in ("undelivered", "failed"):
        return "failed"
    return _STATES.get(status, "sent")


@dataclass(frozen=True)
class Renderer:
    """What re-rendering a protocol reminder needs besides the reminder itself."""

    protocols: Mapping[str, Protocol]
    default_protocol: Protocol
    context: RenderContext  # the patient's name and language, the clinic's name and phone
    patient_zone: str

    def title(self, entry: SentToPatient) -> str:
        if entry.milestone == INVITE:
            return text("conversation.invite")
        protocol = self.protocols.get(entry.protocol, self.default_protocol)
        try:
            titles = protocol.milestone(entry.milestone).title
        except KeyError:
            return entry.milestone
        return titles.get(self.context.locale) or titles.get("en") or entry.milestone

    def text(self, entry: SentToPatient) -> str | None:
        """The text as sent; None for one that cannot be made again here (an invite's
        link is single-use, a milestone the protocol no longer has)."""
        if entry.milestone == INVITE:
            return None
        protocol = self.protocols.get(entry.protocol, self.default_protocol)
        try:
            zone = ZoneInfo(self.patient_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        rendering: Literal["sms", "telegram"] = "sms" if entry.channel == "sms" else "telegram"
        context = self.context
        if any(m.key == entry.milestone for m in protocol.before):
            context = context.with_appointment(entry.performed_at, zone, entry.at)
        try:
            passed = passed_milestones(entry.performed_at, protocol, zone, entry.registered_at)
            timeline = welcome_timeline(entry.performed_at, protocol, zone, entry.at)
            written = render_text(
                protocol,
                entry.milestone,
                rendering,
                context,
                passed=passed,
                timeline=timeline if passed else None,
            )
        except (KeyError, ValueError):  # a milestone the protocol no longer has
            return None
        return plain(written) if rendering == "telegram" else written


def bubbles(
    messages: PatientMessages,
    renderer: Renderer,
    zone: tzinfo,
    current_conversation: int | None = None,
) -> list[Bubble]:
    """Every message of the patient, oldest first."""
    found: list[Bubble] = []
    for wrote in messages.wrote:
        found.extend(_exchange(wrote, zone, current_conversation))
    for entry in messages.sent:
        found.append(_sent(entry, renderer, zone))
    found.sort(key=lambda bubble: (bubble.at, bubble.direction == "out"))
    return found


def _exchange(wrote: PatientWrote, zone: tzinfo, current: int | None) -> list[Bubble]:
    when, when_iso = local_time(wrote.at, zone), wrote.at.astimezone(zone).isoformat()
    channel = channel_label(wrote.channel)
    said = Bubble(
        "patient",
        text("conversation.patient"),
        wrote.text,
        wrote.at,
        when,
        when_iso,
        channel,
        current=wrote.conversation_id == current,
        gone=text("conversation.removed"),
    )
    if wrote.answer is None:
        return [said]
    answer = wrote.answer
    if answer is not None and wrote.channel == "telegram":
        answer = plain(answer)
    return [
        said,
        Bubble(
            "automatic",
            text("conversation.automatic"),
            answer,
            wrote.at,
            when,
            when_iso,
            channel,
            "sent",
            gone=text("conversation.removed"),
        ),
    ]


def _sent(entry: SentToPatient, renderer: Renderer, zone: tzinfo) -> Bubble:
    state = delivery_state(entry.status, entry.delivery_status)
    kind: BubbleKind = "staff" if entry.is_staff_reply else "reminder"
    if entry.is_staff_reply:
        who = text("conversation.staff_reply", email=entry.staff_email or "staff")
        body = entry.body
        note = entry.last_error if state in ("failed", "cancelled", "expired") else None
        gone = text("conversation.removed")
    else:
        who = text("conversation.reminder", title=renderer.title(entry))
        body = renderer.text(entry)
        note = None
        gone = text("conversation.not_shown")
    return Bubble(
        kind,
        who,
        body,
        entry.at,
        local_time(entry.at, zone),
        entry.at.astimezone(zone).isoformat(),
        channel_label(entry.channel),
        state,
        note,
        gone=gone,
    )
