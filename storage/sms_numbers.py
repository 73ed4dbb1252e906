"""Which phone numbers have had an SMS from us: the first text a number gets says how to
opt out and get help (carriers ask it of an A2P program's first message), later ones don't.

Numbers are kept as a SHA-256 of their E.164 form, and kept after a patient is erased: the
number has still had its first text, whoever it belongs to now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.conversations import dialect_insert
from storage.db import Database
from storage.models import SmsFirstContact


def number_hash(phone: str) -> str:
    return hashlib.sha256(phone.strip().encode()).hexdigest()


def mark_contacted(session: Session, phones: Iterable[str], at: datetime) -> None:
    """Record, in the caller's transaction, that these numbers have had a text."""
    keys = sorted({number_hash(phone) for phone in phones})
    if not keys:
        return
    session.execute(
        dialect_insert(session, SmsFirstContact)
        .values([{"number_hash": key, "first_sent_at": at} for key in keys])
        .on_conflict_do_nothing(index_elements=["number_hash"])
    )


class SmsFirstContacts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def never_texted(self, phones: Iterable[str]) -> set[str]:
        """Those of `phones` that have never had an SMS from us."""
        by_hash = {number_hash(phone): phone for phone in set(phones)}
        if not by_hash:
            return set()
        with self._db.session() as session:
            known = set(
                session.scalars(
                    select(SmsFirstContact.number_hash).where(
                        SmsFirstContact.number_hash.in_(list(by_hash))
                    )
                )
            )
        return {phone for key, phone in by_hash.items() if key not in known}

    def mark(self, phones: Iterable[str], at: datetime) -> None:
        with self._db.session() as session:
            mark_contacted(session, phones, at)
