"""Through the fake Twilio API, on both databases: the first text a number ever gets says how
to opt out and get help, later ones don't; a check-in waits out quiet hours like any
reminder; STOP after a check-in is an opt-out, not an answer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from aftercare.wiring import build_inbound
from messages import gsm7
from messages.first_sms import OPT_OUT_LINES
from scheduler.ports import Channel
from storage.checkins import CheckinRepository
from storage.models import Patient, Reminder
from tests.bot.sms.conftest import PATIENT_PHONE, SmsFactory, SmsHarness, at_local, replies

ENGLISH_LINE = "\nReply STOP to opt out, HELP for help."
SPANISH_LINE = "\nResponde BAJA para salir, AYUDA: ayuda."


def bodies(sms: SmsHarness, to: str = PATIENT_PHONE) -> list[str]:
    return [r.form["Body"] for r in sms.api.created if r.form["To"] == to]


def reminder_rows(sms: SmsHarness, patient_id: int) -> dict[str, Reminder]:
    with sms.core.db.session() as session:
        rows = session.scalars(select(Reminder).where(Reminder.patient_id == patient_id))
        return {r.milestone: r for r in rows}


async def test_the_first_text_to_a_number_carries_the_opt_out_line_and_later_ones_do_not(
    sms: SmsHarness,
) -> None:
    sms.register(treated_ago=timedelta(hours=1))

    assert await sms.dispatcher.dispatch_due() == 1
    [welcome] = bodies(sms)
    assert welcome.endswith(ENGLISH_LINE)
    assert welcome.startswith("Glow Skin Clinic: Hi Ana!")
    cost = gsm7.cost(welcome)
    assert cost.encoding == "GSM-7" and cost.segments <= 2

    sms.clock.advance(timedelta(hours=23))  # makeup and the 24-hour check-in
    assert await sms.dispatcher.dispatch_due() == 2
    later = bodies(sms)[1:]
    assert len(later) == 2
    assert all("Reply STOP" not in body for body in later)


async def test_a_number_texted_before_gets_no_line_whoever_the_patient_and_a_new_one_does(
    sms: SmsHarness,
) -> None:
    sms.register("P1")
    await sms.dispatcher.dispatch_due()
    # Another patient at the same number (a family phone), enrolled later: not first.
    sms.register("P2", first_name="Bea")
    # A Spanish-speaking patient at a number we never texted: first, in Spanish.
    sms.register("P3", phone="+15550002222", language="es", first_name="Mónica")

    assert await sms.dispatcher.dispatch_due() == 2

    [first, second] = bodies(sms)
    assert first.endswith(ENGLISH_LINE) and "Hi Ana" in first
    assert "Hi Bea" in second and "Reply STOP" not in second
    [spanish] = bodies(sms, "+15550002222")
    assert spanish.endswith(SPANISH_LINE) and "Hola Monica" in spanish
    assert gsm7.cost(spanish).segments <= 2
    assert SPANISH_LINE.strip() == OPT_OUT_LINES["es"]


async def test_a_first_text_that_timed_out_is_recognised_by_its_body_and_not_sent_twice(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory(twilio_timeout_seconds=0.2)
    patient_id = sms.register()
    sms.api.accept_then_stall(2.0)  # Twilio takes the text; its answer never comes in time

    assert await sms.dispatcher.dispatch_due() == 0
    [accepted] = sms.api.created
    assert accepted.form["Body"].endswith(ENGLISH_LINE)
    welcome = reminder_rows(sms, patient_id)["welcome"]
    sms.clock.set(welcome.next_attempt_at)
    # The number is still new, so the retry's text is the same, line included: the copy
    # Twilio already has is found by it and recorded, not sent again.
    assert await sms.dispatcher.dispatch_due() == 1
    assert sms.api.created == [accepted]
    assert reminder_rows(sms, patient_id)["welcome"].provider_message_id == accepted.sid

    sms.register("P2")  # the same number, now texted: no line
    await sms.dispatcher.dispatch_due()
    assert "Reply STOP" not in bodies(sms)[-1]


async def test_a_check_in_due_in_quiet_hours_waits_for_the_morning(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory(quiet_hours="21:00-08:00")
    # Treated at 22:30 New York time: the 24-hour check-in would fall at 22:30 next day.
    evening = at_local(sms.clock, 22, 30)
    sms.clock.set(evening)
    patient_id = sms.register(treated_ago=timedelta(0))
    checkin = reminder_rows(sms, patient_id)["checkin_24h"]
    morning = at_local(sms.clock, 8, 0) + timedelta(days=1)
    assert checkin.due_at == morning

    sms.clock.set(evening + timedelta(days=1))
    await sms.dispatcher.dispatch_due()
    assert not any("Reply 1 = as expected" in body for body in bodies(sms))

    sms.clock.set(morning)
    await sms.dispatcher.dispatch_due()
    assert sum("Reply 1 = as expected" in body for body in bodies(sms)) == 1


async def test_stop_after_a_check_in_opts_out_and_is_no_answer(sms_factory: SmsFactory) -> None:
    sms = await sms_factory()
    channels: dict[str, Channel] = {"sms": sms.adapter.channel}
    sms.adapter.webhooks.inbound = build_inbound(sms.core, channels)
    patient_id = sms.register()
    await sms.dispatcher.dispatch_due()
    sms.clock.advance(timedelta(hours=23))
    await sms.dispatcher.dispatch_due()  # the 24-hour check-in is out
    assert any("Reply 1 = as expected" in body for body in bodies(sms))

    response = await sms.text_in("STOP")

    assert replies(response) == []
    with sms.core.db.session() as session:
        patient = session.get(Patient, patient_id)
        assert patient is not None and patient.sms_opted_out
    rows = reminder_rows(sms, patient_id)
    assert CheckinRepository(sms.core.db).answers(rows["checkin_24h"].treatment_id) == []
    # And no more texts: the day-3 check-in is not sent.
    sent_before = len(sms.api.created)
    sms.clock.advance(timedelta(days=2))
    await sms.dispatcher.dispatch_due()
    assert len(sms.api.created) == sent_before
    assert reminder_rows(sms, patient_id)["checkin_72h"].status == "cancelled"


async def test_a_check_in_answered_by_text_is_recorded_and_3_alerts_the_clinic(
    sms_factory: SmsFactory,
) -> None:
    sms = await sms_factory()
    channels: dict[str, Channel] = {"sms": sms.adapter.channel}
    sms.adapter.webhooks.inbound = build_inbound(sms.core, channels)
    sms.alert_staff_by_sms()
    patient_id = sms.register()
    await sms.dispatcher.dispatch_due()
    sms.clock.advance(timedelta(hours=23))
    await sms.dispatcher.dispatch_due()

    response = await sms.text_in("3")

    [answer] = replies(response)
    assert "needs your clinic's attention now" in answer
    [alert] = sms.staff_alerts()
    assert alert.startswith("Escalation ") and "(red flag)" in alert
    rows = reminder_rows(sms, patient_id)
    [stored] = CheckinRepository(sms.core.db).answers(rows["checkin_24h"].treatment_id)
    assert stored.answer == 3
