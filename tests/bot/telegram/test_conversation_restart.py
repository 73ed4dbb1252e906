"""An unfinished self-registration survives a restart, and is forgotten after a day.

A restart is what the service does: the running Application is stopped, and a fresh one is
built on the same database and started (the clinic is in New York; it is 10:00 there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from aftercare.wiring import Core, build_core
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.conversation import ZONE
from bot.telegram.persistence import DatabasePersistence
from scheduler.clock import FakeClock
from storage.models import Patient, TelegramConversation, TelegramDraft, Treatment
from storage.patients import ClinicView
from storage.telegram import ConversationStateStore
from tests.bot.telegram.chat_kit import Chat, patients
from tests.bot.telegram.conftest import (
    CHAT,
    InboundDouble,
    telegram_adapter,
    telegram_settings,
)
from tests.bot.telegram.service import free_socket, serve
from tests.fakes.telegram_api import FakeTelegramApi

BYSTANDER = CHAT + 1


class Service:
    """Starts and restarts the Telegram adapter the way the service does."""

    def __init__(self, core: Core, inbound: InboundDouble) -> None:
        self.core = core
        self.inbound = inbound
        self.running: TelegramAdapter | None = None

    async def start(self) -> TelegramAdapter:
        self.running = telegram_adapter(self.core, self.inbound, poll_timeout=1.0)
        await self.running.start()
        return self.running

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None

    async def restart(self) -> TelegramAdapter:
        await self.stop()
        return await self.start()


@pytest.fixture
async def service(tg_core: Core, inbound: InboundDouble) -> AsyncIterator[Service]:
    running = Service(tg_core, inbound)
    await running.start()
    yield running
    await running.stop()


async def next_update(api: FakeTelegramApi) -> None:
    """Another person's message, answered: updates are handled one at a time, so everything
    the previous update did (its state written included) is done by now."""
    await Chat(api, chat_id=BYSTANDER).says("/help")


def stored(core: Core) -> tuple[int, int]:
    """How many conversation states and drafts the database holds."""
    with core.db.session() as session:
        states = session.scalar(select(func.count()).select_from(TelegramConversation))
        drafts = session.scalar(select(func.count()).select_from(TelegramDraft))
    return int(states or 0), int(drafts or 0)


async def test_a_restart_continues_the_registration_where_the_patient_was(
    service: Service, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.taps("t:day:1")
    [ask_zone] = await chat.taps("t:hour:15")
    assert "Sun 1 Mar, 15:00" in ask_zone.text

    await service.restart()

    [ask_language] = await chat.taps("r:zone:ok")  # the answer to the question asked before
    assert [label for label, _ in ask_language.buttons()] == ["English", "Español"]
    await chat.taps("r:lang:es")
    await service.restart()  # once more, with the language chosen
    [confirm] = await chat.says("Lucía")
    assert "Tratamiento: <b>dom 1 mar, 15:00</b>" in confirm.text
    [done] = await chat.taps("r:confirm")
    assert "¡Listo, Lucía!" in done.text

    [patient] = patients(tg_core)
    assert (patient.first_name, patient.language, patient.telegram_chat_id) == ("Lucía", "es", CHAT)
    with tg_core.db.session() as session:
        treatment = session.scalars(select(Treatment)).one()
    assert treatment.performed_at == datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    await next_update(fake_api)
    assert stored(tg_core) == (0, 0)  # a finished conversation leaves nothing behind


async def test_each_answer_is_in_the_database_before_the_next_update(
    service: Service, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView, clock: FakeClock
) -> None:
    """What a crash (no clean stop) leaves: another instance would load the same state."""
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.says("yesterday 15:30")
    await next_update(fake_api)

    loader = DatabasePersistence(ConversationStateStore(tg_core.db), clock)
    assert await loader.get_conversations("onboarding") == {(CHAT, CHAT): ZONE}
    draft = (await loader.get_user_data())[CHAT]["draft"]
    assert (draft.clinic_name, draft.local) == ("Glow Skin Clinic", datetime(2026, 3, 1, 15, 30))
    assert draft.touched_at == clock.now()


async def test_a_registration_left_for_25_hours_starts_over_after_a_restart(
    service: Service,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
    inbound: InboundDouble,
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.says("yesterday 15:30")
    await chat.taps("r:zone:ok")
    await service.stop()
    assert stored(tg_core) == (1, 1)

    clock.advance(timedelta(hours=25))
    await service.start()
    assert stored(tg_core) == (0, 0)  # dropped when the new Application loaded

    # The old language buttons are dead: the tap is acknowledged and nothing more.
    before = len(fake_api.sent(CHAT))
    answered = len(fake_api.called("answerCallbackQuery"))
    await fake_api.user_presses(CHAT, "r:lang:en")
    await fake_api.wait_for(lambda _: len(fake_api.called("answerCallbackQuery")) > answered)
    # Typed text is an ordinary message again, for the conversation core.
    [answer] = await chat.says("Sam")
    assert answer.text == "Gentle cleanser is fine."
    assert inbound.calls[-1]["text"] == "Sam"
    assert len(fake_api.sent(CHAT)) == before + 1

    intro, ask_day = await chat.opens_the_link_of("glow")  # from the beginning
    assert "Glow Skin Clinic" in intro.text and "t:day:0" in [d for _, d in ask_day.buttons()]
    assert patients(tg_core) == []


async def test_without_a_restart_a_day_old_conversation_is_dropped_at_the_next_answer(
    service: Service,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: FakeClock,
    inbound: InboundDouble,
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.says("yesterday 15:30")
    await chat.taps("r:zone:ok")
    await chat.taps("r:lang:en")  # now asked for a name

    clock.advance(timedelta(hours=25))
    [answer] = await chat.says("Sam")
    assert answer.text == "Gentle cleanser is fine."  # not taken as the name
    assert inbound.calls[-1]["text"] == "Sam"
    await next_update(fake_api)
    assert stored(tg_core) == (0, 0)

    [answer] = await chat.says("Sam")  # the conversation is over, not waiting any more
    assert answer.text == "Gentle cleanser is fine."
    assert patients(tg_core) == []


async def test_a_conversation_answered_within_the_day_goes_on(
    service: Service, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView, clock: FakeClock
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.taps("t:day:1")
    clock.advance(timedelta(hours=23))  # each answer restarts the day
    await chat.taps("t:hour:12")
    clock.advance(timedelta(hours=23))
    await service.restart()
    [ask_language] = await chat.taps("r:zone:ok")
    assert "r:lang:en" in [d for _, d in ask_language.buttons()]


async def test_abandoned_conversations_are_cleared_from_the_database_while_running(
    service: Service, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView, clock: FakeClock
) -> None:
    """Someone who never comes back: the hourly pass clears their row, not their return."""
    await Chat(fake_api, chat_id=CHAT).opens_the_link_of("glow")
    await next_update(fake_api)
    assert stored(tg_core) == (1, 1)
    clock.advance(timedelta(hours=25))
    await next_update(fake_api)  # any update, from anyone
    assert stored(tg_core) == (0, 0)
    with tg_core.db.session() as session:
        assert session.scalars(select(Patient)).all() == []


async def test_a_restarted_webhook_service_continues_the_registration(
    sqlite_url: str, fake_api: FakeTelegramApi, clock: FakeClock
) -> None:
    """The whole service in webhook mode, started twice on one database: PTB runs inside our
    HTTP app there, and its persistence is loaded by `initialize()` in the app's lifespan."""

    @asynccontextmanager
    async def service() -> AsyncIterator[Core]:
        sock = free_socket()
        host, port = sock.getsockname()
        settings = telegram_settings(sqlite_url, fake_api, public_base_url=f"http://{host}:{port}")
        core = build_core(settings, clock)
        async with serve(core, sock):
            yield core
        core.close()

    chat = Chat(fake_api)
    async with service() as core:
        core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York")
        await chat.opens_the_link_of("glow")
        await chat.says("yesterday 15:30")

    async with service() as core:
        assert fake_api.webhook_url.endswith("/telegram/webhook")
        [ask_language] = await chat.taps("r:zone:ok")
        assert "r:lang:en" in [d for _, d in ask_language.buttons()]
        await chat.taps("r:lang:en")
        await chat.taps("r:name:skip")
        # The confirmation, then the welcome: it waits for "All set!" to be sent (see
        # test_registration_order), and the running engine sends it at once after.
        done, welcome = await chat.taps("r:confirm", replies=2)
        assert done.text.startswith("All set!")
        assert "after microneedling" in welcome.text
        with core.db.session() as session:
            treatment = session.scalars(select(Treatment)).one()
        assert treatment.performed_at == datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
