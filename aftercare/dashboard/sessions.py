"""Sign-in sessions, CSRF tokens and the browser cookies that carry them.

A session is a row (storage.staff) found by the SHA-256 of a random token; the cookie
holds the token, signed, so a forged cookie is refused before the database is asked.
A session idle for longer than DASHBOARD_IDLE_HOURS is over; signing out deletes it.
Forms carry a CSRF token derived from the session (nothing more to store); the sign-in
form, which comes before any session, compares a random value in a cookie of its own
with the one in the form.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Final

from aftercare.dashboard.signing import derive, same, sign, unsign
from scheduler.clock import Clock
from storage.db import Database
from storage.signing_keys import signing_secret
from storage.staff import SessionView, StaffStore

SESSION_COOKIE: Final = "aftercare_session"
DEVICE_COOKIE: Final = "aftercare_device"  # "this browser signed in as X before"
LOGIN_COOKIE: Final = "aftercare_login"  # the sign-in form's CSRF value
DEVICE_LIFETIME: Final = timedelta(days=180)
# last_seen_at is written at most this often: a page view is not a write each time.
TOUCH_EVERY: Final = timedelta(minutes=1)
PRUNE_EVERY: Final = timedelta(minutes=10)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    view: SessionView
    csrf_token: str


@dataclass(frozen=True)
class ExpiredSession:
    """The cookie named a session that has been idle too long (now ended)."""


EXPIRED: Final = ExpiredSession()


class Sessions:
    def __init__(self, db: Database, clock: Clock, idle: timedelta) -> None:
        self._db = db
        self._clock = clock
        self.idle = idle
        self.store = StaffStore(db)
        self._pruned_at: datetime | None = None

    @cached_property
    def _secret(self) -> bytes:
        return signing_secret(self._db, "dashboard", self._clock.now())

    # -- sessions --------------------------------------------------------------------------

    def open(self, staff_id: int) -> str:
        """A new session for the staff member; returns the cookie value."""
        now = self._clock.now()
        self._prune(now)
        token = secrets.token_urlsafe(32)
        self.store.open_session(staff_id, token_hash(token), now)
        return sign(self._secret, "session", token)

    def current(self, cookie: str | None) -> LiveSession | ExpiredSession | None:
        token = self._token(cookie)
        if token is None:
            return None
        hashed = token_hash(token)
        view = self.store.session(hashed)
        if view is None:
            return None
        now = self._clock.now()
        if now - view.last_seen_at >= self.idle:
            self.store.end_session(view.session_id)
            return EXPIRED
        if now - view.last_seen_at >= TOUCH_EVERY:
            self.store.touch(view.session_id, now)
        return LiveSession(view, derive(self._secret, "csrf", hashed))

    def end(self, cookie: str | None) -> None:
        token = self._token(cookie)
        if token is None:
            return
        view = self.store.session(token_hash(token))
        if view is not None:
            self.store.end_session(view.session_id)

    def _token(self, cookie: str | None) -> str | None:
        if not cookie or len(cookie) > 200:
            return None
        return unsign(self._secret, "session", cookie)

    def _prune(self, now: datetime) -> None:
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self.store.end_idle_sessions(now - self.idle)

    # -- the sign-in form's CSRF value -----------------------------------------------------

    @staticmethod
    def new_login_token() -> str:
        return secrets.token_urlsafe(24)

    @staticmethod
    def login_token_matches(cookie: str | None, field: str | None) -> bool:
        return bool(cookie and field) and same(cookie or "", field or "")

    # -- browsers that signed in before ----------------------------------------------------

    def device_cookie(self, staff_id: int, nonce: str | None = None) -> tuple[str, str]:
        """(cookie value, nonce): marks this browser as one the staff member used."""
        nonce = nonce or secrets.token_urlsafe(16)
        return sign(self._secret, "device", f"{staff_id}:{nonce}"), nonce

    def device_nonce(self, cookie: str | None, staff_id: int) -> str | None:
        """The nonce of a device cookie that this staff member's sign-in made."""
        if not cookie or len(cookie) > 200:
            return None
        value = unsign(self._secret, "device", cookie)
        if value is None:
            return None
        owner, _, nonce = value.partition(":")
        return nonce if owner == str(staff_id) and nonce else None
