"""`aftercare doctor`'s check list: is this configuration ready to go live? (ok / warn /
fail, with what to do; the command is aftercare.cli.doctor).

Reads only: the database is probed with a write that is rolled back, the providers are
asked who they think we are. Nothing is created, migrated, registered or sent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aftercare.settings import Settings

if TYPE_CHECKING:
    from aftercare.doctor_checks import Check

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


async def diagnose(settings: Settings) -> list[Check]:
    """Every check for these settings, in the order an operator fixes things."""
    # Imported here: the provider clients are slow to load, and every other command would
    # pay for them at start.
    from aftercare.doctor_checks import (
        channels_check,
        clinic_protocols_check,
        database_check,
        ok,
        protocol_check,
        public_url_check,
    )
    from aftercare.doctor_providers import telegram_checks, twilio_checks

    checks = [
        ok("settings", "read from the environment and .env"),
        channels_check(settings),
        public_url_check(settings),
        protocol_check(settings),
        await asyncio.to_thread(database_check, settings),
    ]
    if checks[-1].status != "fail":  # a database to read them from
        checks.append(await asyncio.to_thread(clinic_protocols_check, settings))
    if settings.telegram_enabled:
        checks.extend(await telegram_checks(settings))
    if settings.sms_enabled:
        checks.extend(await twilio_checks(settings))
    return checks


def render(checks: list[Check]) -> str:
    width = max(len(check.name) for check in checks) + 2
    lines = []
    for check in checks:
        lines.append(f"{MARKS[check.status]}  {check.name.ljust(width)}{check.detail}")
        if check.fix:
            lines.append(f"{' ' * (6 + width)}-> {check.fix}")
    counts = {status: sum(c.status == status for c in checks) for status in MARKS}
    warnings = f"{counts['warn']} warning{'' if counts['warn'] == 1 else 's'}"
    lines.append(f"{counts['ok']} ok, {warnings}, {counts['fail']} failed")
    return "\n".join(lines)
