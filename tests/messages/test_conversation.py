"""The conversation core: answers in the patient's own time, language and channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messages.conversation import PatientContext, Reply, fits_sms, reply
from messages.protocol_files import load_protocol
from scheduler.clock import FakeClock

TREATED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Mon 10:00 in New York, 16:00 in Madrid
NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")


def patient(zone: ZoneInfo, language: str, **changes: object) -> PatientContext:
    values: dict[str, object] = {
        "first_name": "Ana",
        "language": language,
        "timezone": zone,
        "treated_at": TREATED,
        "clinic_name": "Glow Skin Clinic",
        "clinic_phone": "+15551234567",
        "protocol": load_protocol(),
    }
    values.update(changes)
    return PatientContext(**values)  # type: ignore[arg-type]


def ask(context: PatientContext | None, text: str, clock: FakeClock, **kw: object) -> Reply:
    return reply(context, text, clock.now(), **kw)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TREATED)


# --- New York, English ---------------------------------------------------------------------


def test_new_york_two_hours_after_treatment_makeup_is_not_yet(clock: FakeClock) -> None:
    clock.advance(timedelta(hours=2))
    answer = ask(patient(NEW_YORK, "en"), "can I wear makeup?", clock)
    assert answer.topic == "makeup"
    assert answer.text.startswith("Not yet: makeup is OK from tomorrow at 10:00 am")


def test_new_york_next_afternoon_makeup_yes_and_workouts_not_yet(clock: FakeClock) -> None:
    clock.advance(timedelta(hours=30))  # Tue 16:00 in New York
    context = patient(NEW_YORK, "en")
    assert ask(context, "makeup ok?", clock).text.startswith("Yes, since today at 10:00 am")
    gym = ask(context, "can I go to the gym", clock)
    assert gym.topic == "exercise"
    assert "from tomorrow at 10:00 am" in gym.text
    swim = ask(context, "can I swim", clock)
    assert "from tomorrow at 10:00 am" in swim.text  # swimming follows the sweat milestone


def test_new_york_day_five_cleanser_and_actives_are_back(clock: FakeClock) -> None:
    clock.advance(timedelta(days=5))  # Sat 7 Mar
    context = patient(NEW_YORK, "en")
    assert "since Thu 5 Mar at 10:00 am" in ask(context, "my usual cleanser?", clock).text
    actives = ask(context, "when can I use retinol", clock)
    assert actives.topic == "actives"
    assert "Since Thu 5 Mar at 10:00 am" in actives.text


def test_new_york_sun_until_two_weeks_keeps_the_wall_clock_across_dst(
    clock: FakeClock,
) -> None:
    # New York moves to daylight time on 8 March; 14 days on is still 10:00 local.
    clock.advance(timedelta(days=1))
    text = ask(patient(NEW_YORK, "en"), "do I need sunscreen", clock).text
    assert "until Mon 16 Mar at 10:00 am" in text
    clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    text = ask(patient(NEW_YORK, "en"), "do I need sunscreen", clock).text
    assert text.startswith("Your first 2 weeks ended Mon 16 Mar at 10:00 am")


# --- Madrid, Spanish -----------------------------------------------------------------------


def test_madrid_two_hours_after_treatment_in_spanish(clock: FakeClock) -> None:
    clock.advance(timedelta(hours=2))
    answer = ask(patient(MADRID, "es"), "¿puedo maquillarme?", clock)
    assert answer.language == "es"
    assert answer.text.startswith("Todavia no: podras maquillarte desde mañana a las 16:00")
    gym = ask(patient(MADRID, "es"), "puedo ir al gimnasio", clock)
    assert "desde el mié 4 mar a las 16:00" in gym.text


def test_madrid_day_three_actives_are_back_today(clock: FakeClock) -> None:
    clock.advance(timedelta(hours=74))  # Thu 5 Mar 17:00 in Madrid
    answer = ask(patient(MADRID, "es"), "cuando vuelvo al retinol", clock)
    assert answer.text.startswith("Desde hoy a las 16:00")
    telegram = ask(patient(MADRID, "es"), "puedo nadar?", clock, channel="telegram")
    assert "desde <b>ayer a las 16:00</b>" in telegram.text.lower()


def test_madrid_the_spanish_sms_has_no_accented_vowels(clock: FakeClock) -> None:
    clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # so a weekday name appears
    for question in ("maquillaje", "gimnasio", "limpiador", "sol", "sábado tocarme la cara"):
        text = ask(patient(MADRID, "es"), question, clock).text
        assert not set(text) & set("áíóúÁÍÓÚ"), text
        assert fits_sms(text)


# --- schedule ------------------------------------------------------------------------------


def test_schedule_lists_the_upcoming_steps_in_local_time(clock: FakeClock) -> None:
    clock.advance(timedelta(hours=30))
    answer = ask(patient(NEW_YORK, "en"), "what are my next reminders", clock)
    assert answer.topic == "schedule"
    lines = answer.text.splitlines()
    assert lines[0] == "Your next steps:"
    assert lines[1] == "- Workouts and swimming are OK again: tomorrow at 10:00 am"
    assert "Thu 5 Mar at 10:00 am" in lines[2]
    assert "Mon 16 Mar at 10:00 am" in lines[3]
    assert "Makeup" not in answer.text  # already behind the patient


def test_schedule_in_madrid_and_when_everything_is_done(clock: FakeClock) -> None:
    clock.advance(timedelta(hours=1))
    answer = ask(patient(MADRID, "es"), "cuales son mis proximos recordatorios", clock)
    assert "mañana a las 16:00" in answer.text
    clock.advance(timedelta(days=20))
    done = ask(patient(MADRID, "es"), "cuales son mis proximos recordatorios", clock)
    assert done.text.startswith("Ya has pasado todos tus pasos")


def test_schedule_sms_stays_within_two_segments_with_long_names(clock: FakeClock) -> None:
    context = patient(NEW_YORK, "en", clinic_name="C" * 40, first_name="W" * 20)
    for language in ("en", "es"):
        text = ask(
            patient(MADRID, language, clinic_name="C" * 40), "my schedule / mi plan", clock
        ).text
        assert fits_sms(text), text
    assert fits_sms(ask(context, "what's my schedule", clock).text)


# --- unknown senders, language, channels ----------------------------------------------------


def test_an_unknown_sender_gets_the_general_answer_in_the_language_they_write(
    clock: FakeClock,
) -> None:
    english = ask(None, "can I wear makeup?", clock)
    assert english.text.startswith("Makeup can go back on 24 hours after treatment")
    spanish = ask(None, "¿puedo maquillarme?", clock)
    assert spanish.language == "es"
    assert spanish.text.startswith("Puedes volver a maquillarte 24 horas")


def test_a_patient_is_answered_in_their_stored_language(clock: FakeClock) -> None:
    answer = ask(patient(NEW_YORK, "es"), "can I wear makeup?", clock)
    assert answer.language == "es"
    assert answer.topic == "makeup"


def test_the_channel_hint_decides_only_when_the_text_is_unclear(clock: FakeClock) -> None:
    assert ask(None, "ok 👍", clock, language="es").language == "es"
    assert ask(None, "can I go to the gym", clock, language="es").language == "en"


def test_an_unclear_message_says_so_and_offers_topics_and_the_clinic_phone(
    clock: FakeClock,
) -> None:
    answer = ask(patient(NEW_YORK, "en"), "purple elephants", clock)
    assert answer.topic == "unknown"
    assert "not sure" in answer.text
    assert "makeup" in answer.text
    assert "+15551234567" in answer.text


def test_telegram_gets_html_and_sms_plain_gsm7(clock: FakeClock) -> None:
    context = patient(NEW_YORK, "en", clinic_name="Clínica Piel & Co")
    sms = ask(context, "how do I call the clinic", clock, channel="sms")
    telegram = ask(context, "how do I call the clinic", clock, channel="telegram")
    assert "Clinica Piel & Co" in sms.text
    assert "<b>" not in sms.text
    assert fits_sms(sms.text)
    assert "Clínica Piel &amp; Co" in telegram.text


def test_two_questions_in_one_telegram_message_get_both_answers(clock: FakeClock) -> None:
    answer = ask(
        patient(NEW_YORK, "en"),
        "can I go to the gym tomorrow and when can I use my retinol again",
        clock,
        channel="telegram",
    )
    assert answer.topic == "exercise"
    assert answer.also == "actives"
    assert "Workouts" in answer.text
    assert "Retinol" in answer.text or "retinol" in answer.text


# --- escalation replies -----------------------------------------------------------------------


def test_a_red_flag_tells_a_patient_to_call_their_clinic_now(clock: FakeClock) -> None:
    answer = ask(patient(NEW_YORK, "en"), "there's pus on my cheek", clock, emergency_number="911")
    assert (answer.topic, answer.escalate, answer.category) == ("red_flag", True, "red_flag")
    assert "Glow Skin Clinic on +15551234567" in answer.text
    assert "We have let them know" in answer.text


def test_an_emergency_tells_them_to_call_the_emergency_number(clock: FakeClock) -> None:
    answer = ask(patient(MADRID, "es"), "me cuesta respirar", clock, emergency_number="112")
    assert answer.category == "emergency"
    assert answer.text.startswith("Llama ya al 112.")


def test_an_unknown_sender_is_not_told_their_clinic_was_alerted(clock: FakeClock) -> None:
    answer = ask(None, "I have a fever", clock)
    assert answer.escalate
    assert "your clinic" in answer.text
    assert "let them know" not in answer.text


def test_a_patient_without_a_treatment_gets_the_general_answer(clock: FakeClock) -> None:
    answer = ask(patient(NEW_YORK, "en", treated_at=None), "makeup?", clock)
    assert answer.text.startswith("Makeup can go back on 24 hours")


# --- the six newer topics, in both languages ---------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "topic", "expected"),
    [
        ("en", "my face is so itchy, is that normal?", "itching", "don't scratch or pick"),
        ("es", "me pica mucho la cara, es normal?", "itching", "no te rasques"),
        ("en", "tiny dots of blood on my forehead", "bleeding", "what to do"),
        ("es", "me salieron puntitos de sangre", "bleeding", "que hacer"),
        ("en", "got a few pimples on my chin", "breakouts", "Don't squeeze or pick spots"),
        ("es", "me salieron granitos en la frente", "breakouts", "No te aprietes ni revientes"),
        ("en", "when can I go back to work?", "downtime", "1 to 3 days"),
        ("es", "cuando puedo volver a trabajar?", "downtime", "de 1 a 3 dias"),
        ("en", "can I send you a photo of my cheek?", "photos", "I can't see photos"),
        ("es", "te puedo mandar una foto?", "photos", "no puedo ver fotos"),
        ("en", "how much is the next session", "price", "I can't answer questions about prices"),
        ("es", "cuanto cuesta la siguiente sesion", "price", "No puedo responder sobre precios"),
    ],
)
def test_the_newer_topics_are_answered_in_the_patients_language(
    clock: FakeClock, language: str, text: str, topic: str, expected: str
) -> None:
    for context in (patient(NEW_YORK, language), None):
        answer = ask(context, text, clock, channel="sms")
        assert (answer.topic, answer.language, answer.escalate) == (topic, language, False)
        assert expected.lower() in answer.text.lower() and fits_sms(answer.text)
        telegram = ask(context, text, clock, channel="telegram")
        assert (telegram.topic, telegram.language) == (topic, language)


def test_a_tie_on_function_words_no_longer_goes_to_english(clock: FakeClock) -> None:
    answer = ask(None, "cuantas sesiones voy a necesitar", clock)  # no hint, default English
    assert (answer.topic, answer.language) == ("sessions", "es")
    assert answer.text.startswith("Un tratamiento suele ser de 3 a 6 sesiones")


def test_a_registered_patient_keeps_their_stored_language(clock: FakeClock) -> None:
    answer = ask(patient(NEW_YORK, "en"), "cuantas sesiones voy a necesitar", clock)
    assert answer.language == "en"


def test_the_sun_answer_says_every_day_even_indoors(clock: FakeClock) -> None:
    clock.advance(timedelta(days=1))
    english = ask(patient(NEW_YORK, "en"), "do I need sunscreen if I'm inside all day?", clock)
    assert "SPF 30+ every day, even indoors" in english.text
    spanish = ask(None, "tengo que ponerme protector aunque no salga de casa?", clock)
    assert "cada dia, tambien en casa" in spanish.text


# --- two questions in one message ----------------------------------------------------------------


def test_a_two_question_sms_answers_one_and_says_it_saw_the_other(clock: FakeClock) -> None:
    clock.advance(timedelta(hours=30))
    text = "when can i use retinol again, also is it ok to drink wine this weekend"
    answer = ask(patient(NEW_YORK, "en"), text, clock, channel="sms")
    assert {answer.topic, answer.also} == {"actives", "alcohol_smoking"}
    titles = {"actives": "retinol, acids, vitamin C", "alcohol_smoking": "alcohol and smoking"}
    assert answer.text.endswith(f"Ask me about {titles[answer.also or '']} separately.")
    assert fits_sms(answer.text)
    telegram = ask(patient(NEW_YORK, "en"), text, clock, channel="telegram")
    assert "retinol" in telegram.text and "alcohol" in telegram.text
    assert "separately" not in telegram.text


def test_a_two_question_sms_in_spanish_with_the_longest_names(clock: FakeClock) -> None:
    context = patient(MADRID, "es", clinic_name="C" * 40, first_name="W" * 20)
    text = "cuando puedo volver al gym y puedo tomar alcohol?"
    answer = ask(context, text, clock, channel="sms")
    assert {answer.topic, answer.also} == {"exercise", "alcohol_smoking"}
    assert "aparte." in answer.text.splitlines()[-1]
    assert answer.text.splitlines()[-1].startswith("Preguntame por ")
    assert fits_sms(answer.text)


def test_a_very_long_clinic_name_is_shortened_in_an_sms_answer(clock: FakeClock) -> None:
    name = "The Very Long Named Dermatology and Laser Institute of Manhattan"
    sms = ask(patient(NEW_YORK, "en", clinic_name=name), "how do I call the clinic", clock)
    assert "The Very Long Named Dermatology and on +15551234567" in sms.text
    assert fits_sms(sms.text)
