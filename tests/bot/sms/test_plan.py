"""SMS "PLAN" through the real app with Twilio-signed requests, on SQLite and PostgreSQL: the
patient's next steps, briefly, and their next session when one is booked ahead."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from clinic.importer import Importer
from messages import gsm7
from messages.protocol_files import load_protocol
from messages.sms_plan import fits, plan_text
from messages.when import format_when
from storage.enrollment import EnrollmentStore
from storage.models import Conversation, InboundMessage
from tests.bot.sms.conftest import SmsHarness
from tests.bot.sms.test_webhooks import reply_of

NEW_YORK = ZoneInfo("America/New_York")


def book(sms: SmsHarness, at: datetime, appointment: str | None, status: str = "Booked") -> str:
    """The clinic's booking export names patient P1's session; returns the row's action."""
    export = (
        "external_id,treatment_at,appointment_id,status\n"
        f"P1,{at.isoformat()},{appointment or ''},{status}\n"
    ).encode()
    core = sms.core
    store = EnrollmentStore(core.db)
    importer = Importer(store, core.planner, invite_ttl=timedelta(days=1), invite_link=None)
    actions: list[str] = []
    importer.run(
        store.profile(sms.clinic.slug),
        io.BytesIO(export),
        on_row=lambda o: actions.append(o.action),
    )
    [action] = actions
    return action


def counts(sms: SmsHarness) -> tuple[int, int]:
    """(conversations, inbound message ids) stored."""
    with sms.core.db.session() as session:
        conversations = session.scalar(select(func.count()).select_from(Conversation))
        inbound = session.scalar(select(func.count()).select_from(InboundMessage))
    return int(conversations or 0), int(inbound or 0)


async def test_plan_lists_the_next_steps_in_the_patients_time(sms: SmsHarness) -> None:
    sms.register(treated_ago=timedelta(hours=1))  # Mon 2 Mar 09:00 in New York

    [text] = reply_of(await sms.text_in("PLAN"))

    assert text.splitlines()[:2] == [
        "Your next aftercare steps:",
        "- Makeup can go back on: tomorrow at 9:00 am",
    ]
    assert "session" not in text
    assert fits(text)
    assert not sms.inbound.calls  # a keyword, not a question for the FAQ
    assert counts(sms) == (0, 1)  # its id is recorded, so a redelivery is ignored


async def test_plan_names_the_next_session_booked_ahead(sms: SmsHarness) -> None:
    sms.register(treated_ago=timedelta(hours=1))
    booked = datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)  # the clocks went forward on the 8th
    assert book(sms, booked, "B-2") == "new session"

    [text] = reply_of(await sms.text_in("plan please"))

    assert text.splitlines()[-1] == "Your next session: Mon 9 Mar at 10:00 am."
    assert "Makeup can go back on" in text  # the current session's steps still come first
    assert fits(text)


async def test_plan_answers_a_spanish_patient_in_spanish(sms: SmsHarness) -> None:
    sms.register(language="es", treated_ago=timedelta(hours=1))
    book(sms, datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK), "B-2")

    [text] = reply_of(await sms.text_in("Plan"))

    lines = text.splitlines()
    assert lines[0] == "Tus proximos pasos de cuidado:"
    assert lines[-1] == "Tu proxima sesion: el lun 9 mar a las 10:00."
    assert gsm7.is_gsm7(text)


async def test_plan_when_every_session_was_cancelled(sms: SmsHarness) -> None:
    sms.register(treated_ago=timedelta(hours=-48))  # booked for Wednesday, no appointment id
    assert book(sms, sms.clock.now() + timedelta(hours=48), None, "Cancelled") == "cancelled"

    [text] = reply_of(await sms.text_in("PLAN"))

    assert text == (
        "We have no aftercare plan for you at the moment. Questions: call Glow Skin Clinic "
        "on +15551234567."
    )


async def test_no_reply_once_the_number_has_opted_out(sms: SmsHarness) -> None:
    sms.register()
    await sms.text_in("STOP")
    assert reply_of(await sms.text_in("PLAN")) == []


async def test_help_mentions_plan(sms: SmsHarness) -> None:
    sms.register()
    [text] = reply_of(await sms.text_in("HELP"))
    assert "PLAN for your next steps" in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_longest_plan_fits_two_segments_and_keeps_the_next_session(language: str) -> None:
    protocol = load_protocol(None)
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    zone = ZoneInfo("UTC")
    # Every step still ahead, each at the longest time of day a date can print.
    pending = [
        (m.key, now + timedelta(days=30 + i, hours=11)) for i, m in enumerate(protocol.advice)
    ]
    session = now + timedelta(days=60, hours=11)
    text = plan_text(protocol, pending, session, zone, now, language)
    assert fits(text), (len(text), text)
    lines = text.splitlines()
    assert format_when(session, zone, now, language) in lines[-1]
    assert 3 <= len(lines) <= len(protocol.advice) + 2  # header, some steps, the session


def test_past_steps_and_check_ins_are_not_listed() -> None:
    protocol = load_protocol(None)
    now = datetime(2026, 3, 3, 12, tzinfo=UTC)
    zone = ZoneInfo("UTC")
    pending = [("makeup", now - timedelta(hours=1)), ("checkin_72h", now + timedelta(days=1))]
    assert plan_text(protocol, pending, None, zone, now, "en") == (
        "Your timed aftercare steps are all behind you."
    )
