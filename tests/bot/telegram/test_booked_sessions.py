"""A patient between two sessions, through the fake Telegram Bot API: what they do in the
chat acts on the session that has happened and leaves the one the clinic booked ahead alone.

The clinic is in New York; it is Monday 2 March 2026, 10:00 there (the FakeClock's T0), and
the patient was treated at 08:00 (`bound`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from storage.models import Reminder, Treatment
from storage.patients import ClinicView
from tests.bot.telegram.chat_kit import Chat
from tests.bot.telegram.conftest import book, enrol
from tests.bot.telegram.test_commands import bound
from tests.fakes.telegram_api import FakeTelegramApi

TREATED = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # Mon 2 Mar 08:00 in New York
BOOKED = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Mon 9 Mar 10:00 in New York (EDT)


@dataclass(frozen=True)
class SessionState:
    cancelled: bool
    reminders: dict[str, tuple[datetime, str]]  # milestone -> (due, status)

    def statuses(self) -> set[str]:
        return {status for _, status in self.reminders.values()}


def sessions(core: Core) -> dict[datetime, SessionState]:
    """Each session of the patients, by its time."""
    with core.db.session() as session:
        found = {}
        for treatment in session.scalars(select(Treatment)):
            rows = session.scalars(select(Reminder).where(Reminder.treatment_id == treatment.id))
            found[treatment.performed_at] = SessionState(
                treatment.cancelled_at is not None,
                {r.milestone: (r.due_at, str(r.status)) for r in rows},
            )
        return found


async def register_again(chat: Chat, when: str) -> None:
    """The patient self-registers a session through the clinic's public link."""
    await chat.opens_the_link_of("glow")
    await chat.says(when)
    await chat.taps("r:zone:ok")
    await chat.taps("r:lang:en")
    await chat.taps("r:name:skip")
    await chat.taps("r:confirm")


async def test_self_registering_a_session_leaves_the_one_booked_ahead_alone(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    await bound(fake_api, tg_core, glow)
    assert book(tg_core, glow, "2026-03-09 10:00", "B-2") == "new session"
    chat = Chat(fake_api)

    await register_again(chat, "today 9:00")

    found = sessions(tg_core)
    registered = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert set(found) == {TREATED, registered, BOOKED}
    # The session booked ahead keeps its appointment and its whole plan.
    assert not found[BOOKED].cancelled
    assert found[BOOKED].statuses() == {"pending"}
    # The earlier session happened: it is over, not cancelled; what it had left never goes.
    assert not found[TREATED].cancelled
    assert "pending" not in found[TREATED].statuses()
    # The new session's plan runs until the booked one takes over.
    new = found[registered]
    assert not new.cancelled
    for milestone, (due, status) in new.reminders.items():
        assert status == ("cancelled" if due >= BOOKED else "pending"), milestone
    assert new.reminders["sunscreen"][1] == "cancelled"  # day 14 falls after the next visit

    [plan] = await chat.says("/plan")
    lines = plan.text.splitlines()
    assert lines[0] == "<b>Your aftercare plan</b> (treatment Mon 2 Mar, 09:00, America/New_York):"
    assert lines[-1] == "📅 Your next session: <b>Mon 9 Mar, 10:00</b>"


async def test_treatment_corrects_the_session_that_happened_not_the_one_booked_ahead(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    await bound(fake_api, tg_core, glow)
    assert book(tg_core, glow, "2026-03-09 10:00", "B-2") == "new session"
    chat = Chat(fake_api)

    intro, _ask_day = await chat.says("/treatment", replies=2)
    assert "currently <b>Mon 2 Mar, 08:00</b>" in intro.text
    done, plan = await chat.says("today 9:30", replies=2)

    assert "changed to <b>Mon 2 Mar, 09:30</b>" in done.text
    assert "Your next session: <b>Mon 9 Mar, 10:00</b>" in plan.text
    found = sessions(tg_core)
    corrected = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert set(found) == {corrected, BOOKED}
    assert found[corrected].reminders["makeup"][0] == corrected + timedelta(days=1)
    assert found[BOOKED].statuses() == {"pending"}
    assert found[BOOKED].reminders["welcome"][0] == BOOKED + timedelta(hours=1)


async def test_a_corrected_plan_still_ends_where_the_booked_session_starts(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    await bound(fake_api, tg_core, glow)
    # Booked 14 days later at 09:15, just after the day-14 sunscreen step of the session
    # that happened: that step stays the current plan's...
    booked = datetime(2026, 3, 16, 13, 15, tzinfo=UTC)
    assert book(tg_core, glow, "2026-03-16 09:15", "B-2") == "new session"
    assert sessions(tg_core)[TREATED].reminders["sunscreen"][1] == "pending"
    chat = Chat(fake_api)

    # ...until the patient says they were treated later, which moves it past the booking.
    await chat.says("/treatment", replies=2)
    await chat.says("today 9:30", replies=2)

    corrected = sessions(tg_core)[datetime(2026, 3, 2, 14, 30, tzinfo=UTC)]
    due, status = corrected.reminders["sunscreen"]
    assert due >= booked and status == "cancelled"
    assert sessions(tg_core)[booked].statuses() == {"pending"}


async def test_treatment_with_only_a_session_booked_ahead_corrects_nothing(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    _registration, token = enrol(tg_core, glow, -timedelta(days=2))  # Wed 4 Mar 10:00
    await Chat(fake_api).says(f"/start {token}", replies=2)
    chat = Chat(fake_api)

    [reply] = await chat.says("/treatment")

    assert "Wed 4 Mar, 10:00" in reply.text and "+15551234567" in reply.text
    assert "hasn't happened yet" in reply.text
    assert reply.buttons() == []  # no time question: the appointment is the clinic's
    [(when, state)] = sessions(tg_core).items()
    assert when == datetime(2026, 3, 4, 15, 0, tzinfo=UTC) and state.statuses() == {"pending"}
