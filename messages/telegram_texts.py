"""What the Telegram bot itself says (greetings, prompts, confirmations), in en and es.

Medical advice lives in the protocol and the FAQ; these texts only guide the conversation,
and whenever they touch on health they send the patient to their clinic. Placeholders are
filled by `text()`, which escapes them for Telegram's HTML parse mode.
"""

from __future__ import annotations

import html
import string

LANGUAGES = ("en", "es")

TEXTS: dict[str, dict[str, str]] = {
    # -- onboarding -------------------------------------------------------------------------
    "invite_welcome": {
        "en": "Hi {first_name}, welcome! 👋 {clinic_name} asked me to walk you through your "
        "aftercare. I'll send each tip when it's time.",
        "es": "¡Hola {first_name}, te damos la bienvenida! 👋 {clinic_name} me ha pedido que "
        "te acompañe en tus cuidados. Te enviaré cada consejo en su momento.",
    },
    "invite_invalid": {
        "en": "This link has expired or was already used. Please ask your clinic for a new one.",
        "es": "Este enlace ha caducado o ya se usó. Pide uno nuevo a tu clínica, por favor.",
    },
    "start_registered": {
        "en": "Hi again {first_name}! Your reminders are set up. Send /plan to see them, "
        "or just ask me a question.",
        "es": "¡Hola de nuevo, {first_name}! Tus recordatorios están listos. Envía /plan para "
        "verlos o hazme una pregunta.",
    },
    "start_unknown": {
        "en": "Hi! I send aftercare reminders after a microneedling treatment. To start, "
        "open the link your clinic gave you.",
        "es": "¡Hola! Envío recordatorios de cuidados después de un microneedling. Para "
        "empezar, abre el enlace que te dio tu clínica.",
    },
    "clinic_unknown": {
        "en": "I couldn't find that clinic. Please check the link with your clinic.",
        "es": "No encuentro esa clínica. Revisa el enlace con tu clínica, por favor.",
    },
    # -- self-registration ------------------------------------------------------------------
    "reg_intro": {
        "en": "Hi! I'm the aftercare assistant of {clinic_name}. A few quick questions and "
        "your reminders are ready. Send /cancel at any time to stop.",
        "es": "¡Hola! Soy el asistente de cuidados de {clinic_name}. Unas preguntas rápidas y "
        "tus recordatorios estarán listos. Envía /cancel cuando quieras para salir.",
    },
    "ask_day": {
        "en": "When was your treatment? Tap a day, or type it, for example "
        "<i>today 2pm</i>, <i>yesterday 15:30</i> or <i>21/11 14:00</i>.",
        "es": "¿Cuándo fue tu tratamiento? Toca un día o escríbelo, por ejemplo "
        "<i>hoy 14:00</i>, <i>ayer 15:30</i> o <i>21/11 14:00</i>.",
    },
    "ask_hour": {
        "en": "At what time, roughly? Tap an hour or type it (for example <i>14:30</i>).",
        "es": "¿A qué hora, más o menos? Toca una hora o escríbela (por ejemplo <i>14:30</i>).",
    },
    "ask_hour_typed": {
        "en": "Please type the time, for example <i>9:30</i> or <i>2pm</i>.",
        "es": "Escribe la hora, por ejemplo <i>9:30</i> o <i>14:00</i>.",
    },
    "time_not_understood": {
        "en": "Sorry, I didn't get that time. Try <i>today 2pm</i>, <i>yesterday 15:30</i> "
        "or <i>21/11 14:00</i>.",
        "es": "Perdona, no entendí la hora. Prueba <i>hoy 14:00</i>, <i>ayer 15:30</i> o "
        "<i>21/11 14:00</i>.",
    },
    "time_future": {
        "en": "That time is still ahead of us. Please tell me when the treatment actually "
        "took place.",
        "es": "Esa hora todavía no ha llegado. Dime cuándo fue el tratamiento, por favor.",
    },
    "time_too_old": {
        "en": "That was more than 14 days ago, past the reminder period. If you mistyped, "
        "send the date again; for any question, contact your clinic.",
        "es": "Eso fue hace más de 14 días, fuera del periodo de recordatorios. Si te "
        "equivocaste, escribe la fecha de nuevo; para cualquier duda, contacta con tu clínica.",
    },
    "time_gap": {
        "en": "That time didn't exist on the clock that day (the clocks moved forward). "
        "Please pick another time.",
        "es": "Esa hora no existió ese día (se adelantó el reloj). Elige otra hora, por favor.",
    },
    "ask_zone": {
        "en": "Treatment: <b>{when}</b>.\nYour time zone is <b>{zone}</b>, right?",
        "es": "Tratamiento: <b>{when}</b>.\nTu zona horaria es <b>{zone}</b>, ¿verdad?",
    },
    "ask_zone_typed": {
        "en": "Type your time zone or a city in it, for example <i>Europe/Madrid</i> or "
        "<i>Chicago</i>.",
        "es": "Escribe tu zona horaria o una ciudad de ella, por ejemplo <i>Europe/Madrid</i> "
        "o <i>Mexico City</i>.",
    },
    "zone_unknown": {
        "en": "I don't know that time zone. Try a name such as <i>America/New_York</i> or a "
        "big city nearby.",
        "es": "No conozco esa zona horaria. Prueba un nombre como <i>America/Mexico_City</i> o "
        "una ciudad grande cercana.",
    },
    "ask_language": {
        "en": "Which language would you like your messages in?",
        "es": "¿En qué idioma quieres recibir los mensajes?",
    },
    "ask_name": {
        "en": "What should I call you? Type your first name, or tap Skip.",
        "es": "¿Cómo quieres que te llame? Escribe tu nombre o toca Omitir.",
    },
    "name_too_long": {
        "en": "That's a bit long for a first name. Please type a shorter one, or tap Skip.",
        "es": "Es un poco largo para un nombre. Escribe uno más corto o toca Omitir.",
    },
    "confirm_plan": {
        "en": "Please check:\nTreatment: <b>{when}</b> ({zone})\n\n{plan}\n\n"
        "Shall I schedule these reminders?",
        "es": "Revisa, por favor:\nTratamiento: <b>{when}</b> ({zone})\n\n{plan}\n\n"
        "¿Programo estos recordatorios?",
    },
    "registered": {
        "en": "All set{name_part}! ✅ Your first message is on its way. Send /plan any time "
        "to see your reminders, or ask me a question.",
        "es": "¡Listo{name_part}! ✅ Tu primer mensaje va de camino. Envía /plan cuando "
        "quieras para ver tus recordatorios o hazme una pregunta.",
    },
    "cancelled": {
        "en": "OK, stopped. Nothing was saved. Open your clinic's link again whenever you like.",
        "es": "De acuerdo, lo dejamos. No se guardó nada. Abre el enlace de tu clínica cuando "
        "quieras.",
    },
    "nothing_to_cancel": {
        "en": "There's nothing to cancel.",
        "es": "No hay nada que cancelar.",
    },
    # -- plan ------------------------------------------------------------------------------
    "plan_header": {
        "en": "<b>Your aftercare plan</b> (treatment {when}, {zone}):",
        "es": "<b>Tu plan de cuidados</b> (tratamiento {when}, {zone}):",
    },
    "plan_next_session": {
        "en": "📅 Your next session: <b>{when}</b>",
        "es": "📅 Tu próxima sesión: <b>{when}</b>",
    },
    "plan_done": {"en": "✅ {when}: {title}", "es": "✅ {when}: {title}"},
    "plan_next": {"en": "🔔 {when}: {title}", "es": "🔔 {when}: {title}"},
    "plan_paused_note": {
        "en": "⏸ Reminders are paused. Send /resume to get them again.",
        "es": "⏸ Los recordatorios están en pausa. Envía /resume para volver a recibirlos.",
    },
    "plan_all_done": {
        "en": "All reminders are behind you. Keep using sunscreen every day.",
        "es": "Ya pasaron todos los recordatorios. Sigue usando protector solar cada día.",
    },
    "not_registered": {
        "en": "You're not registered yet. Open the link your clinic gave you to start.",
        "es": "Aún no estás registrado. Abre el enlace que te dio tu clínica para empezar.",
    },
    # -- /treatment --------------------------------------------------------------------------
    "treatment_intro": {
        "en": "Let's correct your treatment time (currently <b>{when}</b>).",
        "es": "Vamos a corregir la hora del tratamiento (ahora: <b>{when}</b>).",
    },
    "treatment_booked": {
        "en": "Your session on <b>{when}</b> hasn't happened yet, so there is no treatment "
        "time to correct. To change the appointment, please contact {clinic_name}, "
        "{clinic_phone}.",
        "es": "Tu sesión del <b>{when}</b> todavía no ha tenido lugar, así que no hay una hora "
        "de tratamiento que corregir. Para cambiar la cita, contacta con {clinic_name}, "
        "{clinic_phone}.",
    },
    "treatment_updated": {
        "en": "Done, treatment time changed to <b>{when}</b>. Reminders moved accordingly.",
        "es": "Hecho, la hora del tratamiento ahora es <b>{when}</b>. Los recordatorios se "
        "han ajustado.",
    },
    # -- /stop /resume /language /delete /help ---------------------------------------------
    "stopped": {
        "en": "⏸ Reminders paused. You won't get any more until you send /resume. You can "
        "still ask me questions.",
        "es": "⏸ Recordatorios en pausa. No recibirás más hasta que envíes /resume. Puedes "
        "seguir haciéndome preguntas.",
    },
    "resumed": {
        "en": "▶️ Reminders are back on. You'll get the next one when it's due.",
        "es": "▶️ Recordatorios activados de nuevo. Recibirás el siguiente en su momento.",
    },
    "language_set": {
        "en": "Done, I'll write to you in English.",
        "es": "Hecho, te escribiré en español.",
    },
    "delete_confirm": {
        "en": "This erases your details and cancels all your reminders. It can't be undone. "
        "Are you sure?",
        "es": "Esto borra tus datos y cancela todos tus recordatorios. No se puede deshacer. "
        "¿Seguro?",
    },
    "deleted": {
        "en": "Your data has been erased and your reminders cancelled. Take care! 💙",
        "es": "Tus datos se han borrado y tus recordatorios están cancelados. ¡Cuídate! 💙",
    },
    "delete_kept": {
        "en": "OK, nothing was deleted.",
        "es": "De acuerdo, no se borró nada.",
    },
    "help": {
        "en": "I send your microneedling aftercare tips at the right moments.\n\n"
        "/plan – your reminders and next session\n/treatment – correct the treatment time\n"
        "/stop – pause reminders\n/resume – turn them back on\n/language – change language\n"
        "/delete – erase your data\n\nYou can also just type a question. I'm not a doctor: "
        "if something worries you, contact your clinic. In an emergency, call {emergency}.",
        "es": "Te envío los consejos de cuidado tras el microneedling en el momento justo.\n\n"
        "/plan – tus recordatorios y próxima sesión\n"
        "/treatment – corregir la hora del tratamiento\n"
        "/stop – pausar recordatorios\n/resume – reactivarlos\n/language – cambiar idioma\n"
        "/delete – borrar tus datos\n\nTambién puedes escribirme una pregunta. No soy "
        "médico: si algo te preocupa, contacta con tu clínica. En una emergencia, llama al "
        "{emergency}.",
    },
    "help_clinic": {
        "en": "Your clinic: {clinic_name}, {clinic_phone}.",
        "es": "Tu clínica: {clinic_name}, {clinic_phone}.",
    },
    "inbound_failed": {
        "en": "Sorry, I couldn't answer just now. If something worries you, contact your "
        "clinic. In an emergency, call {emergency}.",
        "es": "Perdona, ahora no puedo responder. Si algo te preocupa, contacta con tu "
        "clínica. En una emergencia, llama al {emergency}.",
    },
    "only_text": {
        "en": "I can only read text messages. Please type your question.",
        "es": "Solo puedo leer mensajes de texto. Escribe tu pregunta, por favor.",
    },
    # -- buttons ---------------------------------------------------------------------------
    "btn_today": {"en": "Today", "es": "Hoy"},
    "btn_yesterday": {"en": "Yesterday", "es": "Ayer"},
    "btn_two_days": {"en": "2 days ago", "es": "Hace 2 días"},
    "btn_other_time": {"en": "Other time", "es": "Otra hora"},
    "btn_yes": {"en": "Yes", "es": "Sí"},
    "btn_change": {"en": "Change", "es": "Cambiar"},
    "btn_skip": {"en": "Skip", "es": "Omitir"},
    "btn_confirm": {"en": "✅ Schedule", "es": "✅ Programar"},
    "btn_change_time": {"en": "Change time", "es": "Cambiar hora"},
    "btn_cancel": {"en": "Cancel", "es": "Cancelar"},
    "btn_delete": {"en": "Yes, erase my data", "es": "Sí, borrar mis datos"},
    "btn_keep": {"en": "No, keep it", "es": "No, mantener"},
}

# The command menu (setMyCommands), per language.
COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("start", "Start or link your clinic's invite"),
        ("plan", "See your aftercare reminders"),
        ("treatment", "Correct the treatment time"),
        ("stop", "Pause reminders"),
        ("resume", "Turn reminders back on"),
        ("language", "Change language"),
        ("delete", "Erase my data"),
        ("help", "How this works"),
    ],
    "es": [
        ("start", "Empezar o abrir la invitación"),
        ("plan", "Ver tus recordatorios"),
        ("treatment", "Corregir la hora del tratamiento"),
        ("stop", "Pausar recordatorios"),
        ("resume", "Reactivar recordatorios"),
        ("language", "Cambiar idioma"),
        ("delete", "Borrar mis datos"),
        ("help", "Cómo funciona"),
    ],
}

LANGUAGE_NAMES = {"en": "English", "es": "Español"}

WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
}
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}


def language_or_default(language: str | None, default: str = "en") -> str:
    """`en`/`es` from a stored language or a Telegram language code such as `es-MX`."""
    if language:
        short = language.split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return default if default in LANGUAGES else "en"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def text(key: str, language: str, **values: object) -> str:
    """The text `key` in `language` (English if unknown), values escaped for HTML."""
    table = TEXTS[key]
    template = table.get(language) or table["en"]
    escaped = {name: html.escape(str(value), quote=False) for name, value in values.items()}
    return template.format(**escaped)


def raw(key: str, language: str, **values: str) -> str:
    """Like `text()`, for values that are already HTML (a rendered plan)."""
    table = TEXTS[key]
    return (table.get(language) or table["en"]).format(**values)
