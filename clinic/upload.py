"""Reading an enrollment upload (a CSV body or a multipart file) with a hard byte limit.

The bytes are spooled (in memory up to 1 MB, then a temporary file) as they stream in, and
reading stops as soon as the limit is passed, with or without a Content-Length: nothing past
the limit is ever held or written. Multipart bodies are parsed here, streaming, with
python-multipart, because Starlette's `request.form()` spools every file part whole before
anyone can look at its size. The dashboard's upload form also needs its small fields (the
CSRF token) and the file's name: `read_upload_form` returns those with the file.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from bot.http_body import BodyTooLarge, UnsupportedMediaType, declared_length, media_type

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")
MULTIPART = "multipart/form-data"
SPOOL_IN_MEMORY = 1024 * 1024
# Multipart framing (boundaries, part headers, a few small fields) on top of the file.
MULTIPART_OVERHEAD = 64 * 1024
MAX_PARTS = 10
MAX_FIELD_BYTES = 1024  # a small form field kept beside the file (longer ones are cut)
MAX_FILENAME = 255


class MalformedUpload(Exception):
    """The multipart body cannot be parsed or has no file part; answer 400."""


@dataclass
class Upload:
    """The uploaded file (positioned at its start; the caller closes it), its name as the
    browser gave it ("" for a plain body), and the multipart form's other small fields."""

    file: IO[bytes]
    size: int
    filename: str = ""
    fields: dict[str, str] = field(default_factory=dict)


async def read_upload(request: Request, limit: int) -> IO[bytes]:
    """The uploaded file, at most `limit` bytes, positioned at its start; the caller closes it.

    Raises BodyTooLarge, UnsupportedMediaType or MalformedUpload.
    """
    return (await read_upload_form(request, limit)).file


async def read_upload_form(request: Request, limit: int) -> Upload:
    """`read_upload`, with the file's name and the form's other fields (first value each)."""
    kind = media_type(request)
    if kind == MULTIPART:
        body_limit = limit + MULTIPART_OVERHEAD
    elif kind in CSV_TYPES:
        body_limit = limit
    else:
        raise UnsupportedMediaType(
            "send the CSV as a text/csv body or as a multipart/form-data file"
        )
    declared = declared_length(request)
    if declared is not None and declared > body_limit:
        raise BodyTooLarge(limit)  # refused before a byte is read
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    upload = Upload(spool, 0)
    try:
        if kind == MULTIPART:
            part = await _multipart_file(request, spool, limit, body_limit)
            upload.filename, upload.fields = part.filename, part.fields
        else:
            await _body(request, spool, limit)
        upload.size = spool.tell()
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return upload


async def _body(request: Request, spool: IO[bytes], limit: int) -> None:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        await _write(spool, chunk)


async def _write(spool: IO[bytes], data: bytes) -> None:
    # Past SPOOL_IN_MEMORY the spool is a file on disk: keep that off the event loop.
    if spool.tell() + len(data) > SPOOL_IN_MEMORY:
        await asyncio.to_thread(spool.write, data)
    else:
        spool.write(data)


class _FilePart:
    """python-multipart callbacks: the first part with a filename goes to the spool; other
    named parts are kept as small text fields."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts = 0
        self.found = False
        self.size = 0
        self.pending: list[bytes] = []  # file bytes parsed from the last chunk, to spool
        self.filename = ""
        self.fields: dict[str, str] = {}
        self._in_file = False
        self._field_name: str | None = None
        self._field_value = bytearray()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MalformedUpload(f"the multipart form has more than {MAX_PARTS} parts")
        self._in_file = False
        self._field_name = None
        self._field_value.clear()
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"filename" in options:
            if not self.found:
                self.found = self._in_file = True
                self.filename = _text(options[b"filename"])[:MAX_FILENAME]
        elif b"name" in options:
            self._field_name = _text(options[b"name"])

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            # Fields count in the body's size; only their first bytes are kept.
            if self._field_name is not None and len(self._field_value) <= MAX_FIELD_BYTES:
                self._field_value += data[start : min(end, start + MAX_FIELD_BYTES + 1)]
            return
        self.size += end - start
        if self.size > self.limit:
            raise BodyTooLarge(self.limit)
        self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        if self._field_name is not None and self._field_name not in self.fields:
            self.fields[self._field_name] = _text(bytes(self._field_value[:MAX_FIELD_BYTES]))
        self._field_name = None
        self._in_file = False


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


async def _multipart_file(
    request: Request, spool: IO[bytes], limit: int, body_limit: int
) -> _FilePart:
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedUpload("the multipart body has no boundary")
    part = _FilePart(limit)
    callbacks: MultipartCallbacks = {
        "on_part_begin": part.on_part_begin,
        "on_header_field": part.on_header_field,
        "on_header_value": part.on_header_value,
        "on_header_end": part.on_header_end,
        "on_headers_finished": part.on_headers_finished,
        "on_part_data": part.on_part_data,
        "on_part_end": part.on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
    except FormParserError as exc:
        raise MalformedUpload(f"the multipart body cannot be read ({exc})") from None
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > body_limit:
            raise BodyTooLarge(limit)
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise MalformedUpload(f"the multipart body cannot be read ({exc})") from None
        for data in part.pending:
            await _write(spool, data)
        part.pending.clear()
    try:
        parser.finalize()
    except FormParserError as exc:
        raise MalformedUpload(f"the multipart body cannot be read ({exc})") from None
    if not part.found:
        raise MalformedUpload("the multipart form has no file part")
    return part
