"""Named secrets for signing cookies: made once, on first use, and shared through the
database by every process that serves the dashboard (no setting to get wrong)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import SigningKey


def signing_secret(db: Database, name: str, now: datetime) -> bytes:
    """The secret called `name`, created if there is none yet."""
    for _ in range(2):
        with db.session() as session:
            found = session.scalar(select(SigningKey.secret).where(SigningKey.name == name))
        if found is not None:
            return bytes.fromhex(found)
        try:
            with db.session() as session:
                session.add(SigningKey(name=name, secret=secrets.token_hex(32), created_at=now))
        except IntegrityError:
            pass  # another process made it at the same moment: read theirs
    raise RuntimeError(f"signing key {name!r} could not be read or made")
