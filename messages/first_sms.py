"""The opt-out line of the first SMS a number gets, and the SMS that brings a Telegram invite.

US carriers ask that an A2P program's first message to a number say how to stop and get
help. Every protocol SMS keeps `messages.protocol.FIRST_SMS_RESERVE` characters free for
this line, so any of them can be the first one and still fit two segments. The keywords
are the ones the SMS webhook acts on (bot/sms/keywords.py).
"""

from __future__ import annotations

import re

from messages import gsm7
from messages.render import SMS_NAME_LIMITS, shorten

OPT_OUT_LINES = {
    "en": "Reply STOP to opt out, HELP for help.",
    "es": "Responde BAJA para salir, AYUDA: ayuda.",
}
SEPARATOR = "\n"
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.!?;:])")  # "Hola ." when there is no name

# The invite: greeting, clinic and link. Links are https://t.me/<bot>?start=<token>: a
# bot username has at most 32 characters and our tokens 24, so at most 76 characters.
INVITE_TEMPLATES = {
    "en": (
        "{clinic_name}: Hi {first_name}! Your aftercare messages come on Telegram. "
        "Tap to start: {link}"
    ),
    "es": (
        "{clinic_name}: Hola {first_name}. Tus mensajes de cuidados llegan por Telegram. "
        "Toca para empezar: {link}"
    ),
}
INVITE_FIRST_NAME_FALLBACK = {"en": "there", "es": ""}
LONGEST_LINK = "https://t.me/" + "b" * 32 + "?start=" + "t" * 24


def _language(language: str) -> str:
    return language if language in OPT_OUT_LINES else "en"


def with_opt_out_line(text: str, language: str) -> str:
    """`text` with the opt-out line after it, in the patient's language."""
    return f"{text}{SEPARATOR}{OPT_OUT_LINES[_language(language)]}"


def invite_sms(first_name: str | None, clinic_name: str, link: str, language: str) -> str:
    """The SMS that brings a Telegram-enrolled patient their invite link (plain GSM-7;
    names shortened to the SMS limits, as in every reminder)."""
    language = _language(language)
    name = (first_name or "").strip() or INVITE_FIRST_NAME_FALLBACK[language]
    values = {
        "first_name": shorten(name, SMS_NAME_LIMITS["first_name"]),
        "clinic_name": shorten(clinic_name, SMS_NAME_LIMITS["clinic_name"]),
    }
    text = INVITE_TEMPLATES[language].format(
        **{key: gsm7.to_gsm7(value) for key, value in values.items()}, link=link
    )
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)
