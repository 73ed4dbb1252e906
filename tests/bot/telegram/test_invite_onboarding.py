"""A clinic's invite link binds the chat to the enrolled patient in one tap."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from aftercare.wiring import Core
from bot.telegram.adapter import TelegramAdapter
from bot.telegram.invites import clinic_url, invite_url
from storage.models import Patient, Reminder
from storage.patients import ClinicView
from tests.bot.telegram.conftest import CHAT, enrol
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramApi


def test_invite_urls_are_telegram_deep_links() -> None:
    assert invite_url("glow_aftercare_bot", "AbC-123_x") == (
        "https://t.me/glow_aftercare_bot?start=AbC-123_x"
    )
    assert invite_url("@glow_aftercare_bot", "t") == "https://t.me/glow_aftercare_bot?start=t"
    assert clinic_url("glow_aftercare_bot", "glow") == (
        "https://t.me/glow_aftercare_bot?start=c_glow"
    )


def test_invite_urls_refuse_what_telegram_would_drop() -> None:
    import pytest

    with pytest.raises(ValueError, match="start parameter"):
        invite_url("glow_aftercare_bot", "has space")
    with pytest.raises(ValueError, match="start parameter"):
        invite_url("glow_aftercare_bot", "x" * 65)
    with pytest.raises(ValueError, match="username"):
        invite_url("no", "token")


async def test_start_with_an_invite_binds_greets_by_name_shows_plan_and_welcomes(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    registration, token = enrol(tg_core, glow, timedelta(hours=2))

    replies = await fake_api.conversation(
        CHAT, lambda: fake_api.user_says(CHAT, f"/start {token}"), replies=3
    )

    greeting, plan, welcome = (r.text for r in replies)
    assert "Hi Ana" in greeting and "Glow Skin Clinic" in greeting
    assert "Your aftercare plan" in plan
    assert "Makeup can go back on" in plan and "🔔" in plan
    assert "Tue 3 Mar, 08:00" in plan  # 24 h after 08:00 New York, in local time
    assert "caring for your skin after microneedling" in welcome
    assert all(r.params.get("parse_mode") == "HTML" for r in replies)
    with tg_core.db.session() as session:
        patient = session.get(Patient, registration.patient_id)
        assert patient is not None
        assert patient.telegram_chat_id == CHAT and patient.channel == "telegram"
        welcome_row = session.scalars(
            select(Reminder).where(
                Reminder.patient_id == patient.id, Reminder.milestone == "welcome"
            )
        ).one()
        # Shown in the chat just now: the engine does not send it a second time.
        assert welcome_row.status == "skipped"


async def test_an_invite_works_once(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    _, token = enrol(tg_core, glow, timedelta(hours=2))
    await fake_api.conversation(CHAT, lambda: fake_api.user_says(CHAT, f"/start {token}"), 3)

    other = CHAT + 1
    [reply] = await fake_api.conversation(
        other, lambda: fake_api.user_says(other, f"/start {token}")
    )

    assert "expired or was already used" in reply.text


async def test_an_expired_invite_is_refused_in_the_users_language(
    adapter: TelegramAdapter,
    fake_api: FakeTelegramApi,
    tg_core: Core,
    glow: ClinicView,
    clock: object,
) -> None:
    from scheduler.clock import FakeClock

    assert isinstance(clock, FakeClock)
    _, token = enrol(tg_core, glow, timedelta(hours=2))
    clock.advance(timedelta(days=15))

    [reply] = await fake_api.conversation(
        CHAT, lambda: fake_api.user_says(CHAT, f"/start {token}", language="es-MX")
    )

    assert "Este enlace ha caducado" in reply.text


async def test_a_late_invite_welcome_speaks_of_what_applies_now(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    # Enrolled 30 h after treatment: the makeup milestone is already behind the patient.
    _, token = enrol(tg_core, glow, timedelta(hours=30))

    replies = await fake_api.conversation(
        CHAT, lambda: fake_api.user_says(CHAT, f"/start {token}"), replies=3
    )

    plan, welcome = replies[1].text, replies[2].text
    assert "✅" in plan  # makeup reached
    assert "here is where your aftercare stands now" in welcome
    assert "No makeup yet" not in welcome


async def test_a_late_invite_welcome_names_dates_in_the_patients_zone(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi, tg_core: Core, glow: ClinicView
) -> None:
    """Treated Sun 1 Mar 04:00 in New York, the invite opened Mon 10:00 (30 h later): what is
    still off is given until a date and time, not until "day 2"."""
    _, token = enrol(tg_core, glow, timedelta(hours=30))

    replies = await fake_api.conversation(
        CHAT, lambda: fake_api.user_says(CHAT, f"/start {token}"), replies=3
    )

    welcome = replies[2].text
    assert "No workouts, sauna, hot yoga or swimming until <b>tomorrow at 4:00 am</b>" in welcome
    assert "or vitamin C, until <b>Wed 4 Mar at 4:00 am</b>" in welcome
    assert "<b>day 2</b>" not in welcome and "<b>day 3</b>" not in welcome


async def test_start_without_a_link_explains_how_to_begin(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi
) -> None:
    [reply] = await fake_api.conversation(CHAT, lambda: fake_api.user_says(CHAT, "/start"))

    assert "open the link your clinic gave you" in reply.text


async def test_the_bot_menu_is_set_in_english_and_spanish(
    adapter: TelegramAdapter, fake_api: FakeTelegramApi
) -> None:
    menus = fake_api.commands
    assert {c["command"] for c in menus["en"]} == {
        "start",
        "plan",
        "treatment",
        "stop",
        "resume",
        "language",
        "delete",
        "help",
    }
    assert {c["command"] for c in menus["es"]} == {c["command"] for c in menus["en"]}
    assert any(c["description"] == "Borrar mis datos" for c in menus["es"])
    assert None in menus  # the default menu for every other language
    assert adapter.application.bot.username == BOT_USERNAME
