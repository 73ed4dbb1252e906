"""A clinic's own protocol for tests: the built-in one with its own name, a 2-hour welcome
delay, the sun milestone after 10 days instead of 14, and that milestone's English SMS
saying so. It passes every check a clinic's upload goes through."""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from storage.clinic_protocols import ClinicProtocols
from storage.db import Database

BUILT_IN = resources.files("messages").joinpath("protocols/microneedling.toml").read_text("utf-8")
SUN_SMS_BUILT_IN = "Hi {first_name}, 2 weeks on."


def clinic_toml(name: str = "glow", sun_after: str = "10d", words: str = "10 days on.") -> str:
    text = BUILT_IN.replace('name = "microneedling"', f'name = "{name}"\nwelcome_delay = "2h"')
    text = text.replace(
        'key = "sunscreen"\noffset = "14d"', f'key = "sunscreen"\noffset = "{sun_after}"'
    )
    text = text.replace(SUN_SMS_BUILT_IN, "Hi {first_name}, " + words)
    assert text != BUILT_IN
    return text


def upload(
    db: Database, clinic_id: int, now: datetime, source: str | None, service: str | None = None
) -> str:
    """Store a version as the command does (already checked); returns its key."""
    with db.session() as session:
        version = ClinicProtocols(db).record(
            session, clinic_id, source=source, file_name="clinic.toml", service=service, now=now
        )
    return version.key
