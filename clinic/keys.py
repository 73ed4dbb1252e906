"""Per-clinic API keys. A key is shown once; only its SHA-256 is stored.

Keys carry 256 random bits, so a fast hash is enough (no password stretching needed), and a
recognisable prefix so a leaked key is easy to spot in code or logs.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "ack_"  # aftercare clinic key


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def plausible_key(text: str) -> bool:
    """Cheap shape check before touching the database."""
    return text.startswith(KEY_PREFIX) and 20 <= len(text) <= 100 and text.isascii()
