"""The example enrollment file never goes stale: made at any moment, it imports whole."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftercare.cli import app
from aftercare.wiring import Core
from clinic.dates import import_window
from clinic.example_csv import example_csv
from scheduler.clock import FakeClock
from tests.clinic.conftest import Run

MOMENTS = [
    datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # the morning New York springs forward
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # Madrid springs forward
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # New York falls back
    datetime(2027, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2031, 6, 15, 23, 59, tzinfo=UTC),  # a fresh clone years from now
]


@pytest.mark.parametrize("now", MOMENTS, ids=lambda moment: moment.strftime("%Y-%m-%d"))
def test_made_at_any_moment_every_row_imports(
    now: datetime, clock: FakeClock, core: Core, run: Run
) -> None:
    clock.set(now)
    result, outcomes = run(example_csv(now, core.protocol, rows=200))
    assert result.as_dict()["errors"] == []
    assert (result.created, result.rejected) == (200, 0)
    assert {outcome.status for outcome in outcomes} == {"created"}


def test_the_rows_show_each_format_and_stay_inside_the_window(core: Core) -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    rows = list(csv.DictReader(io.StringIO(example_csv(now, core.protocol, rows=3))))
    assert [row["external_id"] for row in rows] == ["A-1001", "A-1002", "A-1003"]
    assert rows[0]["treatment_at"].endswith("-05:00") and rows[0]["timezone"] == ""
    assert rows[1]["timezone"] == "Europe/Madrid" and rows[1]["channel"] == "telegram"
    assert rows[2]["timezone"] == "America/New_York" and rows[2]["phone"].startswith("+1")
    oldest = now - import_window(core.protocol)
    first = datetime.fromisoformat(rows[0]["treatment_at"])
    assert oldest < first < now


def test_the_command_prints_a_file_that_enroll_takes_with_nothing_rejected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            *("clinic", "add", "glow", "--name", "Glow", "--phone", "+12125550100"),
            *("--timezone", "America/New_York"),
        ],
    )
    assert added.exit_code == 0, added.output
    printed = runner.invoke(app, ["example-csv", "--rows", "12"])
    assert printed.exit_code == 0, printed.output
    assert len(printed.stdout.splitlines()) == 13
    (tmp_path / "patients.csv").write_text(printed.stdout)
    enrolled = runner.invoke(app, ["enroll", "patients.csv", "--clinic", "glow", "--json"])
    assert enrolled.exit_code == 0, enrolled.output
    assert '"rejected": 0' in enrolled.stdout and '"created": 12' in enrolled.stdout


def test_the_row_count_must_be_positive() -> None:
    assert CliRunner().invoke(app, ["example-csv", "--rows", "0"]).exit_code == 2


def test_the_window_edges_leave_room_on_both_sides(core: Core) -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    text = example_csv(now, core.protocol, rows=500)
    times = [
        datetime.fromisoformat(row["treatment_at"])
        for row in csv.DictReader(io.StringIO(text))
        if row["timezone"] == ""
    ]
    window = import_window(core.protocol)
    assert min(now - t for t in times) >= timedelta(hours=5)
    assert max(now - t for t in times) <= window - timedelta(hours=5)
