"""Streaming a clinic's CSV: size limit, encoding, separator, header. Rows one at a time.

The bytes are decoded as UTF-8 (a BOM is dropped). Bytes that are not UTF-8 do not stop the
file: they are carried as surrogates (`surrogateescape`) so row validation can reject just the
rows holding them, naming the row, the column and the byte.

Whatever a file holds, reading it keeps one record in memory at a time: records are capped in
characters (a missing newline or an unclosed quote cannot pull the rest of the file into one
row), the header in columns, and blank rows are counted and skipped, up to a cap.
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
DEFAULT_MAX_BLANK_ROWS = 100_000
DEFAULT_MAX_COLUMNS = 200
DEFAULT_MAX_RECORD_CHARS = 1024 * 1024
_SEPARATORS = (",", ";", "\t")
_PEEK = 64 * 1024


class FileProblem(Exception):
    """Nothing in the file can be imported; the message says why and what to do."""


class FileTooLarge(FileProblem):
    """The file is over the byte limit (HTTP 413); every other FileProblem is unreadable (422)."""


class HeaderProblem(FileProblem):
    """The header lacks a required column (or names one twice). `found` holds its cells, so
    a clinic can be offered to map its own names to our columns."""

    def __init__(self, message: str, found: tuple[str, ...]) -> None:
        super().__init__(message)
        self.found = found


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_blank_rows: int = DEFAULT_MAX_BLANK_ROWS
    max_columns: int = DEFAULT_MAX_COLUMNS
    max_record_chars: int = DEFAULT_MAX_RECORD_CHARS


MAX_HEADER_CELL = 200  # characters of a header cell kept for showing back


def header_cells(cells: list[str]) -> tuple[str, ...]:
    """A header's non-blank cells, once each, as text that can be shown back (bytes that
    were not UTF-8 as U+FFFD, each cut at MAX_HEADER_CELL characters)."""
    shown = (
        cell.strip().encode("utf-8", "surrogateescape").decode("utf-8", "replace") for cell in cells
    )
    return tuple(dict.fromkeys(cell[:MAX_HEADER_CELL] for cell in shown if cell))


class _RecordTooLong(Exception):
    """Raised through csv.reader by the line source; `records` names the row."""


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
            raise FileTooLarge(
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

    def __init__(
        self,
        stream: BinaryIO,
        limits: Limits = Limits(),
        column_map: dict[str, str] | None = None,
    ) -> None:
        self.limits = limits
        self.column_map = column_map
        self.blank_rows = 0
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
        self._record_chars = 0
        self._reader = csv.reader(self._lines(), delimiter=self.separator)
        self.header = self._read_header()

    @property
    def bytes_read(self) -> int:
        return self._raw.count

    def _lines(self) -> Iterator[str]:
        """Physical lines for csv.reader, at most `max_record_chars` for one record.

        csv.reader asks for lines only until its record is complete, and `records` zeroes the
        count after each record, so the count is the size of the record being read.
        """
        cap = self.limits.max_record_chars
        readline = self._text.readline
        while line := readline(cap + 1):
            self._record_chars += len(line)
            if self._record_chars > cap:
                raise _RecordTooLong
            yield line

    def _read_header(self) -> HeaderMap:
        limits = self.limits
        try:
            for cells in self._reader:
                self._record_chars = 0
                if cells and any(c.strip() for c in cells):
                    if len(cells) > limits.max_columns:
                        raise FileProblem(
                            f"the header has {len(cells):,} columns; a patient file has at most "
                            f"{limits.max_columns:,}"
                        )
                    return self._mapped(cells)
                self.blank_rows += 1
                if self.blank_rows > limits.max_blank_rows:
                    raise FileProblem(
                        f"no header row in the first {limits.max_blank_rows:,} rows: they are blank"
                    )
        except _RecordTooLong:
            raise FileProblem(
                f"the header row is longer than {limits.max_record_chars:,} characters; a "
                f"patient file has at most {limits.max_columns:,} columns"
            ) from None
        except csv.Error as exc:
            raise FileProblem(f"cannot read the header row as CSV ({_csv_reason(exc)})") from None
        raise FileProblem("the file is empty")

    def _mapped(self, cells: list[str]) -> HeaderMap:
        try:
            return map_header(cells, self.column_map)
        except HeaderError as exc:
            raise HeaderProblem(str(exc), header_cells(cells)) from None

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Every record after the header with something in it, numbered like spreadsheet rows
        (the header is row 1). Blank records are counted in `blank_rows` and skipped."""
        limits = self.limits
        row = 1
        rows_with_data = 0
        try:
            for cells in self._reader:
                row += 1
                self._record_chars = 0
                if not "".join(cells).strip():  # only spaces, if anything, in every cell
                    self.blank_rows += 1
                    if self.blank_rows > limits.max_blank_rows:
                        raise FileProblem(
                            f"the file has more than {limits.max_blank_rows:,} blank rows; "
                            "delete the empty rows (often at the end of the sheet) and "
                            "export it again"
                        )
                    continue
                rows_with_data += 1
                if rows_with_data > limits.max_rows:
                    raise FileProblem(
                        f"the file has more than {limits.max_rows:,} patient rows; "
                        "split it into smaller files"
                    )
                yield row, cells
        except _RecordTooLong:
            raise FileProblem(
                f"row {row + 1} is longer than {limits.max_record_chars:,} characters "
                "(a quote that is never closed?)"
            ) from None
        except csv.Error as exc:
            raise FileProblem(f"row {row + 1}: cannot read the CSV ({_csv_reason(exc)})") from None
        if rows_with_data == 0:
            raise FileProblem("the file has a header but no patient rows")


def _csv_reason(exc: csv.Error) -> str:
    if "field limit" in str(exc):  # the csv module's only way to say which limit it hit
        return (
            f"a value is longer than {csv.field_size_limit():,} characters; "
            "a quote that is never closed?"
        )
    return str(exc)
