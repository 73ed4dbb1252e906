"""A clinic's own names for the import's columns (its booking system's export headers)."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Clinic
from storage.patients import NotFoundError


def column_map(db: Database, slug: str) -> dict[str, str]:
    """column -> the header cell the clinic's files use for it ({} when none is saved)."""
    with db.session() as session:
        clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise NotFoundError(f"no clinic {slug!r}")
        return dict(json.loads(clinic.column_map)) if clinic.column_map else {}


ClinicAudit = Callable[[Session, int], None]  # records a change, given the clinic's id


def change_clinic(
    db: Database, slug: str, change: Callable[[Clinic], None], audit: ClinicAudit | None
) -> None:
    """Apply `change` to the clinic's row; `audit` records it in the same transaction."""
    with db.session() as session:
        clinic = session.scalar(select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise NotFoundError(f"no clinic {slug!r}")
        change(clinic)
        if audit is not None:
            audit(session, clinic.id)


def save_days_ahead(
    db: Database, slug: str, days: int | None, audit: ClinicAudit | None = None
) -> None:
    """How many days ahead the clinic's appointments may be enrolled (None: built-in)."""

    def change(clinic: Clinic) -> None:
        clinic.days_ahead = days

    change_clinic(db, slug, change, audit)


def save_column_map(
    db: Database, slug: str, mapping: dict[str, str], audit: ClinicAudit | None = None
) -> None:
    """Replace the clinic's names; an empty mapping goes back to the built-in names."""

    def change(clinic: Clinic) -> None:
        clinic.column_map = json.dumps(mapping, sort_keys=True) if mapping else None

    change_clinic(db, slug, change, audit)
