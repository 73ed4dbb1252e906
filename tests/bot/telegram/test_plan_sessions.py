"""/plan with a series of sessions, through the fake Telegram Bot API: the plan of the latest
session that has happened, and the next session when the clinic has booked one ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.views import plan_message
from messages.protocol_files import load_protocol
from scheduler.clock import FakeClock
from storage.models import Reminder, Treatment
from storage.patients import ClinicView
from storage.plans import PlanRow
from tests.bot.telegram.chat_kit import Chat
from tests.bot.telegram.conftest import book, enrol
from tests.bot.telegram.test_commands import bound
from tests.fakes.telegram_api import FakeTelegramApi


async def test_plan_shows_the_session_that_happened_and_the_next_one_booked(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    await bound(fake_api, tg_core, glow)  # treated Mon 2 Mar 08:00 in New York
    chat = Chat(fake_api)
    [alone] = await chat.says("/plan")
    assert "next session" not in alone.text

    assert book(tg_core, glow, "2026-03-09 10:00", "B-2") == "new session"
    clock.advance(timedelta(hours=30))  # Tuesday 16:00

    [plan] = await chat.says("/plan")
    lines = plan.text.splitlines()
    assert lines[0] == "<b>Your aftercare plan</b> (treatment Mon 2 Mar, 08:00, America/New_York):"
    assert lines[3].startswith("🔔 Wed 4 Mar, 08:00:")
    # The 14-day step would fall after the next session, whose own plan takes over: it is
    # not promised here.
    assert not any("16 Mar" in line for line in lines)
    assert lines[-1] == "📅 Your next session: <b>Mon 9 Mar, 10:00</b>"

    clock.advance(timedelta(days=7))  # Tuesday 10 March: the second session has happened
    [later] = await chat.says("/plan")
    lines = later.text.splitlines()
    assert lines[0] == (
        "<b>Your aftercare plan</b> (treatment Mon 9 Mar, 10:00, America/New_York):"
    )
    assert "next session" not in later.text


async def test_an_invite_opened_before_the_appointment_shows_it_and_sends_no_advice_yet(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    registration, token = enrol(tg_core, glow, -timedelta(days=2))  # Wed 4 Mar 10:00
    greeting, plan = await Chat(fake_api).says(f"/start {token}", replies=2)
    assert "Ana" in greeting.text
    lines = plan.text.splitlines()
    assert lines[0].startswith("<b>Your aftercare plan</b> (treatment Wed 4 Mar, 10:00")
    assert all(line.startswith("🔔") for line in lines[1:-1])
    assert lines[-1] == "📅 Your next session: <b>Wed 4 Mar, 10:00</b>"
    # The welcome is the session's own: it still comes an hour after it, not now.
    assert statuses(tg_core, registration.treatment_id)["welcome"] == "pending"


async def test_an_invite_opened_between_sessions_leaves_the_next_sessions_plan_alone(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
) -> None:
    first, token = enrol(tg_core, glow, timedelta(days=2))  # Sat 28 Feb 10:00
    assert book(tg_core, glow, "2026-03-09 10:00", "B-2") == "new session"
    replies = await Chat(fake_api).says(f"/start {token}", replies=3)
    assert "Your next session: <b>Mon 9 Mar, 10:00</b>" in replies[1].text
    # The chat shows the first session's welcome now; the second keeps its own.
    assert statuses(tg_core, first.treatment_id)["welcome"] == "skipped"
    [second] = [t for t in treatment_ids(tg_core) if t != first.treatment_id]
    assert set(statuses(tg_core, second).values()) == {"pending"}


def statuses(core: Core, treatment_id: int) -> dict[str, str]:
    with core.db.session() as session:
        rows = session.execute(
            select(Reminder.milestone, Reminder.status).where(Reminder.treatment_id == treatment_id)
        ).all()
    return {milestone: str(status) for milestone, status in rows}


def treatment_ids(core: Core) -> list[int]:
    with core.db.session() as session:
        return list(session.scalars(select(Treatment.id).order_by(Treatment.id)))


def test_the_next_session_is_named_in_the_patients_language_and_zone() -> None:
    treated = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    now = treated + timedelta(hours=2)
    protocol = load_protocol(None)
    rows = [PlanRow("welcome", "sent", treated)]
    madrid = ZoneInfo("Europe/Madrid")
    message = plan_message(
        protocol,
        treated,
        rows,
        madrid,
        now,
        "es",
        next_session=datetime(2026, 3, 30, 8, 30, tzinfo=UTC),  # summer time by then
    )
    assert message.splitlines()[-1] == "📅 Tu próxima sesión: <b>lun 30 mar, 10:30</b>"
    assert "próxima sesión" not in plan_message(protocol, treated, rows, madrid, now, "es")


async def test_self_registration_takes_past_times_only_even_after_a_zone_change(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    """Clinics enroll appointments ahead; a patient registers after their treatment, so a
    time that turns out to be ahead once the zone is changed is still refused."""
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    [ask_zone] = await chat.says("today 9:30")  # 10:00 in New York: half an hour ago
    assert "Mon 2 Mar, 09:30" in ask_zone.text
    await chat.taps("r:zone:change")
    # 09:30 in Los Angeles is 12:30 in New York: still ahead, refused as soon as it is known.
    refusal, ask_again = await chat.says("Los Angeles", replies=2)
    assert "still ahead of us" in refusal.text
    assert "When was your treatment?" in ask_again.text
    assert treatment_ids(tg_core) == []
