"""GSM 03.38 character set: what an SMS can carry as 7-bit text, and what it costs."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "^{}\\[~]|€\f"
_BASIC_SET = frozenset(BASIC)
_EXTENSION_SET = frozenset(EXTENSION)

# Typographic characters that have a plain GSM-7 twin.
_PLAIN = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "′": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "″": '"',
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "…": "...",
    "\u00a0": " ",
    "•": "-",
    "·": "-",
}

SINGLE_GSM7, MULTI_GSM7 = 160, 153
SINGLE_UCS2, MULTI_UCS2 = 70, 67


@dataclass(frozen=True)
class SmsCost:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7, extension characters count two) or UTF-16 code units
    segments: int


def non_gsm7(text: str) -> list[str]:
    """Characters that would force the whole message into UCS-2, in order of appearance."""
    seen: list[str] = []
    for char in text:
        if char not in _BASIC_SET and char not in _EXTENSION_SET and char not in seen:
            seen.append(char)
    return seen


def is_gsm7(text: str) -> bool:
    return not non_gsm7(text)


def cost(text: str) -> SmsCost:
    if is_gsm7(text):
        units = sum(2 if char in _EXTENSION_SET else 1 for char in text)
        single, multi, encoding = SINGLE_GSM7, MULTI_GSM7, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = SINGLE_UCS2, MULTI_UCS2, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsCost(encoding, units, segments)


def to_gsm7(text: str) -> str:
    """Best-effort plain version of free text (a patient's name, say) that stays in GSM-7."""
    out = []
    for char in text:
        if char in _BASIC_SET:
            out.append(char)
            continue
        if char in _PLAIN:
            out.append(_PLAIN[char])
            continue
        stripped = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(stripped if stripped and all(c in _BASIC_SET for c in stripped) else "?")
    return "".join(out)
