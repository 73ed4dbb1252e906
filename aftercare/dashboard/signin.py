"""Checking a sign-in: password, throttle, session, audit. No HTTP here.

Failures are counted per account and per client address (storage.sign_in_throttle).
A browser that signed in to the account before (device cookie) is counted on its own
instead of with the account, so someone guessing a nurse's password from elsewhere does
not lock the nurse out at her own desk; and every block ends within MAX_BLOCK anyway.
Whether the email has an account never shows: the same message, the same time spent on
hashing, and throttling by the typed email whether it exists or not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from aftercare.dashboard.passwords import Passwords
from aftercare.dashboard.sessions import Sessions
from scheduler.clock import Clock
from storage.audit import AuditAction, AuditLog
from storage.sign_in_throttle import SignInThrottleStore, ThrottlePolicy
from storage.staff import StaffAccount, StaffFieldError, StaffStore, normalise_email

MAX_BLOCK: Final = timedelta(minutes=5)
ACCOUNT_POLICY: Final = ThrottlePolicy(
    free_failures=5,
    first_block=timedelta(seconds=30),
    max_block=MAX_BLOCK,
    forget_after=timedelta(minutes=15),
)
# An address may be a whole clinic behind one router: more room before it is slowed.
ADDRESS_POLICY: Final = ThrottlePolicy(
    free_failures=20,
    first_block=timedelta(seconds=30),
    max_block=MAX_BLOCK,
    forget_after=timedelta(minutes=15),
)
FORGET_EVERY: Final = timedelta(minutes=10)


def _key(kind: str, value: str) -> str:
    # Hashed: the typed email may be a password typed into the wrong field.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def account_key(email_text: str) -> str:
    return _key("account", email_text.strip().lower())


def address_key(address: str) -> str:
    return _key("address", address)


def device_key(nonce: str) -> str:
    return _key("device", nonce)


@dataclass(frozen=True)
class SignInResult:
    outcome: Literal["signed_in", "failed", "throttled"]
    account: StaffAccount | None = None
    session_cookie: str | None = None
    device_cookie: str | None = None


class SignIn:
    def __init__(
        self,
        store: StaffStore,
        sessions: Sessions,
        throttle: SignInThrottleStore,
        audit: AuditLog,
        passwords: Passwords,
        clock: Clock,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._throttle = throttle
        self._audit = audit
        self._passwords = passwords
        self._clock = clock
        self._forgotten_at: datetime | None = None

    def attempt(
        self, email_text: str, password: str, address: str, device_cookie: str | None
    ) -> SignInResult:
        """Runs Argon2 and several queries: call it off the event loop."""
        now = self._clock.now()
        account = self._account(email_text)
        nonce = (
            self._sessions.device_nonce(device_cookie, account.id) if account is not None else None
        )
        personal = device_key(nonce) if nonce else account_key(email_text)
        by_address = address_key(address)
        if self._throttle.blocked_until([personal, by_address], now) is not None:
            self._record(now, account, AuditAction.SIGN_IN_THROTTLED, address)
            return SignInResult("throttled")
        if account is None:
            self._passwords.verify_nobody(password)
        elif self._passwords.verify(account.password_hash, password):
            return self._succeed(account, password, personal, nonce, address, now)
        self._throttle.failed({personal: ACCOUNT_POLICY, by_address: ADDRESS_POLICY}, now)
        self._record(now, account, AuditAction.SIGN_IN_FAILED, address)
        self._forget_old(now)
        return SignInResult("failed")

    def _account(self, email_text: str) -> StaffAccount | None:
        try:
            email = normalise_email(email_text)
        except StaffFieldError:
            return None
        return self._store.by_email(email)

    def _succeed(
        self,
        account: StaffAccount,
        password: str,
        personal: str,
        nonce: str | None,
        address: str,
        now: datetime,
    ) -> SignInResult:
        self._throttle.clear(personal)
        new_hash = None
        if self._passwords.needs_rehash(account.password_hash):
            try:
                new_hash = self._passwords.hash(password)
            except ValueError:  # set before today's length rule: keep the old hash
                new_hash = None
        self._store.signed_in(account.id, now, new_hash)
        session_cookie = self._sessions.open(account.id)
        device_cookie, _ = self._sessions.device_cookie(account.id, nonce)
        self._record(now, account, AuditAction.SIGN_IN, address)
        return SignInResult("signed_in", account, session_cookie, device_cookie)

    def _record(
        self, now: datetime, account: StaffAccount | None, action: AuditAction, address: str
    ) -> None:
        # An unknown email belongs to no clinic; the typed text is not kept.
        self._audit.record(
            now,
            account.clinic_id if account else None,
            account.id if account else None,
            action,
            actor=account.email if account else None,
            address=address,
        )

    def _forget_old(self, now: datetime) -> None:
        if self._forgotten_at is None or now - self._forgotten_at >= FORGET_EVERY:
            self._forgotten_at = now
            self._throttle.forget(now - timedelta(days=1), now)
