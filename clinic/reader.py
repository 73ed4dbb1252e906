"""Streaming a clinic's CSV: size limit, encoding, separator, header. Rows one at a time.

The bytes are decoded as UTF-8 (a BOM is dropped). Bytes that are not UTF-8 do not stop the
file: they are carried as surrogates (`surrogateescape`) so row validation can reject just the
rows holding them, naming the row, the column and the byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from clinic.csv_rows import HeaderError, HeaderMap, map_header

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ROWS = 200_000
_SEPARATORS = (",", ";", "\t")
_PEEK = 64 * 1024


class FileProblem(Exception):
    """Nothing in the file can be imported; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS


class _CountingReader(io.RawIOBase):
    """Counts the bytes read and stops at the limit, so no upload is read without bound."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        self.count += len(data)
        if self.count > self._limit:
            raise FileProblem(
                f"the file is larger than {self._limit:,} bytes; split it into smaller files"
            )
        buffer[: len(data)] = data
        return len(data)


def sniff_separator(head: bytes) -> str:
    """The separator of the header line: whichever of , ; TAB appears most outside quotes."""
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _refuse_binary(head: bytes) -> None:
    if head.startswith(b"PK\x03\x04"):
        raise FileProblem(
            "this is an Excel workbook (.xlsx), not CSV; in Excel use "
            "File > Save As > 'CSV UTF-8 (Comma delimited)'"
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem("the file is UTF-16; save it as 'CSV UTF-8' and upload it again")
    if b"\x00" in head:
        raise FileProblem("this is not a text file; upload a CSV file")


class CsvSource:
    """One pass over a CSV file: `header`, then `records()` as (row number, cells)."""

    def __init__(self, stream: BinaryIO, limits: Limits = Limits()) -> None:
        self.limits = limits
        self._raw = _CountingReader(stream, limits.max_bytes)
        buffered = io.BufferedReader(self._raw, buffer_size=_PEEK)
        head = buffered.peek(_PEEK)[:_PEEK]
        if not head.strip(b"\xef\xbb\xbf \r\n\t"):
            raise FileProblem("the file is empty")
        _refuse_binary(head)
        self.separator = sniff_separator(head.removeprefix(b"\xef\xbb\xbf"))
        self._text = io.TextIOWrapper(
            buffered, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        self._reader = csv.reader(self._text, delimiter=self.separator)
        self.header = self._read_header()

    @property
    def bytes_read(self) -> int:
        return self._raw.count

    def _read_header(self) -> HeaderMap:
        try:
            for cells in self._reader:
                if cells and any(c.strip() for c in cells):
                    return map_header(cells)
        except HeaderError as exc:
            raise FileProblem(str(exc)) from None
        except csv.Error as exc:
            raise FileProblem(f"cannot read the header row as CSV ({exc})") from None
        raise FileProblem("the file is empty")

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Every record after the header, blank ones included, numbered like spreadsheet rows."""
        row = 1
        rows_with_data = 0
        try:
            for cells in self._reader:
                row += 1
                if any(c.strip() for c in cells):
                    rows_with_data += 1
                    if rows_with_data > self.limits.max_rows:
                        raise FileProblem(
                            f"the file has more than {self.limits.max_rows:,} patient rows; "
                            "split it into smaller files"
                        )
                yield row, cells
        except csv.Error as exc:
            raise FileProblem(f"row {row + 1}: cannot read the CSV ({exc})") from None
        if rows_with_data == 0:
            raise FileProblem("the file has a header but no patient rows")
