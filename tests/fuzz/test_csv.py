"""The clinic CSV reader (clinic.reader, clinic.csv_rows) against hostile files.

Whatever the bytes, reading ends in rows (each one valid or rejected with its row, column
and reason) or in one FileProblem that says why; never another exception. Over HTTP, a dry
run answers 200 with a report, or 413/422 with the reason; never 500.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.applications import Starlette

from aftercare.wiring import build_core, clinic_api
from clinic.csv_rows import (
    COLUMNS,
    ClinicContext,
    RowError,
    ValidRow,
    validate_row,
)
from clinic.keys import hash_api_key, new_api_key
from clinic.reader import CsvSource, FileProblem, Limits
from messages.protocol_files import load_protocol
from scheduler.clock import FakeClock
from storage.enrollment import EnrollmentStore
from storage.migrate import upgrade
from storage.models import Patient
from storage.values import CHANNELS, LANGUAGES
from tests.conftest import make_settings
from tests.fuzz.harness import fuzz

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PROTOCOL = load_protocol()
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Cell values a clinic's export (or an attacker) can put in each column.
HOSTILE = [
    "",
    " ",
    '"',
    '""',
    "'",
    "\x00",
    "\r",
    "\r\n",
    "\n",
    "\t",
    "\ufeff",
    "=cmd|' /C calc'!A0",
    "+1 212 555 0101",
    "@SUM(A1)",
    "-1",
    "1.555E+10",
    "1.2125550103E+10",
    "12125550103",
    "(212) 555-0199",
    "+44 20 7946 0958",
    "not a phone",
    "+" + "9" * 40,
    "2026-03-01T10:30",
    "2026-03-01 16:30",
    "2026-03-02T09:15-05:00",
    "2026-02-30 10:00",
    "2026-03-08 02:30",  # New York DST gap
    "2025-11-02 01:30",  # New York DST fold
    "03/04/2026 10:00",
    "13/02/2026 10:00",
    "2026-03-01",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2026-03-01T10:30+14:00",
    "2026-03-01T10:30Z",
    "America/New_York",
    "Europe/Madrid",
    "Mars/Olympus_Mons",
    "../../etc/passwd",
    "UTC",
    "en",
    "es",
    "fr",
    "EN-us",
    "es_MX",
    "sms",
    "telegram",
    "TELEGRAM",
    "fax",
    "Ana",
    "José Ñúñez",
    "😀" * 3,
    "x" * 81,
    "y" * 129,
    "P-1",
    "P-1 ",
    "p-1",
]
SEPARATORS = [",", ";", "\t"]


def cells() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))


@st.composite
def header_names(draw: st.DrawFn) -> list[str]:
    """The known columns in any order, spelled the ways exports spell them, maybe repeated,
    maybe missing, with unknown ones mixed in."""
    names = draw(st.lists(st.sampled_from(COLUMNS), max_size=9))
    if draw(st.integers(0, 4)):
        names = ["external_id", "treatment_at", *names]
    spelled = [
        draw(st.sampled_from([n, n.upper(), n.replace("_", " "), f" {n} ", n.title()]))
        for n in names
    ]
    extra = st.one_of(st.sampled_from(["notes", "", "Email"]), cells())
    unknown = draw(st.lists(extra, max_size=3))
    merged = spelled + unknown
    return draw(st.permutations(merged)) if merged else merged


@st.composite
def structured_files(draw: st.DrawFn) -> bytes:
    """A CSV shaped like a clinic export whose cells, quoting and framing are hostile."""
    separator = draw(st.sampled_from(SEPARATORS))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = draw(header_names())
    width = max(len(header), 1)
    rows = draw(
        st.lists(
            st.lists(cells(), min_size=0, max_size=width + 2),
            max_size=8,
        )
    )
    blank_lines = draw(st.integers(0, 50))
    if draw(st.booleans()):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=separator, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
        text = out.getvalue()
    else:  # no quoting at all: separators and quotes inside values break the framing
        lines = [separator.join(header), *(separator.join(row) for row in rows)]
        text = newline.join(lines)
    insert_at = draw(st.integers(0, len(text)))
    text = text[:insert_at] + newline * blank_lines + text[insert_at:]
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    if draw(st.integers(0, 3)) == 0:  # bytes that are not UTF-8, somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    if draw(st.integers(0, 5)) == 0:  # a file cut off mid-way (in a quote, mid-character)
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def byte_files(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, alone or after a valid header."""
    body = draw(st.binary(max_size=2048))
    prefix = draw(
        st.sampled_from([b"", b"external_id,treatment_at\n", codecs.BOM_UTF8, b"PK\x03\x04"])
    )
    return prefix + body


LIMITS = st.sampled_from(
    [
        Limits(),
        Limits(max_bytes=512, max_rows=5),
        Limits(max_blank_rows=3, max_columns=4, max_record_chars=64),
    ]
)


@st.composite
def contexts(draw: st.DrawFn) -> ClinicContext:
    return ClinicContext(
        country=draw(st.sampled_from(["US", "ES", "GB", "MX"])),
        timezone=draw(st.sampled_from(["America/New_York", "Europe/Madrid", "UTC"])),
        language=draw(st.sampled_from(LANGUAGES)),
        date_format=draw(st.sampled_from([None, "DMY", "MDY", "YMD", "%d.%m.%Y %H:%M"])),
        now=NOW,
        protocol=PROTOCOL,
    )


def check_read(args: tuple[bytes, Limits, ClinicContext]) -> None:
    data, limits, ctx = args
    try:
        source = CsvSource(io.BytesIO(data), limits)
        last_row = 1
        for row, row_cells in source.records():
            assert row > last_row, "rows are numbered in file order, header is row 1"
            last_row = row
            checked = validate_row(row, row_cells, source.header, ctx)
            if isinstance(checked, ValidRow):
                check_valid(checked, ctx)
            else:
                assert checked, "a rejected row says why"
                for error in checked:
                    check_error(error, row)
    except FileProblem as problem:
        refusal = str(problem)
    else:
        return
    assert refusal.strip(), "a refused file says why"
    assert "Traceback" not in refusal


def check_valid(row: ValidRow, ctx: ClinicContext) -> None:
    assert row.external_id and row.external_id == row.external_id.strip()
    assert row.treated_at.tzinfo is not None
    assert row.phone is None or E164.match(row.phone), row.phone
    assert row.language in LANGUAGES
    if row.skipped:  # another service: only counted, never stored, whatever its time
        return
    # Appointments may be booked ahead, up to the clinic's limit.
    assert row.treated_at <= ctx.now + ctx.ahead
    assert row.channel in CHANNELS
    assert row.channel != "sms" or row.phone is not None


def check_error(error: RowError, row: int) -> None:
    assert error.row == row
    assert error.column is None or error.column in COLUMNS
    assert error.message.strip()


def test_arbitrary_bytes_are_read_or_refused_with_a_reason() -> None:
    fuzz("csv_bytes", st.tuples(byte_files(), LIMITS, contexts()), check_read)


def test_hostile_clinic_exports_are_read_row_by_row_or_refused_with_a_reason() -> None:
    fuzz("csv_structured", st.tuples(structured_files(), LIMITS, contexts()), check_read)


def test_a_dry_run_upload_of_a_hostile_file_never_fails_the_server(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    upgrade(url)
    core = build_core(make_settings(url), FakeClock(NOW))
    core.patients.add_clinic("glow", "Glow", "+15551234567", "America/New_York", "US", "en")
    key = new_api_key()
    EnrollmentStore(core.db).set_key_hash("glow", hash_api_key(key))
    app = Starlette(routes=clinic_api(core, Limits(max_bytes=64 * 1024)))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}

    async def upload(data: bytes) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post(
                "/api/v1/enrollments?dry_run=true", content=data, headers=headers
            )

    def check_upload(data: bytes) -> None:
        response = asyncio.run(upload(data))
        assert response.status_code in (200, 413, 422), (response.status_code, response.text)
        body = response.json()
        if response.status_code == 200:
            assert body["dry_run"] is True
            for error in body["errors"]:
                assert error["column"] is None or error["column"] in COLUMNS
        else:
            assert body["error"].strip()

    try:
        fuzz("csv_over_http", st.one_of(structured_files(), byte_files()), check_upload)
        with core.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Patient)) == 0, (
                "a dry run stores no patient"
            )
    finally:
        core.close()


def test_rows_at_the_ends_of_the_calendar_are_rejected_or_skipped_never_raised() -> None:
    """Inputs the fuzzing found: year 9999 overflowed once moved to UTC or given a window, and
    a skipped row (another service) keeps whatever time it had."""
    for zone in ("America/New_York", "Europe/Madrid"):
        ctx = ClinicContext("US", zone, "en", None, NOW, PROTOCOL)
        data = (
            b"external_id,treatment_at,service\n"
            b"P-1,9999-12-31T23:59,\n"
            b"P-2,9999-12-31T23:59,Botox\n"
            b"P-3,0001-01-01T00:00+14:00,Microneedling\n"
        )
        check_read((data, Limits(), ctx))
        source = CsvSource(io.BytesIO(data), Limits())
        checked = [validate_row(row, cells, source.header, ctx) for row, cells in source.records()]
        assert [isinstance(c, ValidRow) and c.skipped for c in checked] == [False, True, False]
