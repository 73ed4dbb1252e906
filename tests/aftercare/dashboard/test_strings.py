"""UI strings live in one place: every key the templates use exists, placeholders fill."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from aftercare.dashboard.strings import EN, placeholders, text
from aftercare.dashboard.timeline_svg import STATES

DASHBOARD = files("aftercare.dashboard")
KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z_.]+)["']""")


def template_sources() -> dict[str, str]:
    folder = DASHBOARD.joinpath("templates")
    return {entry.name: entry.read_text("utf-8") for entry in folder.iterdir()}


def test_every_key_a_template_uses_exists() -> None:
    used = {key for source in template_sources().values() for key in KEY_CALL.findall(source)}

    assert used  # the pattern does find the calls
    assert used - set(EN) == set()


def test_every_state_has_words() -> None:
    assert {f"state.{state}" for state in STATES} <= set(EN)


def test_placeholders_are_filled() -> None:
    assert text("nav.signed_in_as", email="nurse@glow.example") == "Signed in as nurse@glow.example"
    assert placeholders("sms.counter") == {"units", "limit", "segments", "encoding"}


def test_an_unknown_key_is_an_error_naming_it() -> None:
    with pytest.raises(KeyError, match=r"nav\.inbxo"):
        text("nav.inbxo")


def test_an_unknown_language_falls_back_to_english() -> None:
    assert text("login.email", "xx") == "Email"


def test_the_browser_script_falls_back_to_the_same_sms_texts() -> None:
    script = DASHBOARD.joinpath("static", "app.js").read_text("utf-8")

    assert f'"{EN["sms.counter"]}"' in script
    assert f'"{EN["sms.too_long"]}"' in script
    assert f'"{EN["sms.ucs2"]}"' in script
