"""Keywords recognised in an inbound text: the carriers' (STOP, START, HELP and their
Spanish use) and PLAN.

Only a message that *is* a keyword counts ("Stop", "STOP!", "baja por favor"): a question
that merely contains the word ("when can I stop using sunscreen?") goes to the
conversation core like any other text. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["stop", "start", "help", "plan"]

# Twilio's standard keywords (which its own opt-out handling also acts on), the phrases
# carriers and the FCC's 2025 rules treat as a clear request to opt out, and Spanish use.
_KEYWORDS: dict[Kind, dict[str, frozenset[str]]] = {
    "stop": {
        "en": frozenset(
            {
                "STOP",
                "STOPALL",
                "STOP ALL",
                "UNSUBSCRIBE",
                "CANCEL",
                "END",
                "QUIT",
                "OPTOUT",
                "OPT OUT",
                "REVOKE",
            }
        ),
        "es": frozenset(
            {"PARAR", "PARA", "BAJA", "DAR DE BAJA", "DARME DE BAJA", "CANCELAR", "DETENER"}
        ),
    },
    "start": {
        "en": frozenset({"START", "YES", "UNSTOP"}),
        "es": frozenset({"ALTA", "SI", "COMENZAR", "REANUDAR", "INICIAR"}),
    },
    "help": {
        "en": frozenset({"HELP", "INFO"}),
        "es": frozenset({"AYUDA"}),
    },
    # Ours, not a carrier's: the patient's next steps and session. PLAN is the same word in
    # both languages, so it is answered in the patient's own.
    "plan": {
        "en": frozenset({"PLAN", "MY PLAN"}),
        "es": frozenset({"MI PLAN"}),
    },
}

# Politeness around a keyword does not make it a question.
_FILLERS = ("PLEASE", "PLS", "POR FAVOR", "PORFAVOR", "GRACIAS", "THANKS", "THANK YOU")
_NOT_WORD = re.compile(r"[^A-Z0-9 ]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Keyword:
    kind: Kind
    language: str  # the language the keyword is in: "en" or "es"


def normalise(text: str) -> str:
    """Upper case, accents and punctuation removed, spaces collapsed: "¡Sí!" -> "SI"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).upper()
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", plain)).strip()


def _without_fillers(words: str) -> str:
    changed = True
    while changed:
        changed = False
        for filler in _FILLERS:
            if words.endswith(" " + filler):
                words, changed = words[: -len(filler) - 1], True
            elif words.startswith(filler + " "):
                words, changed = words[len(filler) + 1 :], True
    return words


def keyword(text: str) -> Keyword | None:
    """The keyword this whole message is, or None for ordinary text."""
    words = _without_fillers(normalise(text))
    if not words:
        return None
    for kind, by_language in _KEYWORDS.items():
        for language, words_of_kind in by_language.items():
            if words in words_of_kind:
                return Keyword(kind, language)
    return None
