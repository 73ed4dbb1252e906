"""Reading a local time the way a person or a clinic's export writes it. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """Attach `zone` to a wall-clock time; refuse one that does not exist (DST gap)."""
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (clocks moved forward)"
        )
    return aware


def parse_instant(text: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 with or without an offset; a naive time is local to `zone`. Returns UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"not an ISO 8601 date and time: {text!r} (for example 2026-11-21T14:30)"
        ) from None
    if value.tzinfo is None:
        value = localize(value, zone)
    return value.astimezone(UTC)


def zone_named(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as America/New_York)"
        ) from None
