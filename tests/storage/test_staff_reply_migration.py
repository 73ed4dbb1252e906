"""Migration 0010 on a database that already has data: SQLite rebuilds the reminder table
(rows that refer to reminders stay valid), PostgreSQL swaps the constraint for an index;
both can go back to 0009 and forward again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.migrate import alembic_config, upgrade
from tests.conftest import PG_ADMIN

ROWS = [
    "INSERT INTO clinic (id, slug, name, phone, timezone, country, language, created_at)"
    " VALUES (1, 'glow', 'Glow', '+15551234567', 'UTC', 'US', 'en', '2026-03-01 10:00:00')",
    "INSERT INTO patient (id, clinic_id, external_id, timezone, language, channel,"
    " sms_opted_out, sms_unreachable, telegram_unreachable, paused, created_at)"
    " VALUES (1, 1, 'P1', 'UTC', 'en', 'sms', false, false, false, false,"
    " '2026-03-01 10:00:00')",
    "INSERT INTO treatment (id, patient_id, performed_at, registered_at, protocol)"
    " VALUES (1, 1, '2026-03-01 10:00:00', '2026-03-01 10:00:00', 'microneedling')",
    "INSERT INTO reminder (id, treatment_id, patient_id, milestone, channel, due_at,"
    " expires_at, next_attempt_at, status, attempts)"
    " VALUES (1, 1, 1, 'checkin_24h', 'sms', '2026-03-02 10:00:00', '2026-03-03 10:00:00',"
    " '2026-03-02 10:00:00', 'sent', 1)",
    "INSERT INTO conversation (id, patient_id, clinic_id, channel, escalated, created_at)"
    " VALUES (1, 1, 1, 'sms', false, '2026-03-02 11:00:00')",
    "INSERT INTO checkin_answer (id, treatment_id, patient_id, reminder_id, milestone,"
    " answer, conversation_id, answered_at)"
    " VALUES (1, 1, 1, 1, 'checkin_24h', 1, 1, '2026-03-02 11:00:00')",
]


def _reminder(milestone: str, reminder_id: int) -> str:
    return (
        "INSERT INTO reminder (id, treatment_id, patient_id, milestone, channel, due_at,"
        " expires_at, next_attempt_at, status, attempts)"
        f" VALUES ({reminder_id}, 1, 1, '{milestone}', 'sms', '2026-03-02 10:00:00',"
        " '2026-03-03 10:00:00', '2026-03-02 10:00:00', 'pending', 0)"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (the shared fixtures are migrated already)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"aftercare_migration_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _execute(url: str, *statements: str) -> None:
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        db.dispose()


def _scalar(url: str, statement: str) -> object:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return conn.execute(text(statement)).scalar()
    finally:
        db.dispose()


def test_upgrading_keeps_rows_that_refer_to_reminders_and_allows_many_staff_replies(
    empty_database: str,
) -> None:
    url = empty_database
    upgrade(url, "0009")
    _execute(url, *ROWS)

    upgrade(url)

    assert _scalar(url, "SELECT reminder_id FROM checkin_answer") == 1
    assert _scalar(url, "SELECT milestone FROM reminder WHERE id = 1") == "checkin_24h"
    _execute(url, _reminder("staff_reply", 2), _reminder("staff_reply", 3))
    with pytest.raises(IntegrityError):
        _execute(url, _reminder("checkin_24h", 4))
    db = Database(url)
    indexes = {index["name"] for index in inspect(db.engine).get_indexes("reminder")}
    db.dispose()
    # The rebuild (SQLite) keeps every index of the table.
    assert {
        "ix_reminder_queue",
        "ix_reminder_lease",
        "ix_reminder_provider_id",
        "ix_reminder_settled",
        "ix_reminder_patient_id",
        "uq_reminder_treatment_milestone",
    } <= indexes


def test_downgrading_drops_staff_replies_and_upgrading_again_works(empty_database: str) -> None:
    url = empty_database
    upgrade(url)
    _execute(url, *ROWS, _reminder("staff_reply", 2))

    command.downgrade(alembic_config(url), "0009")

    assert _scalar(url, "SELECT COUNT(*) FROM reminder") == 1
    with pytest.raises(IntegrityError):
        _execute(url, _reminder("checkin_24h", 4))
    upgrade(url)
    assert _scalar(url, "SELECT COUNT(*) FROM checkin_answer") == 1
