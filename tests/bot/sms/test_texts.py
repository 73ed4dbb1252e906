"""The SMS channel's own replies stay plain GSM-7 and within two segments."""

from __future__ import annotations

import pytest

from messages import gsm7
from messages.sms_texts import LANGUAGES, TEMPLATES, Key, sms_text

LONG_CLINIC_NAME = "Dermatology & Laser Aesthetics Centre NW"  # 40 characters
VALUES = {
    "clinic_name": LONG_CLINIC_NAME,
    "clinic_phone": "+15551234567",
    "emergency_number": "911",
    # PLAN's pieces (messages.sms_plan lists as many steps as fit; see tests/bot/sms/test_plan.py)
    "steps": "- Keep protecting your skin from the sun: el mié 30 dic a las 23:00",
    "title": "Keep protecting your skin from the sun",
    "when": "el mié 30 dic a las 23:00",
}


def test_the_long_name_is_forty_characters() -> None:
    assert len(LONG_CLINIC_NAME) == 40


@pytest.mark.parametrize("key", list(TEMPLATES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_is_gsm7_within_two_segments(key: Key, language: str) -> None:
    assert set(TEMPLATES[key]) == set(LANGUAGES)
    text = sms_text(key, language, **VALUES)
    assert gsm7.non_gsm7(text) == []
    assert gsm7.cost(text).segments <= 2
    assert "{" not in text


def test_an_accented_clinic_name_does_not_push_the_reply_into_ucs2() -> None:
    text = sms_text("help", "es", **{**VALUES, "clinic_name": "Clínica Estética “Piel Sana”"})
    assert gsm7.is_gsm7(text)
    assert 'Clinica Estética "Piel Sana"' in text  # é is in GSM-7, í is not


def test_an_unknown_language_falls_back_to_english() -> None:
    assert sms_text("help", "fr", **VALUES) == sms_text("help", "en", **VALUES)


def test_help_says_how_to_stop_in_the_patients_language() -> None:
    assert "Reply STOP" in sms_text("help", "en", **VALUES)
    assert "Responde BAJA" in sms_text("help", "es", **VALUES)


def test_help_tells_how_to_see_the_plan() -> None:
    assert "PLAN for your next steps" in sms_text("help", "en", **VALUES)
    assert "PLAN para ver tus proximos pasos" in sms_text("help", "es", **VALUES)
