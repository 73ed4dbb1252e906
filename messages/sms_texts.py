"""What the SMS channel itself says: replies to HELP and PLAN, and to numbers it does not
know.

Every template here is plain GSM-7 and stays within two segments even with a long clinic
name (tests/bot/sms/test_texts.py checks it), so a keyword reply never costs more than it
should. Values are converted to GSM-7 before they are filled in for the same reason.
"""

from __future__ import annotations

from typing import Literal

from messages import gsm7

Key = Literal[
    "help",
    "unknown_number",
    "media_only",
    "plan",
    "plan_step",
    "plan_finished",
    "plan_next_session",
    "plan_none",
]

TEMPLATES: dict[Key, dict[str, str]] = {
    "help": {
        "en": (
            "{clinic_name} aftercare texts. Questions or worries: call {clinic_phone}. "
            "Emergency: call {emergency_number}. Reply STOP to stop these texts, START to "
            "get them again, PLAN for your next steps. Msg&data rates may apply."
        ),
        "es": (
            "Mensajes de cuidados de {clinic_name}. Dudas: llama al {clinic_phone}. "
            "Emergencias: {emergency_number}. Responde BAJA para no recibir mas mensajes, "
            "ALTA para volver a recibirlos y PLAN para ver tus proximos pasos. "
            "Pueden aplicarse tarifas."
        ),
    },
    "unknown_number": {
        "en": (
            "Sorry, we don't recognise this number, so we can't answer here. Please contact "
            "your clinic directly. In an emergency call {emergency_number}. "
            "Reply STOP to stop texts."
        ),
        "es": (
            "Lo sentimos, no reconocemos este numero y no podemos responder aqui. Contacta "
            "directamente con tu clinica. En una emergencia llama al {emergency_number}. "
            "Responde BAJA para no recibir mensajes."
        ),
    },
    "media_only": {
        "en": (
            "We can't see photos or files sent here. If you're worried about your skin, call "
            "{clinic_name} on {clinic_phone}. Emergency: call {emergency_number}."
        ),
        "es": (
            "No podemos ver fotos ni archivos enviados aqui. Si te preocupa tu piel, llama a "
            "{clinic_name} al {clinic_phone}. Emergencias: {emergency_number}."
        ),
    },
    # The answer to PLAN (messages.sms_plan puts it together within the budget).
    "plan": {
        "en": "Your next aftercare steps:\n{steps}",
        "es": "Tus proximos pasos de cuidado:\n{steps}",
    },
    "plan_step": {"en": "- {title}: {when}", "es": "- {title}: {when}"},
    "plan_finished": {
        "en": "Your timed aftercare steps are all behind you.",
        "es": "Ya pasaron todos tus pasos de cuidado.",
    },
    "plan_next_session": {
        "en": "Your next session: {when}.",
        "es": "Tu proxima sesion: {when}.",
    },
    "plan_none": {
        "en": (
            "We have no aftercare plan for you at the moment. Questions: call {clinic_name} "
            "on {clinic_phone}."
        ),
        "es": (
            "Ahora no tenemos un plan de cuidados para ti. Dudas: llama a {clinic_name} al "
            "{clinic_phone}."
        ),
    },
}

LANGUAGES = ("en", "es")


def sms_text(key: Key, language: str, **values: str) -> str:
    """The template in `language` (English when there is none), filled with GSM-7 values."""
    templates = TEMPLATES[key]
    template = templates.get(language, templates["en"])
    return template.format(**{name: gsm7.to_gsm7(value) for name, value in values.items()})
