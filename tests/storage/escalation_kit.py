"""Escalations for tests, written the way the conversation core writes them."""

from __future__ import annotations

from datetime import datetime, timedelta

from aftercare.wiring import Core
from scheduler.planning import NewPatient, Registration
from storage.conversations import ConversationRepository
from storage.patients import ClinicView


def enroll(
    core: Core,
    clinic: ClinicView,
    external_id: str,
    treated_at: datetime,
    *,
    first_name: str | None = "Ana",
    phone: str | None = "+15550001111",
    chat_id: int | None = None,
    channel: str | None = None,
    timezone: str = "America/New_York",
) -> Registration:
    return core.planner.register(
        clinic.id,
        NewPatient(external_id, timezone, "en", first_name, phone, chat_id, channel),
        treated_at,
    )


def escalate(
    core: Core,
    clinic: ClinicView,
    patient_id: int,
    words: str,
    at: datetime,
    category: str = "red_flag",
    channel: str = "sms",
) -> int:
    """A message from the patient that escalated; returns the escalation's id."""
    recorded = ConversationRepository(core.db).record(
        patient_id=patient_id,
        clinic_id=clinic.id,
        channel=channel,
        inbound_text=words,
        reply_text="Please contact your clinic.",
        topic=category,
        language="en",
        category=category,
        at=at,
        alert_quiet_period=timedelta(hours=1),
    )
    assert recorded is not None and recorded.escalation_id is not None
    return recorded.escalation_id
