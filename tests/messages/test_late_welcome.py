"""The welcome: it greets by first name and names the clinic; a patient who registers late
gets everything that still applies, in their own time, within two SMS segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messages import gsm7
from messages.first_sms import with_opt_out_line
from messages.milestones import passed_milestones, welcome_timeline
from messages.protocol import FIRST_SMS_RESERVE, SMS_CHAR_BUDGET, WORST_CASE_VALUES
from messages.protocol_files import load_protocol
from messages.render import RenderContext, render_text
from messages.when import format_short_when

PROTOCOL = load_protocol()
TREATED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Mon 10:00 in New York, 16:00 in Madrid
NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")


def late(hours: int, language: str, channel: str, zone: ZoneInfo, **names: str) -> str:
    now = TREATED + timedelta(hours=hours)
    values = {"first_name": "Ana", "clinic_name": "Glow Skin Clinic"}
    values["clinic_phone"] = "+15551234567"
    values["emergency_number"] = "911"
    values.update(names)
    return render_text(
        PROTOCOL,
        "welcome",
        channel,  # type: ignore[arg-type]
        RenderContext(**values, locale=language),
        passed_milestones(TREATED, PROTOCOL, zone, now),
        timeline=welcome_timeline(TREATED, PROTOCOL, zone, now),
    )


def fits_a_first_sms(text: str) -> bool:
    cost = gsm7.cost(text)
    return cost.encoding == "GSM-7" and len(text) <= SMS_CHAR_BUDGET - FIRST_SMS_RESERVE


# --- day 1: makeup is back, workouts and actives still off -----------------------------------


def test_day_one_sms_in_english_names_what_is_still_off_until_when() -> None:
    text = late(30, "en", "sms", NEW_YORK)  # Tue 16:00 in New York
    first, *rest = text.splitlines()
    assert first.startswith("Glow Skin Clinic: Hi Ana!")
    assert "Pus, fever, hot skin, worse redness/pain: +15551234567." in first  # warning signs
    assert first.endswith("Swollen lips/hard to breathe: call 911.")  # the number, not "emergency"
    assert "No sweat/pools till Wed 10am." in rest
    assert "No retinol/acids till Thu 10am; no scrubs." in rest
    assert rest[-1] == "SPF 30+ daily."
    assert fits_a_first_sms(text)


def test_day_one_sms_in_spanish_names_what_is_still_off_until_when() -> None:
    text = late(30, "es", "sms", MADRID)  # Tue 22:00 in Madrid
    first, *rest = text.splitlines()
    assert first.startswith("Glow Skin Clinic: Hola Ana.")
    assert "Pus, fiebre, calor, mas rojez/dolor: +15551234567." in first
    assert first.endswith("Labios hinchados/ahogo: llama al 911.")
    assert "Sin sudar/piscina hasta mié 16:00." in rest
    assert "Retinol/acidos: desde jue 16:00; sin exfoliar." in rest
    assert rest[-1] == "SPF 30+ diario."
    assert fits_a_first_sms(text)


def test_day_one_telegram_in_english_is_complete() -> None:
    text = late(30, "en", "telegram", NEW_YORK)
    assert text.startswith("👋 Hi Ana, this is Glow Skin Clinic")
    assert "No workouts, sauna, hot yoga or swimming until <b>tomorrow at 10:00 am</b>" in text
    assert "no retinol, acids (AHA, BHA) or vitamin C, until <b>Thu 5 Mar at 10:00 am</b>" in text
    assert "no powered cleansing brush until day 7" in text
    assert "Makeup is OK again" in text
    assert "SPF 30+ for sensitive skin, even indoors" in text and "Every day" in text
    assert "pus, hot skin, fever, severe pain, blisters" in text
    assert "lips, tongue or throat: call 911 now" in text


def test_day_one_telegram_in_spanish_is_complete() -> None:
    text = late(30, "es", "telegram", MADRID)
    assert text.startswith("👋 Hola Ana, te escribe Glow Skin Clinic")
    assert "Sin ejercicio, sauna, hot yoga ni piscina hasta <b>mañana a las 16:00</b>" in text
    assert "ni vitamina C, hasta <b>el jue 5 mar a las 16:00</b>" in text
    assert "Ya puedes maquillarte" in text
    assert "<b>Cada día:</b>" in text and "SPF 30+" in text and "también en casa" in text
    assert "pus, la piel caliente, fiebre, dolor fuerte, ampollas" in text
    assert "la lengua o la garganta: llama al 911 ya" in text


# --- day 3: workouts and the usual cleanser are back; scrubs and powered brushes are not -------


@pytest.mark.parametrize(("language", "zone"), [("en", NEW_YORK), ("es", MADRID)])
def test_day_three_sms_keeps_what_stays_off_after_the_cleanser(
    language: str, zone: ZoneInfo
) -> None:
    text = late(75, language, "sms", zone)
    still_off = {
        "en": "Usual cleanser OK; no scrubs; powered brush from day 7; retinol/acids slowly.",
        "es": "Tu limpiador: si. Sin exfoliar; cepillo desde el dia 7; retinol/acidos despacio.",
    }
    assert still_off[language] in text.splitlines()
    assert ("Pus, fever" if language == "en" else "Pus, fiebre") in text.splitlines()[0]
    assert text.splitlines()[-1] == {"en": "SPF 30+ daily.", "es": "SPF 30+ diario."}[language]
    assert fits_a_first_sms(text)


@pytest.mark.parametrize(("language", "zone"), [("en", NEW_YORK), ("es", MADRID)])
def test_day_three_telegram_lists_everything_that_is_back_and_what_is_not(
    language: str, zone: ZoneInfo
) -> None:
    text = late(75, language, "telegram", zone)
    expected = {
        "en": [
            "Makeup is OK",
            "swimming are OK again",
            "still no scrubs, no powered brush until day 7",
            "even indoors",
            "blisters",
            "call 911 now",
        ],
        "es": [
            "Ya puedes maquillarte",
            "Ya puedes volver al ejercicio",
            "aún sin exfoliantes ni cepillo eléctrico hasta el día 7",
            "también en casa",
            "ampollas",
            "llama al 911 ya",
        ],
    }
    for part in expected[language]:
        assert part in text, part


# --- the SMS budget with the longest names -----------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("hours", [1, 30, 60, 75, 24 * 15])
def test_every_late_sms_fits_with_the_longest_names_and_room_for_the_stop_line(
    language: str, hours: int
) -> None:
    text = late(hours, language, "sms", NEW_YORK, **WORST_CASE_VALUES)
    assert fits_a_first_sms(text), (len(text), text)
    with_stop = with_opt_out_line(text, language)
    assert gsm7.cost(with_stop).segments <= 2 and len(with_stop) <= SMS_CHAR_BUDGET
    assert WORST_CASE_VALUES["clinic_phone"] in text.splitlines()[0]  # warning signs first
    assert "SPF 30+" in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_first_day_welcome_sms_leaves_room_for_the_stop_line(language: str) -> None:
    context = RenderContext(**WORST_CASE_VALUES, locale=language)
    text = render_text(PROTOCOL, "welcome", "sms", context)
    assert fits_a_first_sms(text)
    assert gsm7.cost(with_opt_out_line(text, language)).segments <= 2


def test_an_sms_shortens_names_longer_than_the_budget_assumes() -> None:
    context = RenderContext(
        "Maria de los Angeles Guadalupe",
        "The Very Long Named Dermatology and Laser Institute",
        "+15551234567",
        "en",
        emergency_number="911",
    )
    text = render_text(PROTOCOL, "welcome", "sms", context)
    assert text.startswith("The Very Long Named Dermatology and: Hi Maria de los Angeles!")
    assert fits_a_first_sms(text)
    telegram = render_text(PROTOCOL, "welcome", "telegram", context)
    assert "Maria de los Angeles Guadalupe" in telegram  # Telegram has room for all of it


# --- greeting and clinic name in every first message --------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("channel", ["sms", "telegram"])
def test_every_welcome_greets_by_first_name_and_names_the_clinic(
    language: str, channel: str
) -> None:
    context = RenderContext(
        "Lucía", "Clínica Sol", "+34911222333", language, emergency_number="112"
    )
    for passed in ([], ["makeup"], ["makeup", "sweat", "cleanser"]):
        text = render_text(PROTOCOL, "welcome", channel, context, passed)  # type: ignore[arg-type]
        first_line = text.splitlines()[0]
        name, clinic = ("Lucia", "Clinica Sol") if channel == "sms" else ("Lucía", "Clínica Sol")
        assert name in first_line and clinic in first_line, (passed, first_line)


def test_without_a_first_name_the_greeting_still_reads_well() -> None:
    en = render_text(
        PROTOCOL,
        "welcome",
        "sms",
        RenderContext(None, "Glow", "+1555", "en", emergency_number="911"),
    )
    es = render_text(
        PROTOCOL,
        "welcome",
        "sms",
        RenderContext(None, "Glow", "+1555", "es", emergency_number="112"),
    )
    assert en.startswith("Glow: Hi there!")
    assert es.startswith("Glow: Hola.")


# --- without the patient's timeline ------------------------------------------------------------


def test_without_a_timeline_what_is_still_off_is_given_as_a_day_after_treatment() -> None:
    context = RenderContext("Ana", "Glow", "+1555", "en", emergency_number="911")
    sms = render_text(PROTOCOL, "welcome", "sms", context, ["makeup"])
    assert "No sweat/pools till day 2." in sms
    assert "No retinol/acids till day 3; no scrubs." in sms
    spanish = render_text(PROTOCOL, "welcome", "telegram", context.with_locale("es"), ["makeup"])
    assert "hasta <b>el día 2</b>" in spanish


def test_the_short_sms_time_names_the_weekday_within_a_week_and_the_date_beyond() -> None:
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert format_short_when(datetime(2026, 3, 4, 15, 30, tzinfo=UTC), NEW_YORK, now, "en") == (
        "Wed 10:30am"
    )
    assert format_short_when(datetime(2026, 3, 4, 15, 0, tzinfo=UTC), MADRID, now, "es") == (
        "mié 16:00"
    )
    assert format_short_when(datetime(2026, 3, 16, 14, 0, tzinfo=UTC), NEW_YORK, now, "en") == (
        "16 Mar"
    )
