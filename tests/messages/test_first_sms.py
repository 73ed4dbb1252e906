"""The first SMS a number gets says how to opt out and get help, and every SMS template
leaves room for that line: with the longest names each one, line included, is plain GSM-7
within two segments. The Telegram invite SMS too, with the longest link."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from messages import gsm7
from messages.first_sms import (
    LONGEST_LINK,
    OPT_OUT_LINES,
    SEPARATOR,
    invite_sms,
    with_opt_out_line,
)
from messages.protocol import FIRST_SMS_RESERVE, SMS_CHAR_BUDGET, WORST_CASE_VALUES
from messages.protocol_files import load_protocol
from messages.render import RenderContext, longest_sms_whens, render_late_welcome, render_text

PROTOCOL = load_protocol()


def every_sms(locale: str) -> Iterator[tuple[str, str]]:
    """(label, text) of every SMS a reminder can be, with the longest values."""
    context = RenderContext(**WORST_CASE_VALUES, locale=locale)
    for milestone in PROTOCOL.milestones:
        yield milestone.key, render_text(PROTOCOL, milestone.key, "sms", context)
    passed: list[str] = []
    for milestone in PROTOCOL.timed:
        passed.append(milestone.key)
        for when in longest_sms_whens(locale):
            text = render_late_welcome(PROTOCOL, "sms", context, passed, when)
            yield f"late welcome after {milestone.key}", text
    yield (
        "invite",
        invite_sms(
            WORST_CASE_VALUES["first_name"], WORST_CASE_VALUES["clinic_name"], LONGEST_LINK, locale
        ),
    )


@pytest.mark.parametrize("locale", PROTOCOL.locales)
def test_every_sms_template_fits_two_gsm7_segments_with_the_opt_out_line(locale: str) -> None:
    labels = []
    for label, text in every_sms(locale):
        first = with_opt_out_line(text, locale)
        cost = gsm7.cost(first)
        assert gsm7.non_gsm7(first) == [], label
        assert cost.encoding == "GSM-7" and cost.segments <= 2, (label, len(first))
        assert len(first) <= SMS_CHAR_BUDGET, (label, len(first))
        labels.append(label)
    # The check-ins and the invite are among them.
    assert {"checkin_24h", "checkin_72h", "invite", "welcome", "sunscreen"} <= set(labels)


def test_the_opt_out_lines_name_the_keywords_and_fit_the_reserve() -> None:
    assert "STOP" in OPT_OUT_LINES["en"] and "HELP" in OPT_OUT_LINES["en"]
    assert "BAJA" in OPT_OUT_LINES["es"] and "AYUDA" in OPT_OUT_LINES["es"]
    for line in OPT_OUT_LINES.values():
        assert len(SEPARATOR + line) <= FIRST_SMS_RESERVE
        assert gsm7.non_gsm7(line) == []


def test_the_line_follows_the_text_in_the_patients_language() -> None:
    assert with_opt_out_line("Hi Ana.", "en") == "Hi Ana.\nReply STOP to opt out, HELP for help."
    assert with_opt_out_line("Hola.", "es").endswith("\nResponde BAJA para salir, AYUDA: ayuda.")
    assert with_opt_out_line("Hi.", "fr").endswith(OPT_OUT_LINES["en"])


def test_the_invite_sms_greets_names_the_clinic_and_carries_the_link() -> None:
    link = "https://t.me/glow_aftercare_bot?start=AbC-123_xyz"
    text = invite_sms("Mónica", "Glow Skin Clinic", link, "en")
    assert text == (
        "Glow Skin Clinic: Hi Monica! Your aftercare messages come on Telegram. "
        f"Tap to start: {link}"
    )
    spanish = invite_sms(None, "Glow", link, "es")
    assert spanish.startswith("Glow: Hola. Tus mensajes")  # no name: no dangling space
    assert spanish.endswith(link)
    assert invite_sms("", "Glow", link, "en").startswith("Glow: Hi there!")
