"""The README's booking export example is run as written after the quick start (plain
`aftercare`, as after activating the environment), and does what the README says of it:
three patients created, the other service and the cancelled booking skipped; a later
export's "No show" cancels that appointment's plan."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from tests.aftercare.test_readme import block, quick_start, run_lines


def report(path: Path) -> dict[str, tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {r["external_id"]: (r["status"], r["action"]) for r in csv.DictReader(handle)}


@pytest.mark.slow
def test_the_booking_export_example_imports_as_the_readme_says(tmp_path: Path) -> None:
    lines = block("bookings")
    assert any("$(date " in line for line in lines), "the dates are relative to today"
    folder, env = quick_start(tmp_path)
    env = {**env, "PATH": f"{folder / '.venv' / 'bin'}:{env.get('PATH', '')}"}

    printed = run_lines(lines, folder, env)
    assert "5 rows: 3 created, 0 updated, 0 unchanged, 0 rejected, 2 skipped" in printed
    assert report(folder / "report.csv") == {
        "C-1001": ("created", "created"),
        "C-1002": ("created", "created"),
        "C-1003": ("skipped", "skipped"),
        "C-1004": ("skipped", "skipped"),
        "C-1005": ("created", "created"),
    }

    # "If a later export says Eva was a 'No show', her row is cancelled."
    later = [
        "sed -i 's/B-505,Microneedling,Booked/B-505,Microneedling,No show/' bookings.csv",
        "aftercare enroll bookings.csv --clinic glow --report later.csv",
    ]
    run_lines(later, folder, env)
    assert report(folder / "later.csv")["C-1005"] == ("updated", "cancelled")
    with sqlite3.connect(folder / "aftercare.db") as conn:
        statuses = conn.execute(
            "SELECT DISTINCT r.status FROM reminder r JOIN patient p ON p.id = r.patient_id"
            " WHERE p.external_id = 'C-1005'"
        ).fetchall()
    assert statuses == [("cancelled",)]
