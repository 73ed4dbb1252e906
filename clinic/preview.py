"""Chosen rows of a file as they will be stored, for a dry run's preview.

The importer reports each row's outcome (created, updated, ...), not the values it reads.
A preview shows the first few importable rows as the clinic's patients will have them
(the phone in E.164, the treatment time in UTC, the language and channel filled in), so
this reads the file again, by the same rules, and stops as soon as it has those rows.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import BinaryIO

from clinic.csv_rows import ClinicContext, ValidRow, validate_row
from clinic.reader import CsvSource, Limits
from storage.enrollment import ClinicProfile


def rows_as_stored(
    stream: BinaryIO,
    clinic: ClinicProfile,
    context: ClinicContext,
    rows: Collection[int],
    limits: Limits | None = None,
) -> dict[int, ValidRow]:
    """Row number -> the row's values, for those of `rows` that are valid in `context`
    (Importer.context: the clinic's own column names, protocols and days ahead, as the
    import reads them). Reads no further than the last of `rows`. Raises FileProblem like
    the importer."""
    wanted = set(rows)
    found: dict[int, ValidRow] = {}
    if not wanted:
        return found
    source = CsvSource(stream, limits or Limits(), clinic.column_map)
    for row, cells in source.records():
        if row not in wanted:
            continue
        checked = validate_row(row, cells, source.header, context)
        if isinstance(checked, ValidRow):
            found[row] = checked
        wanted.discard(row)
        if not wanted:
            break
    return found
