"""A sample enrollment CSV whose treatment times are relative to now. Pure: no I/O.

A file with fixed dates goes stale once they fall out of the import window, so the example
is generated: every row is treated within the window, in the past, and imports with nothing
rejected whenever it is made. The rows show the formats the importer reads: an ISO time
with an offset, naive local times in the row's own zone, SMS and Telegram, both languages.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.csv_rows import COLUMNS
from clinic.dates import import_window, parse_treatment_at, treatment_window_problem
from messages.protocol import Protocol

FIRST_NAMES = ("Ana", "Bruno", "Cy", "Dolores", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo")
NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")
# Ages spread over the window without repeating a pattern a reader would notice.
AGE_STEP = timedelta(hours=37, minutes=15)


def example_csv(now: datetime, protocol: Protocol, rows: int = 3) -> str:
    """`rows` patient rows under the header, each treated between a few hours and a few
    days short of the protocol's import window before `now` (aware, any zone)."""
    window = import_window(protocol)
    youngest = min(timedelta(hours=6), window / 4)
    span = window - 2 * youngest
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for index in range(rows):
        age = youngest + (AGE_STEP * index) % span
        writer.writerow(_row(index, now - age, now, protocol))
    return buffer.getvalue()


def _row(index: int, treated: datetime, now: datetime, protocol: Protocol) -> list[str]:
    external_id = f"A-{1001 + index}"
    first_name = FIRST_NAMES[index % len(FIRST_NAMES)]
    local_number = f"555-01{index % 100:02d}"
    kind = index % 3
    if kind == 0:  # the clinic's zone, an exact time with its offset, by SMS
        at = treated.astimezone(NEW_YORK).replace(second=0, microsecond=0)
        phone = f"(212) {local_number}"
        return [external_id, at.isoformat(timespec="minutes"), first_name, phone, "", "en", "sms"]
    zone = MADRID if kind == 1 else NEW_YORK
    local = treated.astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M" if kind == 1 else "%Y-%m-%dT%H:%M")
    if not _imports(text, zone, now, protocol):
        # A naive time in a DST gap or fold is refused on purpose; say it exactly instead.
        text = local.isoformat(timespec="minutes")
    if kind == 1:  # Spanish, Telegram, no phone
        return [external_id, text, first_name, "", zone.key, "es", "telegram"]
    phone = "+1 212 " + local_number.replace("-", " ")
    return [external_id, text, first_name, phone, zone.key, "en", ""]


def _imports(text: str, zone: ZoneInfo, now: datetime, protocol: Protocol) -> bool:
    try:
        treated = parse_treatment_at(text, zone)
    except ValueError:
        return False
    return treatment_window_problem(treated, now, protocol) is None
