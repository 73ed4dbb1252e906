"""A clinic's API key hash, read and replaced by clinic id (for the dashboard)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Clinic
from storage.patients import NotFoundError


def has_api_key(db: Database, clinic_id: int) -> bool:
    with db.session() as session:
        return (
            session.scalar(select(Clinic.api_key_hash.is_not(None)).where(Clinic.id == clinic_id))
            is True
        )


def replace_api_key(
    db: Database,
    clinic_id: int,
    key_hash: str,
    audit: Callable[[Session], None] | None = None,
) -> None:
    """The old key stops working when this commits, together with its audit entry."""
    with db.session() as session:
        changed = session.execute(
            update(Clinic).where(Clinic.id == clinic_id).values(api_key_hash=key_hash)
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            raise NotFoundError(f"no clinic {clinic_id}")
        if audit is not None:
            audit(session)
