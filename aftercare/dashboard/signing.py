"""HMAC-SHA256 signatures for cookie values and tokens derived from a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _mac(secret: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: bytes, purpose: str, value: str) -> str:
    """`value.signature`; `purpose` keeps a value signed for one use from passing another."""
    return f"{value}.{_mac(secret, purpose, value)}"


def unsign(secret: bytes, purpose: str, signed: str) -> str | None:
    """The value when the signature is right, else None."""
    value, dot, signature = signed.rpartition(".")
    if not dot or not value:
        return None
    if hmac.compare_digest(signature, _mac(secret, purpose, value)):
        return value
    return None


def derive(secret: bytes, purpose: str, value: str) -> str:
    """A token only the holder of `secret` can compute from `value` (e.g. a CSRF token)."""
    return _mac(secret, purpose, value)


def same(a: str, b: str) -> bool:
    """Constant-time equality for tokens."""
    return hmac.compare_digest(a.encode(), b.encode())
