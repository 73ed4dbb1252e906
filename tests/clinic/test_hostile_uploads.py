"""Attacks on POST /api/v1/enrollments through the real app, as an adversarial review made them.

Each test sends what the attacker sent and checks what the service must do instead: keep
memory bounded whatever the file holds, refuse unreadable files with a short 422, stop
reading an upload at the byte limit with or without a Content-Length, and check a file
(dry run) without ever holding up the writers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from aftercare.wiring import Core, clinic_api
from clinic.keys import hash_api_key, new_api_key
from clinic.reader import Limits
from storage.enrollment import EnrollmentStore
from storage.patients import ClinicView
from tests.clinic.conftest import HEADER

VALID_ROW = "P1,2026-03-01 10:30,Ana,(212) 555-0101,,,\n"
SMALL_LIMIT = 1024 * 1024
CHUNK = 64 * 1024
BLANK_ROWS_CAP = 100_000


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def key(core: Core, clinic: ClinicView) -> str:
    issued = new_api_key()
    EnrollmentStore(core.db).set_key_hash(clinic.slug, hash_api_key(issued))
    return issued


def http_client(core: Core, limits: Limits | None = None) -> httpx.AsyncClient:
    app = Starlette(routes=clinic_api(core, limits))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60)


@pytest.fixture
async def client(core: Core) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(core) as http:
        yield http


@pytest.fixture
async def small_client(core: Core) -> AsyncIterator[httpx.AsyncClient]:
    """The same app with a 1 MB upload limit, so going past it is quick."""
    async with http_client(core, Limits(max_bytes=SMALL_LIMIT)) as http:
        yield http


def csv_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}


def in_chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


class Sender:
    """A chunked request body (no Content-Length) that counts what the server pulled."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += len(chunk)
            yield chunk


async def test_blank_lines_after_a_valid_row_are_counted_in_bounded_memory(
    client: httpx.AsyncClient, key: str
) -> None:
    blank = BLANK_ROWS_CAP - 1
    body = (HEADER + VALID_ROW).encode() + b"\n" * blank
    tracemalloc.start()
    try:
        response = await client.post(
            "/api/v1/enrollments?dry_run=true",
            content=Sender(in_chunks(body)),
            headers=csv_headers(key),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    # Blank rows were held in memory one by one before (28 MB for these 100,000); now they are
    # counted and dropped: what remains is the 1 MB upload spool and the import's own needs.
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    reply = response.json()
    assert (reply["rows"], reply["created"], reply["blank_rows"]) == (1, 1, blank)
    assert [p["external_id"] for p in reply["patients"]] == ["P1"]


async def test_more_blank_rows_than_the_cap_refuse_the_file(
    client: httpx.AsyncClient, key: str
) -> None:
    body = (HEADER + VALID_ROW).encode() + b" , ,,\n" * (BLANK_ROWS_CAP + 1)
    response = await client.post(
        "/api/v1/enrollments?dry_run=true", content=body, headers=csv_headers(key)
    )
    assert response.status_code == 422
    assert response.json()["error"] == (
        f"the file has more than {BLANK_ROWS_CAP:,} blank rows; delete the empty rows "
        "(often at the end of the sheet) and export it again"
    )


async def test_a_million_unknown_columns_get_a_short_422(
    client: httpx.AsyncClient, key: str
) -> None:
    header = "external_id,treatment_at," + ",".join(f"x{i}" for i in range(1_000_000)) + "\n"
    response = await client.post(
        "/api/v1/enrollments?dry_run=true",
        content=(header + VALID_ROW).encode(),
        headers=csv_headers(key),
    )
    assert response.status_code == 422
    assert response.json()["error"] == (
        "the header row is longer than 1,048,576 characters; a patient file has at most 200 columns"
    )
    assert len(response.content) < 200


async def test_a_header_over_the_column_cap_gets_a_short_422(
    client: httpx.AsyncClient, key: str
) -> None:
    header = "external_id,treatment_at," + ",".join(f"x{i}" for i in range(299)) + "\n"
    response = await client.post(
        "/api/v1/enrollments?dry_run=true",
        content=(header + VALID_ROW).encode(),
        headers=csv_headers(key),
    )
    assert response.status_code == 422
    assert response.json()["error"] == (
        "the header has 301 columns; a patient file has at most 200"
    )


async def test_unknown_column_warnings_are_summarised(client: httpx.AsyncClient, key: str) -> None:
    names = [f"x{i}" for i in range(150)]
    header = "external_id,treatment_at,first_name,phone," + ",".join(names) + "\n"
    response = await client.post(
        "/api/v1/enrollments?dry_run=true",
        content=(header + "P1,2026-03-01 10:30,Ana,(212) 555-0101\n").encode(),
        headers=csv_headers(key),
    )
    assert response.status_code == 200
    warnings = response.json()["warnings"]
    assert warnings[:2] == [
        {"row": 1, "column": "x0", "message": "unknown column; ignored"},
        {"row": 1, "column": "x1", "message": "unknown column; ignored"},
    ]
    assert len(warnings) == 21
    assert warnings[-1] == {"row": 1, "column": None, "message": "and 130 more unknown columns"}


async def test_an_unknown_column_named_with_invalid_utf8_is_reported_readably(
    client: httpx.AsyncClient, key: str
) -> None:
    # Found by the fuzz suite: the byte reached the JSON reply as a lone surrogate (500).
    body = b"external_id,treatment_at,\x80x\nP1,2026-03-01 10:30,\n"
    response = await client.post(
        "/api/v1/enrollments?dry_run=true", content=body, headers=csv_headers(key)
    )
    assert response.status_code == 200
    assert {"row": 1, "column": "\ufffdx", "message": "unknown column; ignored"} in (
        response.json()["warnings"]
    )


async def test_a_ten_megabyte_quoted_field_is_unreadable_not_too_large(
    client: httpx.AsyncClient, key: str
) -> None:
    body = HEADER.encode() + b'P1,"' + b"x" * (10 * 1024 * 1024) + b'",Ana,,,,\n'
    response = await client.post(
        "/api/v1/enrollments?dry_run=true", content=body, headers=csv_headers(key)
    )
    assert response.status_code == 422
    assert response.json()["error"] == (
        "row 2 is longer than 1,048,576 characters (a quote that is never closed?)"
    )


def multipart_chunks(boundary: str, file_chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="patients.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    yield from file_chunks
    yield f"\r\n--{boundary}--\r\n".encode()


def endless_csv() -> Iterator[bytes]:
    yield (HEADER + VALID_ROW).encode()
    line = b"P2,2026-03-01 10:30,Bo,,,,telegram\n" * (CHUNK // 36)
    for _ in range(8 * SMALL_LIMIT // len(line)):  # eight times the limit
        yield line


@pytest.mark.parametrize("kind", ["text/csv", "multipart/form-data"])
async def test_a_chunked_upload_over_the_limit_is_refused_at_the_limit(
    small_client: httpx.AsyncClient, key: str, kind: str
) -> None:
    if kind == "multipart/form-data":
        boundary = "b0undary"
        sender = Sender(multipart_chunks(boundary, endless_csv()))
        content_type = f"multipart/form-data; boundary={boundary}"
    else:
        sender = Sender(endless_csv())
        content_type = "text/csv"
    response = await small_client.post(
        "/api/v1/enrollments",
        content=sender,
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "the file is larger than 1,048,576 bytes; split it into smaller files"
    }
    # Reading stopped at the limit (plus the chunk that crossed it and multipart framing):
    # nothing past it was spooled, in memory or on disk.
    assert sender.sent <= SMALL_LIMIT + 64 * 1024 + CHUNK


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    small_client: httpx.AsyncClient, key: str
) -> None:
    body = b"x" * (SMALL_LIMIT + 1)
    response = await small_client.post(
        "/api/v1/enrollments", content=body, headers=csv_headers(key)
    )
    assert response.status_code == 413


async def test_a_multipart_file_under_the_limit_is_imported(
    small_client: httpx.AsyncClient, key: str
) -> None:
    boundary = "b0undary"
    body = b"".join(multipart_chunks(boundary, iter([(HEADER + VALID_ROW).encode()])))
    response = await small_client.post(
        "/api/v1/enrollments",
        content=Sender(iter([body[:50], body[50:]])),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1


async def test_a_multipart_form_without_a_file_is_a_bad_request(
    small_client: httpx.AsyncClient, key: str
) -> None:
    broken = await small_client.post(
        "/api/v1/enrollments",
        content=b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--x--\r\n',
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "multipart/form-data; boundary=x",
        },
    )
    assert broken.status_code == 400
    assert broken.json() == {"error": "the multipart form has no file part"}


def sqlite_path(core: Core) -> Path:
    database = make_url(core.db.url).database
    assert database is not None
    return Path(database)


async def test_a_dry_run_never_waits_for_the_write_lock(
    client: httpx.AsyncClient, key: str, core: Core
) -> None:
    """Reminder dispatch holds SQLite's write lock for each claim and send; a dry run that
    wanted it too stopped reminders for minutes. Here another connection holds the write
    lock for the whole dry run: the dry run can only finish if it never asks for it."""
    rows = "".join(f"P{i},2026-03-01 10:30,,,,,telegram\n" for i in range(12_000))
    holder = sqlite3.connect(sqlite_path(core), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # what the dispatcher does for each claim
        response = await asyncio.wait_for(
            client.post(
                "/api/v1/enrollments?dry_run=true",
                content=(HEADER + rows).encode(),
                headers=csv_headers(key),
            ),
            timeout=20,  # SQLite's busy timeout is 30 s: a waiting dry run would miss this
        )
        assert holder.in_transaction  # the lock was held throughout
    finally:
        holder.close()
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["dry_run"]) == (12_000, True)
