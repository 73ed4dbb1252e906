"""The import's column-names form: a clinic's own header names for our columns, read from
the form and checked field by field. Pure: no I/O.

A blank field means "no name of our own": the built-in names and the booking-system
aliases still apply to that column (clinic.csv_rows.map_header).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from aftercare.dashboard.strings import text
from clinic.csv_rows import COLUMNS, REQUIRED, HeaderError, header_key, map_header

FIELD_PREFIX: Final = "map."
MAX_NAME: Final = 200  # characters: a header cell, never a paragraph
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ColumnField:
    """One line of the form: our column, what it holds, the clinic's name for it."""

    column: str
    meaning: str
    required: bool
    value: str
    problem: str


def read_mapping(fields: Mapping[str, str]) -> dict[str, str]:
    """column -> the header name typed for it (blank fields left out)."""
    typed = {column: fields.get(FIELD_PREFIX + column, "").strip() for column in COLUMNS}
    return {column: name for column, name in typed.items() if name}


def mapping_problems(mapping: Mapping[str, str]) -> dict[str, str]:
    """Why a name cannot be saved, by column ({} when every one can)."""
    problems: dict[str, str] = {}
    first_with: dict[str, str] = {}
    for column, name in mapping.items():
        if column not in COLUMNS:
            problems[column] = text("columns.problem.unknown", column=column)
        elif len(name) > MAX_NAME:
            problems[column] = text("columns.problem.long", limit=MAX_NAME)
        elif _CONTROL.search(name):
            problems[column] = text("columns.problem.control")
        elif header_key(name) in first_with:
            other = first_with[header_key(name)]
            problems[column] = text("columns.problem.same", other=other)
        else:
            first_with[header_key(name)] = column
    return problems


def header_problem(found: Sequence[str], mapping: Mapping[str, str]) -> str:
    """Why a file with this header still cannot be read with these names, or ""."""
    try:
        map_header(list(found), dict(mapping))
    except HeaderError as exc:
        if exc.missing:
            return text("columns.problem.still_missing", columns=", ".join(exc.missing))
        return str(exc)
    return ""


def form_fields(
    mapping: Mapping[str, str],
    problems: Mapping[str, str],
    meanings: Mapping[str, str],
) -> list[ColumnField]:
    return [
        ColumnField(
            column,
            meanings.get(column, ""),
            column in REQUIRED,
            mapping.get(column, ""),
            problems.get(column, ""),
        )
        for column in COLUMNS
    ]
