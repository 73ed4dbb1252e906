"""The day-before reminder goes out like any reminder: the real dispatcher, the real twilio
client against the fake Twilio API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from messages.first_sms import OPT_OUT_LINES
from messages.protocol import DAY_BEFORE
from scheduler.planning import NewPatient
from storage.day_before import save_day_before
from tests.bot.sms.conftest import PATIENT_PHONE, SmsFactory, at_local
from tests.scheduler.engine_kit import reminders


async def test_the_day_before_it_texts_the_appointment_time_and_nothing_else(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory(quiet_hours="21:00-08:00")
    save_day_before(sms.core.db, sms.clinic.slug, True)
    appointment = at_local(sms.clock, 9, 30) + timedelta(days=2)
    registration = sms.core.planner.register(
        sms.clinic.id,
        NewPatient("P1", "America/New_York", language="en", first_name="Ana", phone=PATIENT_PHONE),
        appointment,
    )

    sms.clock.advance(appointment - timedelta(days=1) - sms.clock.now() - timedelta(minutes=1))
    assert await sms.dispatcher.dispatch_due() == 0  # a minute early
    sms.clock.advance(timedelta(minutes=1))
    assert await sms.dispatcher.dispatch_due() == 1

    [request] = sms.api.created
    body = request.form["Body"]
    assert request.form["To"] == PATIENT_PHONE
    assert body.startswith(
        "Glow Skin Clinic: Hi Ana, a reminder that your appointment with us is "
        "tomorrow at 9:30 am. See you then! To change it, call +15551234567."
    )
    # Its first text to this number: it carries the opt-out line, as any first SMS does.
    assert body.endswith(OPT_OUT_LINES["en"])
    row = reminders(sms.core, registration.treatment_id)[DAY_BEFORE]
    assert row.status == "sent" and row.sent_at == sms.clock.now()
    # The welcome waits for the treatment.
    assert reminders(sms.core, registration.treatment_id)["welcome"].status == "pending"
