"""Single-use, expiring onboarding tokens. Only a hash is stored; the token carries no data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.conversations import dialect_insert
from storage.db import Database
from storage.models import Invite

TOKEN_BYTES = 18  # 24 URL-safe characters; Telegram's start parameter allows up to 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_invite(session: Session, patient_id: int, now: datetime, ttl: timedelta) -> str:
    """Create an invite inside the caller's transaction; returns the token (shown once)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        Invite(
            patient_id=patient_id,
            token_hash=token_hash(token),
            expires_at=now + ttl,
            created_at=now,
        )
    )
    return token


def reminder_token(secret: bytes, reminder_id: int) -> str:
    """The token of the invite an SMS reminder carries: derived from a stored secret and the
    reminder, so every attempt at that SMS carries the same link (a resend after a timeout
    is recognised as the same text) while the token itself is still never stored."""
    digest = hmac.new(secret, f"sms-invite:{reminder_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode()


class InviteRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, patient_id: int, now: datetime, ttl: timedelta) -> str:
        with self._db.session() as session:
            return new_invite(session, patient_id, now, ttl)

    def ensure(self, patient_id: int, token: str, now: datetime, ttl: timedelta) -> None:
        """An invite for this token, made unless it exists (the same SMS sent again)."""
        with self._db.session() as session:
            session.execute(
                dialect_insert(session, Invite)
                .values(
                    patient_id=patient_id,
                    token_hash=token_hash(token),
                    expires_at=now + ttl,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["token_hash"])
            )

    def redeem(self, token: str, now: datetime) -> int | None:
        """The patient id if the token is valid, unused and unexpired; it is then used up."""
        with self._db.session() as session:
            invite = session.scalar(select(Invite).where(Invite.token_hash == token_hash(token)))
            if invite is None or invite.used_at is not None or invite.expires_at <= now:
                return None
            claimed = session.execute(
                update(Invite)
                .where(Invite.id == invite.id, Invite.used_at.is_(None))
                .values(used_at=now)
            ).rowcount  # type: ignore[attr-defined]
            return invite.patient_id if claimed == 1 else None
