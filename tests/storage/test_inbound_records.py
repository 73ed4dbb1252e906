"""Inbound records (issue 9): a message id is stored with what the message did or not at
all; one alert window row per patient and sign; statement parameters never logged."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from aftercare.wiring import Core
from storage.conversations import ConversationRepository, Recorded
from storage.db import Database, make_engine
from storage.migrate import upgrade
from storage.models import AlertWindow, Base, Conversation, Escalation, InboundMessage
from storage.patients import ClinicView
from tests.conftest import T0

HOUR = timedelta(hours=1)


@pytest.fixture
def patient_id(core: Core, clinic: ClinicView) -> int:
    from scheduler.planning import NewPatient

    patient = NewPatient("P1", "UTC", phone="+15550001111")
    return core.planner.register(clinic.id, patient, T0).patient_id


def record(core: Core, clinic: ClinicView, patient_id: int, **values: Any) -> Recorded | None:
    fields: dict[str, Any] = {
        "patient_id": patient_id,
        "clinic_id": clinic.id,
        "channel": "sms",
        "inbound_text": "I have a fever",
        "reply_text": "Please call your clinic.",
        "topic": "red_flag",
        "language": "en",
        "category": "red_flag",
        "at": T0,
        "alert_quiet_period": HOUR,
    }
    fields.update(values)
    return ConversationRepository(core.db).record(**fields)


def count(core: Core, model: type[Any]) -> int:
    with core.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_message_id_recorded_before_stores_nothing_again(
    core: Core, clinic: ClinicView, patient_id: int
) -> None:
    first = record(core, clinic, patient_id, inbound_id=("twilio", "SM1"))
    again = record(core, clinic, patient_id, inbound_id=("twilio", "SM1"))

    assert first is not None and first.alert_due
    assert again is None
    assert count(core, Conversation) == count(core, Escalation) == count(core, InboundMessage) == 1


def test_the_same_id_from_another_provider_is_another_message(
    core: Core, clinic: ClinicView, patient_id: int
) -> None:
    assert record(core, clinic, patient_id, inbound_id=("twilio", "X1")) is not None
    assert record(core, clinic, patient_id, inbound_id=("telegram", "X1")) is not None


def test_the_alert_window_opens_once_an_hour_and_reopens_when_an_alert_failed(
    core: Core, clinic: ClinicView, patient_id: int
) -> None:
    repository = ConversationRepository(core.db)
    first = record(core, clinic, patient_id)
    assert first is not None and first.alert_due
    assert record(core, clinic, patient_id, at=T0 + HOUR) is not None  # still within
    later = record(core, clinic, patient_id, at=T0 + HOUR + timedelta(seconds=1))
    assert later is not None and later.alert_due

    assert later.escalation_id is not None
    repository.alert_failed(later.escalation_id)
    retry = record(core, clinic, patient_id, at=T0 + HOUR + timedelta(seconds=2))

    assert retry is not None and retry.alert_due
    with core.db.session() as session:
        [window] = session.scalars(select(AlertWindow))
        assert (window.escalation_id, window.alerted_at) == (
            retry.escalation_id,
            T0 + HOUR + timedelta(seconds=2),
        )


def test_each_sign_has_its_own_window(core: Core, clinic: ClinicView, patient_id: int) -> None:
    assert record(core, clinic, patient_id).alert_due  # type: ignore[union-attr]
    emergency = record(core, clinic, patient_id, category="emergency")
    assert emergency is not None and emergency.alert_due


def test_migration_0003_matches_the_model_and_keeps_recent_alerts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clinic (id, slug, name, phone, timezone, country, language, "
                "created_at) VALUES (1, 'glow', 'Glow', '+15551234567', 'UTC', 'US', 'en', "
                "'2026-03-02 15:00:00.000000')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO patient (id, clinic_id, external_id, timezone, language, channel, "
                "sms_opted_out, sms_unreachable, telegram_unreachable, paused, created_at) "
                "VALUES (1, 1, 'P1', 'UTC', 'en', 'sms', 0, 0, 0, 0, '2026-03-02 15:00:00.000000')"
            )
        )
        for escalation_id, minute, alerted in ((1, 0, True), (2, 10, False), (3, 20, True)):
            at = f"2026-03-02 15:{minute:02d}:00.000000"
            conn.execute(
                text(
                    "INSERT INTO escalation (id, clinic_id, patient_id, category, created_at, "
                    "alerted_at) VALUES (:id, 1, 1, 'red_flag', :at, :alerted)"
                ),
                {"id": escalation_id, "at": at, "alerted": at if alerted else None},
            )
    upgrade(url, "0003")

    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT patient_id, category, escalation_id FROM alert_window"))
        assert rows.all() == [(1, "red_flag", 3)]
        context = MigrationContext.configure(conn)
        differences = [
            d for d in compare_metadata(context, Base.metadata) if "alert_window" in repr(d)
        ]
    db.dispose()
    assert differences == []


# -- parameters never reach the logs ------------------------------------------------------


def test_every_engine_hides_statement_parameters_even_when_asked_not_to(database_url: str) -> None:
    """The service's, the migrations' (storage/migrations/env.py) and the CLI's engines
    all come from make_engine."""
    engine = make_engine(database_url, hide_parameters=False)
    assert engine.hide_parameters
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_failing_statement_on_postgresql_keeps_the_patients_words_out_of_logs_and_errors(
    core: Core, clinic: ClinicView, patient_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The review's NUL byte, sent straight to storage (the webhooks now clean it first)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # statements and parameters
    words = "I have pus\x00 and fever"

    with pytest.raises(Exception) as failure:  # noqa: PT011 - the driver's own error type
        record(core, clinic, patient_id, inbound_text=words)
    logging.getLogger("test").exception("recording failed")

    assert "NUL" in str(failure.value) or "0x00" in str(failure.value)
    for where in (str(failure.value), caplog.text):
        assert "pus" not in where and "fever" not in where
