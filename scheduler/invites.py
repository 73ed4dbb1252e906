"""The Telegram invite SMS: planned at enrollment for a patient enrolled for Telegram who has
a phone, its link made when it is sent.

The clinic need not hand the link over: the first SMS the patient gets carries it. Only the
token's hash is stored (storage.invites); the token is derived from a secret kept in the
database and the reminder's id, so a resend of the same SMS carries the same link.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from messages.protocol import INVITE
from scheduler.quiet_hours import QuietHours
from scheduler.timeline import PlannedReminder
from storage.db import Database
from storage.invites import InviteRepository, reminder_token
from storage.signing_keys import signing_secret

# How long an invite SMS may wait (quiet hours, a provider outage) before it is stale.
INVITE_WINDOW = timedelta(days=3)
# Due this much before the welcome due with it, so the engine texts it first: the invite is
# then the number's first text, with the opt-out line, and the welcome follows.
AHEAD_OF_WELCOME = timedelta(seconds=1)
SECRET_NAME = "sms_invite"


def wants_invite(channel: str, phone: str | None, telegram_chat_id: int | None) -> bool:
    """Enrolled for Telegram, not on it yet, and reachable by SMS meanwhile."""
    return channel == "telegram" and bool(phone) and telegram_chat_id is None


def plan_invite(
    registered_at: datetime, zone: ZoneInfo, quiet: QuietHours | None, *, now: bool = False
) -> PlannedReminder:
    """The invite SMS, due with the welcome at registration (after quiet hours, unless
    `now`), just ahead of it."""
    welcome_due = registered_at if now or quiet is None else quiet.defer(registered_at, zone)
    due = welcome_due - AHEAD_OF_WELCOME
    return PlannedReminder(INVITE, due, welcome_due + INVITE_WINDOW, registered_at)


class InviteLinks:
    """Makes the link an invite SMS carries, as it is sent: the invite is stored (by hash)
    then, valid for `ttl` from that moment."""

    def __init__(self, db: Database, link: Callable[[str], str], ttl: timedelta) -> None:
        self._db = db
        self._link = link
        self._ttl = ttl
        self._invites = InviteRepository(db)
        self._secret: bytes | None = None

    def for_reminder(self, reminder_id: int, patient_id: int, now: datetime) -> str:
        """Blocking (database): call it from a worker thread."""
        if self._secret is None:
            self._secret = signing_secret(self._db, SECRET_NAME, now)
        token = reminder_token(self._secret, reminder_id)
        self._invites.ensure(patient_id, token, now, self._ttl)
        return self._link(token)
