"""Phone numbers to E.164, with the clinic's country for local numbers."""

from __future__ import annotations

from storage.clinic_fields import normalise_phone

__all__ = ["normalise_phone"]
