"""Shared fixtures: real databases (a SQLite file and PostgreSQL), an injected clock."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from aftercare.settings import Settings
from aftercare.wiring import Core, build_core
from scheduler.clock import FakeClock
from storage.db import Database
from storage.migrate import upgrade
from storage.patients import ClinicView

PG_ADMIN = os.environ.get("TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
TABLES = (
    "alert_window, reminder, escalation, conversation, invite, inbound_message, treatment, "
    "patient, clinic, "
    "telegram_conversation, telegram_draft, lane_lease, "
    "staff_session, staff, sign_in_throttle, signing_key, audit_event, "
    "checkin_answer, sms_first_contact, clinic_protocol"
)
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own, so parallel runs never meet."""
    name = f"aftercare_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Each test that uses it runs twice: on a fresh SQLite file and on a clean PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "aftercare.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    db.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """For tests that are not about storage: SQLite only."""
    path = tmp_path / "aftercare.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": database_url, "quiet_hours": "off"}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def core(settings: Settings, clock: FakeClock) -> Iterator[Core]:
    built = build_core(settings, clock)
    yield built
    built.close()


@pytest.fixture
def clinic(core: Core) -> ClinicView:
    return core.patients.add_clinic(
        "glow", "Glow Skin Clinic", "+15551234567", "America/New_York", "US", "en"
    )
