"""What a patient's inbound text becomes before anything else looks at it.

Providers hand us whatever the sender's phone produced. A NUL byte cannot be stored in a
PostgreSQL text column, other control characters only confuse matching and staff pages,
and a very long text costs matching time for no benefit: SMS bodies are at most 1,600
characters and Telegram messages 4,096, so anything past that is not a real message.
"""

from __future__ import annotations

import unicodedata

SMS_MAX_CHARS = 1_600
TELEGRAM_MAX_CHARS = 4_096

_KEPT_CONTROLS = {"\n", "\t"}


def clean_inbound(text: str, max_chars: int) -> str:
    """`text` without control characters (newlines and tabs stay), cut to `max_chars`."""
    if len(text) > max_chars * 2:
        # Cut before the per-character pass, so its cost is bounded by the cap too.
        text = text[: max_chars * 2]
    kept = "".join(
        char
        for char in text
        if char in _KEPT_CONTROLS or unicodedata.category(char) not in ("Cc", "Cs")
    )
    return kept[:max_chars]
