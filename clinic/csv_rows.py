"""One CSV row to one patient and treatment, or the reasons it cannot be. Pure: no I/O.

Row numbers are the spreadsheet's: the header is row 1, the first patient row 2.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple
from zoneinfo import ZoneInfo

from clinic.dates import parse_treatment_at, treatment_window_problem
from messages.protocol import Protocol
from scheduler.localtime import zone_named
from scheduler.planning import MAX_AHEAD
from storage.clinic_fields import normalise_phone
from storage.clinic_protocols import MAX_SERVICE, service_key
from storage.values import CHANNELS, LANGUAGES

COLUMNS = (
    "external_id",
    "treatment_at",
    "first_name",
    "phone",
    "timezone",
    "language",
    "channel",
    "appointment_id",
    "service",
    "status",
)
REQUIRED = ("external_id", "treatment_at")
# What booking systems call our columns. `date` + `time` together stand for treatment_at.
ALIASES = {
    "clientid": "external_id",
    "patientid": "external_id",
    "mrn": "external_id",
    "starttime": "treatment_at",
    "appointmenttime": "treatment_at",
    "start": "treatment_at",
    "mobile": "phone",
    "cell": "phone",
    "bookingid": "appointment_id",
    "treatment": "service",
    "date": "date",
    "time": "time",
}
MAX_APPOINTMENT_ID = 128
MAX_EXTERNAL_ID = 128
MAX_FIRST_NAME = 80

_EXCEL_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE]\+?\d+$")
_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A row of another service is skipped whatever these hold (its time, how to reach them).
_NOT_FOR_SKIPPED = frozenset({"treatment_at", "date", "time", "phone", "channel"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None  # None: the whole row or file
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class ClinicContext:
    """What validation needs to know about the clinic and the moment of import."""

    country: str
    timezone: str
    language: str
    date_format: str | None
    now: datetime
    protocol: Protocol
    ahead: timedelta = MAX_AHEAD  # how far ahead an appointment may be (a clinic setting)
    # Booking services the clinic mapped to a protocol of its own, by `service_key`.
    services: Mapping[str, Protocol] = field(default_factory=dict)


class ValidRow(NamedTuple):
    """A NamedTuple: an import makes each row twice (checked, then read back from the spool
    as a plain tuple), and a frozen dataclass took several times as long to make."""

    row: int
    external_id: str
    treated_at: datetime  # UTC
    first_name: str | None
    phone: str | None  # E.164
    timezone: str
    language: str
    channel: str
    appointment_id: str | None = None
    cancelled: bool = False  # the booking was cancelled or missed: its reminders are cancelled
    skipped: bool = False  # a service that is not microneedling: not enrolled
    service: str | None = None  # a service the clinic mapped (its service_key), else None
    service_name: str | None = None  # the booking's service as written (spaces collapsed)


@dataclass(frozen=True)
class HeaderMap:
    positions: dict[str, int]  # column name -> cell index
    unknown: list[str]
    width: int


class HeaderError(ValueError):
    """The header row makes the file unreadable (missing or repeated columns)."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing  # the required columns it lacks


def header_key(name: str) -> str:
    """`External ID`, `external_id` and `EXTERNALID` all name the same column."""
    return re.sub(r"[\s_\-]+", "", name.replace("\ufeff", "")).lower()


_KEYS = {header_key(column): column for column in COLUMNS} | ALIASES


def map_header(cells: list[str], clinic_map: dict[str, str] | None = None) -> HeaderMap:
    """`clinic_map`: the clinic's own names (column -> its header cell), tried first."""
    own = {header_key(name): column for column, name in (clinic_map or {}).items()}
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        if not cell.strip():
            continue
        column = own.get(header_key(cell)) or _KEYS.get(header_key(cell))
        if column is None:
            unknown.append(cell.strip())
        elif column in positions:
            raise HeaderError(f"column {column!r} appears twice in the header")
        else:
            positions[column] = index
    halves: list[str] = []  # a Date column without a Time one, or the other way round
    if "treatment_at" not in positions and "date" in positions and "time" in positions:
        positions["treatment_at"] = -1  # read from the date and time cells
    else:
        for part in ("date", "time"):
            if part in positions:
                halves.append(cells[positions.pop(part)].strip())
        unknown.extend(halves)
    missing = [column for column in REQUIRED if column not in positions]
    if missing:
        found = ", ".join(repr(c.strip()) for c in cells if c.strip()) or "nothing"
        half = (
            f"; {halves[0]!r} alone is half a treatment time: the date and the time of day "
            "go in one column, or in a Date and a Time column"
            if len(halves) == 1 and "treatment_at" in missing
            else ""
        )
        example = " ".join(f'--map {column}="Your column"' for column in missing)
        raise HeaderError(
            f"missing required column(s) {', '.join(missing)} in the header (found {found})"
            f"{half}; expected columns: {', '.join(COLUMNS)} (or a booking system's names "
            "such as Client ID, Start Time, or Date and Time); to use your own names run "
            f"'aftercare clinic columns SLUG {example}'",
            tuple(missing),
        )
    return HeaderMap(positions, unknown, len(cells))


def is_blank(cells: list[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def fingerprint(cells: list[str]) -> int:
    """A short digest of a row's content: tells identical duplicate rows from conflicting."""
    digest = hashlib.blake2b("\x1f".join(map(str.strip, cells)).encode(errors="replace"))
    return int.from_bytes(digest.digest()[:4], "big")


def raw_external_id(cells: list[str], header: HeaderMap) -> str:
    index = header.positions["external_id"]
    return cells[index].strip() if index < len(cells) else ""


def _empty_half(values: dict[str, str]) -> tuple[str, str] | None:
    """In a file with a Date and a Time column: the one of the two a row leaves empty, and
    why that matters (the other one alone is not a treatment time)."""
    date, time = values.get("date", ""), values.get("time", "")
    if not date and not time:
        return "treatment_at", "is required: the Date and Time cells are empty"
    if date and not time:
        return "time", f"is empty: the treatment needs its time of day, not only the date {date!r}"
    if time and not date:
        return "date", f"is empty: the treatment needs its date, not only the time {time!r}"
    return None


def _cell_values(cells: list[str], header: HeaderMap) -> dict[str, str]:
    """Each known column's cell, stripped, read once (a column the row is too short for is
    absent); treatment_at from separate date and time cells joined by a space."""
    width = len(cells)
    values = {
        column: cells[index].strip()
        for column, index in header.positions.items()
        if 0 <= index < width
    }
    if header.positions.get("treatment_at") == -1:
        values["treatment_at"] = f"{values.get('date', '')} {values.get('time', '')}".strip()
    return values


def validate_row(
    row: int, cells: list[str], header: HeaderMap, ctx: ClinicContext
) -> ValidRow | list[RowError]:
    """The row as a patient and treatment, or every problem found in it (one per column)."""
    errors: list[RowError] = []
    extra = cells[header.width :]
    if any(cell.strip() for cell in extra):
        errors.append(
            RowError(
                row,
                None,
                f"the row has {len(cells)} cells but the header has {header.width} "
                "(a separator inside an unquoted value?)",
            )
        )
        return errors

    values = _cell_values(cells, header)
    if _SURROGATE.search("".join(cells)):
        for column in header.positions:
            if _SURROGATE.search(values.get(column, "")):
                errors.append(RowError(row, column, _undecodable_message(values[column])))
        if errors:
            return errors

    def check(column: str, problem: str | None) -> None:
        if problem:
            errors.append(RowError(row, column, problem))

    external_id = values.get("external_id", "")
    check("external_id", _external_id_problem(external_id))

    zone_name = values.get("timezone") or ctx.timezone
    zone: ZoneInfo | None = None
    try:
        zone = _zone_named(zone_name)
    except ValueError as exc:
        check("timezone", str(exc))

    first_name = values.get("first_name") or None
    if first_name and len(first_name) > MAX_FIRST_NAME:
        check("first_name", f"is longer than {MAX_FIRST_NAME} characters")
    elif first_name and _CONTROL.search(first_name):
        check("first_name", "contains control characters")

    given_language = values.get("language", "")
    language = (given_language or ctx.language).lower().split("-")[0].split("_")[0]
    if language not in LANGUAGES:
        check("language", f"must be one of {', '.join(LANGUAGES)}, got {given_language!r}")

    given_phone = values.get("phone", "")
    phone: str | None = None
    if given_phone:
        try:
            phone = phone_e164(given_phone, ctx.country)
        except ValueError as exc:
            check("phone", str(exc))

    given_channel = values.get("channel", "")
    channel = given_channel.lower()
    if channel and channel not in CHANNELS:
        check("channel", f"must be sms or telegram, got {given_channel!r}")
    elif not channel:
        channel = "sms" if given_phone else "telegram"
    elif channel == "sms" and not given_phone:
        check("phone", "is required when the channel is sms")

    # A service the clinic mapped is enrolled with its own protocol whatever its name; any
    # other service only when its name says microneedling (the clinic's default protocol).
    given_service = values.get("service", "")
    service = _mapped_service(given_service, ctx.services)
    protocol = ctx.protocol if service is None else ctx.services[service]
    given_time = values.get("treatment_at", "")
    treated_at: datetime | None = None
    # A Date and a Time column: one empty cell is named, not the half time they make.
    empty_half = _empty_half(values) if header.positions.get("treatment_at") == -1 else None
    if empty_half is not None:
        check(*empty_half)
    elif not given_time:
        check("treatment_at", "is required")
    elif zone is not None:
        try:
            treated_at = parse_treatment_at(given_time, zone, ctx.date_format)
        except ValueError as exc:
            check("treatment_at", str(exc))
        else:
            check(
                "treatment_at",
                treatment_window_problem(treated_at, ctx.now, protocol, ctx.ahead),
            )

    appointment_id = values.get("appointment_id") or None
    if appointment_id and len(appointment_id) > MAX_APPOINTMENT_ID:
        check("appointment_id", f"is longer than {MAX_APPOINTMENT_ID} characters")
    cancelled = False
    given_status = values.get("status", "")
    if given_status:
        try:
            cancelled = status_cancels(given_status)
        except ValueError as exc:
            check("status", str(exc))
    skipped = service is None and bool(given_service) and not is_microneedling(given_service)
    service_name = " ".join(given_service.split()) or None  # stored with the treatment
    if service_name is not None and not skipped:
        check("service", _service_problem(service_name))
    if skipped:
        # A row of another service is counted as skipped whatever else it holds: a clinic
        # uploads its whole day's export.
        errors = [e for e in errors if e.column not in _NOT_FOR_SKIPPED]
        if not errors and treated_at is None:
            treated_at = ctx.now
    if errors or treated_at is None or zone is None:
        return errors
    return ValidRow(
        row,
        external_id,
        treated_at,
        first_name,
        phone,
        zone.key,
        language,
        channel,
        appointment_id,
        cancelled,
        skipped,
        service,
        service_name,
    )


_KEEP = (
    "booked",
    "confirmed",
    "checked in",
    "completed",
    "reservada",
    "reservado",
    "confirmada",
    "confirmado",
    "registrada",
    "registrado",
    "completada",
    "completado",
    "realizada",
    "realizado",
    "atendida",
    "atendido",
)
_CANCEL = (
    "cancelled",
    "canceled",
    "no-show",
    "no show",
    "noshow",
    "missed",
    "cancelada",
    "cancelado",
    "anulada",
    "anulado",
    "no asistió",
    "no se presentó",
    "ausente",
)
_SERVICES = ("microneedl", "micro-needl", "collagen induction", "dermapen", "microagujas")


def _folded(text: str) -> str:
    """Lower case without accents or repeated spaces: `Checked-In`, `checked in` alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("_", " ").split())


_KEEP_FOLDED = {_folded(s) for s in _KEEP} | {"checked-in", "check in", "checkin", "checkedin"}
_CANCEL_FOLDED = {_folded(s) for s in _CANCEL}


@functools.lru_cache(maxsize=1024)  # an export repeats a handful of values
def status_cancels(status: str) -> bool:
    """True for a cancelled or missed booking, False for one that stands; unknown raises."""
    folded = _folded(status)
    if folded in _CANCEL_FOLDED:
        return True
    if folded in _KEEP_FOLDED:
        return False
    raise ValueError(
        f"unknown status {status!r}; accepted: booked, confirmed, checked in, completed "
        "(keep the plan), cancelled, no-show, missed (cancel its reminders), or in Spanish "
        "reservada, confirmada, completada, cancelada, no asistió"
    )


def _mapped_service(service: str, services: Mapping[str, Protocol]) -> str | None:
    if not service or not services:
        return None
    key = _service_key(service)
    return key if key in services else None


_service_key = functools.lru_cache(maxsize=1024)(service_key)
_zone_named = functools.lru_cache(maxsize=1024)(zone_named)  # an export repeats a few zones


@functools.lru_cache(maxsize=1024)
def is_microneedling(service: str) -> bool:
    """The built-in service match: case and accents do not matter."""
    folded = _folded(service)
    return any(_folded(word) in folded for word in _SERVICES)


def _service_problem(service: str) -> str | None:
    if len(service) > MAX_SERVICE:
        return f"is longer than {MAX_SERVICE} characters"
    if _CONTROL.search(service):
        return "contains control characters"
    return None


def _external_id_problem(external_id: str) -> str | None:
    if not external_id:
        return "is required"
    if len(external_id) > MAX_EXTERNAL_ID:
        return f"is longer than {MAX_EXTERNAL_ID} characters"
    if _CONTROL.search(external_id):
        return "contains control characters"
    return None


def phone_e164(raw: str, country: str) -> str:
    """E.164 for `raw`; spreadsheet-mangled numbers are recovered only when no digit was lost."""
    text = raw.strip()
    if not _EXCEL_NUMBER.match(text):
        return normalise_phone(text, country)
    digits = _recover_scientific(text)
    try:
        return normalise_phone(digits, country)
    except ValueError:
        # The spreadsheet also dropped the leading +: try it as an international number.
        return normalise_phone("+" + digits, country)


def _recover_scientific(text: str) -> str:
    """`1.5550123456E+10` kept every digit and is exact; `1.555E+10` lost some and is not."""
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        raise ValueError(f"not a phone number: {text!r}") from None
    sign, _digits, exponent = value.as_tuple()
    # Written with every digit, the exponent cancels out exactly (exponent 0). A positive
    # exponent means trailing digits were rounded away and cannot be told from zeros.
    if exponent != 0:
        raise ValueError(
            f"{text!r} is a phone number a spreadsheet turned into scientific notation and "
            "digits were lost; format the column as Text and export again"
        )
    return ("-" if sign else "") + str(int(value))


def _undecodable_message(value: str) -> str:
    bad = next(ch for ch in value if "\udc80" <= ch <= "\udcff")
    return (
        f"is not valid UTF-8 (byte 0x{ord(bad) - 0xDC00:02X}); "
        "save the file as 'CSV UTF-8' and upload it again"
    )


def escape_formula(value: str) -> str:
    """A cell a spreadsheet would run as a formula is shown as text instead."""
    return "'" + value if value.startswith(_FORMULA_START) else value
