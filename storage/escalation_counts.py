"""The one figure every dashboard page shows: how many escalations are open."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Escalation


def open_escalations(db: Database, clinic_id: int) -> int:
    with db.session() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Escalation)
            .where(Escalation.clinic_id == clinic_id, Escalation.resolved_at.is_(None))
        )
    return count or 0
