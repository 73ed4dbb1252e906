"""`aftercare clinic columns` and `aftercare enroll` with a booking system's export."""

from __future__ import annotations

import csv
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aftercare.cli import app
from tests.clinic.test_cli import add_clinic, env, runner

__all__ = ["env"]  # the fixture, used by name


def later(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%MZ")


def test_a_clinic_maps_its_own_header_names_and_the_report_says_what_each_row_did(
    env: str, tmp_path: Path
) -> None:
    add_clinic()
    export = tmp_path / "bookings.csv"
    booked = later(3)
    export.write_text(
        "Client Number,Appointment Time,Cell,Booking ID,Service,Status\n"
        f"C1,{booked},(212) 555-0101,B-1,Microneedling,Booked\n"
        f"C2,{later(4)},(212) 555-0102,B-2,Chemical peel,Booked\n"
    )
    refused = runner.invoke(app, ["enroll", str(export), "--clinic", "glow"])
    assert refused.exit_code != 0
    assert "missing required column(s) external_id" in refused.output
    assert "found 'Client Number'" in refused.output
    # The command the error suggests runs as printed, once given the clinic and the column.
    hint = re.search(r"'aftercare (clinic columns SLUG [^']*)'", refused.output)
    assert hint is not None, refused.output
    suggested = shlex.split(hint.group(1).replace("SLUG", "glow"))
    suggested = [arg.replace("Your column", "Client Number") for arg in suggested]
    assert runner.invoke(app, suggested).exit_code == 0
    assert runner.invoke(app, ["clinic", "columns", "glow", "--reset"]).exit_code == 0

    bad = runner.invoke(app, ["clinic", "columns", "glow", "--map", "client=Client Number"])
    assert bad.exit_code == 1 and "'client' is not one of external_id" in bad.output
    mapped = runner.invoke(
        app, ["clinic", "columns", "glow", "--map", 'external_id="Client Number"']
    )
    assert mapped.exit_code == 0, mapped.output
    assert "external_id = 'Client Number'" in mapped.stdout

    report = tmp_path / "report.csv"
    result = runner.invoke(
        app, ["enroll", str(export), "--clinic", "glow", "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "2 rows: 1 created, 0 updated, 0 unchanged, 0 rejected, 1 skipped" in result.stdout
    assert "treatments:" not in result.stdout  # nothing happened to a known treatment
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["external_id"], r["status"], r["action"]) for r in rows] == [
        ("C1", "created", "created"),
        ("C2", "skipped", "skipped"),
    ]
    why = "'Chemical peel' is not microneedling and the clinic has no protocol for it"
    assert [r["errors"] for r in rows] == ["", f"service: {why}"]
    assert f"row 3 skipped, service: {why} " in " ".join(result.stdout.split())  # wrapped

    moved = export.read_text().replace(booked, later(5))
    export.write_text(moved.replace("B-2,Chemical peel,Booked", "B-2,Chemical peel,Cancelled"))
    again = runner.invoke(app, ["enroll", str(export), "--clinic", "glow"])
    assert again.exit_code == 0, again.output
    assert "2 rows: 0 created, 1 updated, 0 unchanged, 0 rejected, 1 skipped" in again.stdout
    assert "treatments: 1 corrected\n" in again.stdout

    reset = runner.invoke(app, ["clinic", "columns", "glow", "--reset"])
    assert "built-in column names" in reset.stdout
