"""Staff passwords: Argon2id hashes (argon2-cffi), length rules, one-time passwords."""

from __future__ import annotations

import secrets
from functools import cached_property
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aftercare.dashboard.strings import text

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 1024  # hashing cost does not depend on it much, but memory and bodies do
# No look-alike characters (0/o, 1/l/i), so a password read out at the front desk is typed
# right; 4 groups of 5 from 30 symbols is about 98 bits.
_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz2345679"


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return text("accounts.password_short", min=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return text("accounts.password_long", max=MAX_LENGTH)
    if not password.strip():
        return text("accounts.password_blank")
    return None


def one_time_password() -> str:
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))
    return "-".join(groups)


class Passwords:
    """Hashing and checking. The hasher's parameters are argon2-cffi's defaults (RFC 9106
    low-memory profile) unless a test passes a cheaper one."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> str:
        problem = password_problem(password)
        if problem:
            raise ValueError(problem)
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        if len(password) > MAX_LENGTH:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    @cached_property
    def _decoy(self) -> str:
        return self._hasher.hash(secrets.token_urlsafe(16))

    def verify_nobody(self, password: str) -> None:
        """Spend the time a real check takes, for an email with no account, so the
        answer's timing does not tell which emails have one."""
        self.verify(self._decoy, password)
