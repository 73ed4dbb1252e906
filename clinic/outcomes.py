"""What an import did: counts, each row's outcome, and the errors and warnings to show.

Errors and warnings are what a file's author wrote many times over when something is wrong
with the whole file (a million unknown columns, every row with the same bad date), so the
lists are capped: the first ones are listed, the rest summarised in one more entry. The
per-row report (`on_row`) still gets every row's errors.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from clinic.csv_rows import RowError

LISTED_ERRORS = 1000
LISTED_WARNINGS = 20
IMPORTED = ("created", "updated", "unchanged")
ACTIONS = ("created", "new session", "corrected", "cancelled", "unchanged", "skipped")


@dataclass(frozen=True)
class RowOutcome:
    row: int
    external_id: str
    status: str  # created | updated | unchanged | rejected | skipped
    errors: list[RowError] = field(default_factory=list)
    invite_url: str | None = None
    # What happened to the treatment: created | new session | corrected | cancelled |
    # unchanged | skipped ("" for a rejected row).
    action: str = ""
    # Why a skipped row was left alone, in the words of every output (the report's errors
    # cell, the JSON's skipped_rows, the command line's summary).
    reason: RowError | None = None
    # A new patient on Telegram: reached only once they open an invite link.
    needs_invite: bool = False


def another_service(row: int, service: str) -> RowError:
    """A booking of a service the clinic does not enrol: named as the file wrote it."""
    return RowError(
        row, "service", f"{service!r} is not microneedling and the clinic has no protocol for it"
    )


def nothing_to_cancel(row: int) -> RowError:
    """A cancelled or missed booking that matches no stored session."""
    return RowError(
        row, "status", "a cancelled or missed booking never imported: nothing to cancel"
    )


class ErrorList:
    """The `limit` errors of the lowest rows, and a count of all of them.

    Errors arrive roughly in row order, but not exactly (a duplicate's first row is only
    rejected when the import reaches it), so a heap keeps the lowest rows.
    """

    def __init__(self, limit: int = LISTED_ERRORS, noun: str = "errors") -> None:
        self.limit = limit
        self.noun = noun  # what the "and N more" line calls them
        self.total = 0
        self._heap: list[tuple[int, int, RowError]] = []  # (-row, -arrival, error): max-heap
        self._first_left_out: int | None = None

    def add(self, error: RowError) -> None:
        self.total += 1
        entry = (-error.row, -self.total, error)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
            return
        if entry > self._heap[0]:  # a lower row than the highest kept: keep it instead
            entry = heapq.heapreplace(self._heap, entry)
        row = entry[2].row
        if self._first_left_out is None or row < self._first_left_out:
            self._first_left_out = row

    def extend(self, errors: list[RowError]) -> None:
        for error in errors:
            self.add(error)

    @property
    def left_out(self) -> int:
        return self.total - len(self._heap)

    def listed(self) -> list[RowError]:
        """The kept errors by row and column, then one line saying how many were left out."""
        kept = sorted((e for _, _, e in self._heap), key=lambda e: (e.row, e.column or ""))
        if self._first_left_out is not None:
            kept.append(
                RowError(
                    self._first_left_out,
                    None,
                    f"and {self.left_out:,} more {self.noun} from this row on, not listed; the "
                    "command line's --report lists every row",
                )
            )
        return kept


def _shown(name: str) -> str:
    """A header cell as text a JSON reply can carry: undecodable bytes (kept as surrogates
    by the reader) become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def unknown_column_warnings(names: list[str], limit: int = LISTED_WARNINGS) -> list[RowError]:
    warnings = [RowError(1, _shown(name), "unknown column; ignored") for name in names[:limit]]
    if len(names) > limit:
        warnings.append(RowError(1, None, f"and {len(names) - limit:,} more unknown columns"))
    return warnings


@dataclass
class ImportResult:
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # services that are not microneedling, bookings with nothing to cancel
    blank_rows: int = 0
    actions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    errors: ErrorList = field(default_factory=ErrorList)
    skips: ErrorList = field(default_factory=lambda: ErrorList(noun="skipped rows"))
    warnings: list[RowError] = field(default_factory=list)
    patients: list[dict[str, Any]] | None = None
    invites_enabled: bool = False
    telegram_created: int = 0  # new patients who need an invite link to be reached

    def count(self, status: str) -> None:
        if status in ("created", "updated", "unchanged", "rejected", "skipped"):
            setattr(self, status, getattr(self, status) + 1)

    def record(self, outcome: RowOutcome, *, errors_listed: bool) -> None:
        """Count one row's outcome from the second pass; `errors_listed`: the first pass
        already listed its errors. Imported rows join `patients` when it is collected."""
        self.count(outcome.status)
        if outcome.action:
            self.actions[outcome.action] += 1
        if outcome.status == "rejected" and not errors_listed:
            self.errors.extend(outcome.errors)
        if outcome.reason is not None:
            self.skips.add(outcome.reason)
        if outcome.needs_invite:
            self.telegram_created += 1
        if self.patients is not None and outcome.status in IMPORTED:
            self.patients.append(
                {
                    "row": outcome.row,
                    "external_id": outcome.external_id,
                    "status": outcome.status,
                    "action": outcome.action,
                    "invite_url": outcome.invite_url,
                }
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "blank_rows": self.blank_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "actions": dict(self.actions),
            "errors": [e.as_dict() for e in self.errors.listed()],
            "warnings": [w.as_dict() for w in self.warnings],
            "skipped_rows": [s.as_dict() for s in self.skips.listed()],
            "patients": self.patients or [],
            "invite_links": self.invites_enabled,
        }
