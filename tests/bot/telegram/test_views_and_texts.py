"""What the bot shows: local times, time zone look-up, and its texts in both languages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.telegram.views import find_zone, format_local
from messages.telegram_texts import COMMANDS, LANGUAGES, TEXTS, placeholders, text


def test_local_times_in_the_patients_zone_and_language() -> None:
    instant = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert format_local(instant, ZoneInfo("America/New_York"), "en") == "Mon 2 Mar, 10:00"
    assert format_local(instant, ZoneInfo("Europe/Madrid"), "es") == "lun 2 mar, 16:00"


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Madrid", "Europe/Madrid"),
        ("europe/madrid", "Europe/Madrid"),
        ("Madrid", "Europe/Madrid"),
        ("new york", "America/New_York"),
        ("Mexico City", "America/Mexico_City"),
        ("America/Mexico_City", "America/Mexico_City"),
        ("  buenos   aires ", "America/Argentina/Buenos_Aires"),
    ],
)
def test_zones_by_name_or_city(typed: str, zone: str) -> None:
    assert find_zone(typed) == zone


@pytest.mark.parametrize("typed", ["", "Atlantis", "GMT+2 please"])
def test_unknown_zones(typed: str) -> None:
    assert find_zone(typed) is None


def test_every_text_exists_in_both_languages_with_the_same_placeholders() -> None:
    for key, table in TEXTS.items():
        assert set(table) == set(LANGUAGES), key
        assert placeholders(table["en"]) == placeholders(table["es"]), key
        for language in LANGUAGES:
            assert table[language].strip(), (key, language)


def test_values_are_escaped_for_html() -> None:
    rendered = text("invite_welcome", "en", first_name="<b>Eve</b>", clinic_name="A & B")
    assert "&lt;b&gt;Eve&lt;/b&gt;" in rendered and "A &amp; B" in rendered


def test_the_bot_never_plays_doctor() -> None:
    for language in LANGUAGES:
        assert "911" in text("help", language, emergency="911")
        assert "911" in text("inbound_failed", language, emergency="911")
    assert "not a doctor" in TEXTS["help"]["en"] and "No soy médico" in TEXTS["help"]["es"]


def test_the_command_menus_match_and_fit_telegrams_limits() -> None:
    assert [c for c, _ in COMMANDS["en"]] == [c for c, _ in COMMANDS["es"]]
    for commands in COMMANDS.values():
        for command, description in commands:
            assert command.islower() and len(command) <= 32
            assert 1 <= len(description) <= 256
