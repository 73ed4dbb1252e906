"""The protocol file: every template fits its channel, and a bad clinic file says exactly why."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from messages import gsm7
from messages.protocol import CHANNELS, SMS_CHAR_BUDGET, WORST_CASE_VALUES, Channel, Protocol
from messages.protocol_files import ProtocolError, load_protocol, parse_protocol
from messages.render import RenderContext, render_text

PROTOCOL = load_protocol()
BUILTIN = (Path(__file__).parents[2] / "messages" / "protocols" / "microneedling.toml").read_text()
CASES = [
    (locale, milestone.key) for locale in PROTOCOL.locales for milestone in PROTOCOL.milestones
]


def worst(locale: str) -> RenderContext:
    return RenderContext(**WORST_CASE_VALUES, locale=locale)


@pytest.mark.parametrize(("locale", "key"), CASES)
def test_every_sms_template_is_gsm7_and_fits_two_segments(locale: str, key: str) -> None:
    text = render_text(PROTOCOL, key, "sms", worst(locale))
    cost = gsm7.cost(text)
    assert gsm7.non_gsm7(text) == []
    assert cost.encoding == "GSM-7" and cost.segments <= 2 and len(text) <= SMS_CHAR_BUDGET


@pytest.mark.parametrize("locale", PROTOCOL.locales)
def test_every_late_welcome_fits_two_segments(locale: str) -> None:
    passed: list[str] = []
    for milestone in PROTOCOL.timed:
        passed.append(milestone.key)
        text = render_text(PROTOCOL, "welcome", "sms", worst(locale), passed=passed)
        assert gsm7.cost(text).segments <= 2 and gsm7.is_gsm7(text), (locale, passed)


@pytest.mark.parametrize(("locale", "key"), CASES)
def test_every_template_fills_all_placeholders_and_names_no_unknown_ones(
    locale: str, key: str
) -> None:
    for channel in CHANNELS:
        text = render_text(PROTOCOL, key, channel, worst(locale))
        assert "{" not in text and "}" not in text


@pytest.mark.parametrize(("locale", "key"), CASES)
def test_telegram_texts_use_only_bold_and_italic_markup(locale: str, key: str) -> None:
    text = render_text(PROTOCOL, key, "telegram", worst(locale))
    assert set(re.findall(r"</?([a-z]+)", text)) <= {"b", "i"}


def test_a_name_with_accents_stays_gsm7_in_sms_and_escaped_in_telegram() -> None:
    context = RenderContext(
        "Mónica <3", "Clínica Sol & Piel", "+34911222333", "es", emergency_number="112"
    )
    sms = render_text(PROTOCOL, "makeup", "sms", context)
    assert gsm7.is_gsm7(sms) and "Monica" in sms
    telegram = render_text(PROTOCOL, "makeup", "telegram", context)
    assert "Mónica &lt;3" in telegram


def test_a_missing_first_name_uses_the_locale_fallback() -> None:
    text = render_text(
        PROTOCOL,
        "makeup",
        "sms",
        RenderContext(None, "Glow", "+15551234567", "en", emergency_number="911"),
    )
    assert "None" not in text and " ," not in text


# Words of the texts that speak of an emergency (trouble breathing, a swelling airway).
EMERGENCY_WORDS = ("emergenc", "urgencia", "breath", "respirar", "ahogo")


@pytest.mark.parametrize("locale", PROTOCOL.locales)
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_text_that_speaks_of_an_emergency_names_the_emergency_number(
    locale: str, channel: Channel
) -> None:
    context = RenderContext("Ana", "Glow", "+15551234567", locale, emergency_number="112")
    treated = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    context = context.with_appointment(treated, ZoneInfo("UTC"), treated - timedelta(days=1))
    texts = {m.key: render_text(PROTOCOL, m.key, channel, context) for m in PROTOCOL.milestones}
    passed: list[str] = []
    for milestone in PROTOCOL.timed:  # late welcomes: the warning signs come first
        passed.append(milestone.key)
        late = render_text(PROTOCOL, "welcome", channel, context, passed=passed)
        texts[f"welcome after {milestone.key}"] = late
    speaking = {key: text for key, text in texts.items() if any(w in text for w in EMERGENCY_WORDS)}
    expected = {"welcome", "welcome after makeup", "welcome after sunscreen"}
    if channel == "telegram":
        expected |= {"checkin_24h", "checkin_72h"}
    assert expected <= set(speaking)
    for key, text in speaking.items():
        assert "112" in text, (key, text)


def test_every_reminder_points_to_the_clinic() -> None:
    for locale in PROTOCOL.locales:
        for milestone in PROTOCOL.milestones:
            text = render_text(PROTOCOL, milestone.key, "sms", worst(locale))
            assert WORST_CASE_VALUES["clinic_phone"] in text, (locale, milestone.key)


class TestAClinicsOwnFile:
    def broken(self, old: str, new: str, count: int = 1) -> str:
        assert old in BUILTIN
        return BUILTIN.replace(old, new, count)

    def errors(self, text: str) -> list[str]:
        with pytest.raises(ProtocolError) as caught:
            parse_protocol(text, "clinic.toml")
        return caught.value.problems

    def test_a_bad_offset_names_the_entry_and_the_field(self) -> None:
        problems = self.errors(self.broken('offset = "24h"', 'offset = "a day"'))
        assert any(p.startswith("milestones[2] (makeup).offset:") and "24h" in p for p in problems)

    def test_curly_quotes_in_an_sms_are_refused(self) -> None:
        text = self.broken("makeup is OK again", "makeup is \u201cOK\u201d again")
        problems = self.errors(text)
        assert any("(makeup).text.en.sms" in p and "GSM-7" in p for p in problems)

    def test_an_unknown_placeholder_is_refused(self) -> None:
        problems = self.errors(self.broken("{clinic_phone}", "{clinic_fax}"))
        assert any("unknown placeholder" in p and "clinic_fax" in p for p in problems)

    def test_an_sms_over_budget_is_refused_with_its_length(self) -> None:
        problems = self.errors(
            self.broken("makeup is OK again", "makeup is OK again" + " really" * 30)
        )
        # Every SMS keeps room for the opt-out line of a first SMS: 306 - 40 characters.
        assert any(p.startswith("makeup.en.sms:") and "266 characters" in p for p in problems)

    def test_a_missing_locale_is_named(self) -> None:
        text = BUILTIN.replace('locales = ["en", "es"]', 'locales = ["en", "es", "fr"]')
        problems = self.errors(text)
        assert "milestones[0] (welcome).text: missing locale 'fr'" in problems

    def test_milestones_out_of_order_are_refused(self) -> None:
        problems = self.errors(self.broken('offset = "72h"', 'offset = "12h"'))
        assert any("(cleanser).offset: must come after sweat" in p for p in problems)

    def test_invalid_toml_says_so(self) -> None:
        assert "not valid TOML" in self.errors("name = ")[0]

    def test_a_file_that_cannot_be_read_is_reported(self, tmp_path: Path) -> None:
        with pytest.raises(ProtocolError, match="cannot read"):
            load_protocol(tmp_path / "missing.toml")

    def test_a_file_without_late_welcome_parts_still_loads(self) -> None:
        # Files written before still_off and late_outro existed keep working.
        data = tomllib.loads(BUILTIN)
        for milestone in data["milestones"]:
            milestone.pop("still_off", None)
            milestone.pop("late_outro", None)
        protocol = Protocol.model_validate(data)
        late = render_text(protocol, "welcome", "sms", worst("en"), ["makeup"])
        assert "Makeup: OK" in late and "till" not in late

    def test_a_still_off_text_may_say_when_but_a_reminder_may_not(self) -> None:
        problems = self.errors(self.broken("{clinic_phone}", "{when}"))
        assert any("unknown placeholder" in p and "when" in p for p in problems)

    def test_a_valid_file_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "clinic.toml"
        path.write_text(BUILTIN)
        assert load_protocol(path).milestone("sunscreen").offset.amount == 14
