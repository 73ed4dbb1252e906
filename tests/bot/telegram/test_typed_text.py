"""What patients type is cleaned and capped before any handler uses it, in polling mode too
(updates then come from Telegram's getUpdates, not through the webhook's checks)."""

from __future__ import annotations

from sqlalchemy import select

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from messages.inbound_text import TELEGRAM_MAX_CHARS
from storage.models import InboundMessage, Invite
from storage.patients import ClinicView
from tests.bot.telegram.chat_kit import Chat, patients
from tests.bot.telegram.conftest import InboundDouble
from tests.fakes.telegram_api import FakeTelegramApi


async def test_free_text_reaches_the_core_without_control_characters_and_capped(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, inbound: InboundDouble
) -> None:
    await Chat(fake_api).says("I have pus\x00 and fever\x1b " + "so worried " * 1_000)

    text = str(inbound.calls[-1]["text"])
    assert text.startswith("I have pus and fever so worried")
    assert "\x00" not in text and "\x1b" not in text
    assert len(text) == TELEGRAM_MAX_CHARS


async def test_a_typed_name_is_cleaned_before_it_is_stored(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    await chat.opens_the_link_of("glow")
    await chat.says("today 9:00")
    await chat.taps("r:zone:ok")
    await chat.taps("r:lang:en")
    await chat.says("Sa\x00m\x07")
    await chat.taps("r:confirm")
    [patient] = patients(tg_core)
    assert patient.first_name == "Sam"


async def test_a_start_parameter_no_link_can_carry_is_refused_without_a_lookup(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    chat = Chat(fake_api)
    for argument in ("c_gl\x00ow", "c_" + "g" * 100, "tok/../en", "c_glow\x07"):
        [reply] = await chat.says(f"/start {argument}")
        assert "This link has expired or was already used" in reply.text, argument
    assert patients(tg_core) == []
    with tg_core.db.session() as session:
        assert session.scalars(select(Invite)).all() == []
        assert session.scalars(select(InboundMessage)).all() == []
