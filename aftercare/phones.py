"""Phone numbers to E.164, with the clinic's country for local numbers."""

from __future__ import annotations

import phonenumbers


def normalise_phone(raw: str, country: str) -> str:
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        raise ValueError(f"not a phone number: {text!r}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number for {country.upper()}: {text!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
