"""The importer's first pass: read and validate the whole file, spooling its rows to disk.

Rows with data are pickled to the spool in chunks, valid ones as a tuple of their values,
rejected ones with their errors, so the second pass can report every row in file order while
holding only one batch. Blank rows never get here: the reader counts and skips them.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from clinic.csv_rows import (
    ClinicContext,
    HeaderMap,
    RowError,
    ValidRow,
    fingerprint,
    raw_external_id,
    validate_row,
)
from clinic.outcomes import ImportResult, RowOutcome, unknown_column_warnings
from clinic.reader import CsvSource

Progress = Callable[[str, int, int], None]  # phase ("checking" | "importing"), done, total

# A spooled row: a valid row (a tuple starting with its row number, see `as_item`), or a
# rejected one: (REJECTED, row, external_id, errors).
Item = tuple[Any, ...]
REJECTED = "rejected"
_SPOOL_CHUNK = 1000


@dataclass
class Checked:
    header: HeaderMap
    valid: int
    conflicted_first_rows: dict[int, list[int]]  # first row -> later rows, different data


def check_file(
    source: CsvSource,
    context: ClinicContext,
    spool: IO[bytes],
    result: ImportResult,
    progress: Progress | None,
    total_bytes: int,
) -> Checked:
    """Validate every row of `source` into `spool`; counts and errors go to `result`."""
    header = source.header
    result.warnings = unknown_column_warnings(header.unknown)
    # external id digest -> (first row << 32 | content fingerprint): a few dozen bytes a
    # row, bounded by the row limit, instead of keeping rows in memory.
    seen: dict[int, int] = {}
    conflicted: dict[int, list[int]] = {}
    chunk: list[Item] = []
    valid = 0
    for row, cells in source.records():
        result.rows += 1
        external_id = raw_external_id(cells, header)
        checked = validate_row(row, cells, header, context)
        duplicate = _duplicate(row, cells, external_id, seen, conflicted)
        if isinstance(checked, ValidRow) and duplicate is None:
            chunk.append(as_item(checked))
            valid += 1
        else:
            errors = checked if isinstance(checked, list) else []
            if duplicate is not None:
                errors.append(duplicate)
            result.errors.extend(errors)
            chunk.append((REJECTED, row, external_id, errors))
        if len(chunk) >= _SPOOL_CHUNK:
            pickle.dump(chunk, spool, protocol=pickle.HIGHEST_PROTOCOL)
            chunk = []
            if progress is not None:
                progress("checking", source.bytes_read, total_bytes)
    if chunk:
        pickle.dump(chunk, spool, protocol=pickle.HIGHEST_PROTOCOL)
    result.blank_rows = source.blank_rows
    if progress is not None:
        progress("checking", source.bytes_read, max(total_bytes, source.bytes_read))
    return Checked(header, valid, conflicted)


def _duplicate(
    row: int,
    cells: list[str],
    external_id: str,
    seen: dict[int, int],
    conflicted: dict[int, list[int]],
) -> RowError | None:
    if not external_id:
        return None
    key = int.from_bytes(hashlib.blake2b(external_id.encode(errors="replace")).digest()[:8])
    content = fingerprint(cells)
    earlier = seen.get(key)
    if earlier is None:
        seen[key] = row << 32 | content
        return None
    first = earlier >> 32
    if earlier & 0xFFFFFFFF == content:
        return RowError(
            row,
            "external_id",
            f"duplicate of row {first} (external_id {external_id!r}, same data); ignored",
        )
    conflicted.setdefault(first, []).append(row)
    return RowError(
        row,
        "external_id",
        f"external_id {external_id!r} is also in row {first} with different data; "
        "keep one row per patient",
    )


def as_item(r: ValidRow) -> Item:
    return tuple(r)  # ValidRow(*item) makes it again


def rejected_outcome(item: Item) -> RowOutcome:
    _, row, external_id, errors = item
    return RowOutcome(row, external_id, "rejected", errors)


def read_spool(spool: IO[bytes]) -> Iterator[Item]:
    while True:
        try:
            chunk: list[Item] = pickle.load(spool)
        except EOFError:
            return
        yield from chunk
