"""Peak memory of a whole process importing tens of megabytes of blank rows, from the command
line and over HTTP. A 5 MB file of blank lines once took 1.58 GB from the command line, and
49 MB over HTTP 15 GB: blank rows were kept until a batch of valid rows came along."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aftercare.wiring import Core
from clinic.keys import hash_api_key, new_api_key
from storage.enrollment import EnrollmentStore
from storage.patients import ClinicView
from tests.clinic.conftest import HEADER

ROOT = Path(__file__).resolve().parents[2]
PEAK_MB_BOUND = 300
BLANK_ROWS_CAP = 100_000
SIZE = 40 * 1024 * 1024


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def key(core: Core, clinic: ClinicView) -> str:
    issued = new_api_key()
    EnrollmentStore(core.db).set_key_hash(clinic.slug, hash_api_key(issued))
    return issued


def valid_row() -> bytes:
    # The child runs on the real clock: a treatment yesterday is always importable.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    return f"P1,{yesterday:%Y-%m-%dT%H:%M}+00:00,Ana,(212) 555-0101,,,\n".encode()


def write_file(path: Path, blank_line: bytes) -> Path:
    """The header, one valid row, then blank lines up to SIZE bytes."""
    with path.open("wb") as file:
        file.write(HEADER.encode() + valid_row())
        file.write(blank_line * (SIZE // len(blank_line)))
    return path


def run_child(how: str, path: Path, database_url: str, key: str, cwd: Path) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.clinic.memory_child", how, str(path), key],
        cwd=cwd,  # no stray .env
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    outcome["output"] = done.stdout + done.stderr
    return outcome


@pytest.mark.parametrize("how", ["cli", "http"])
def test_forty_megabytes_of_blank_lines_are_refused_in_bounded_memory(
    how: str, database_url: str, key: str, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "blank-lines.csv", b"\n")
    outcome = run_child(how, path, database_url, key, tmp_path)
    message = (
        f"the file has more than {BLANK_ROWS_CAP:,} blank rows; delete the empty rows "
        "(often at the end of the sheet) and export it again"
    )
    if how == "cli":
        assert outcome["exit"] == 1, outcome["output"][-3000:]
        assert message in outcome["output"]
    else:
        assert (outcome["status"], outcome["reply"]) == (422, {"error": message})
    assert outcome["peak_mb"] < PEAK_MB_BOUND, outcome["peak_mb"]


@pytest.mark.parametrize("how", ["cli", "http"])
def test_forty_megabytes_of_blank_rows_under_the_cap_count_the_valid_row_in_bounded_memory(
    how: str, database_url: str, key: str, tmp_path: Path
) -> None:
    # Under the cap, each blank row is long: whitespace cells, as a sheet's empty range exports.
    blank_row = b" " * 220 + b"," + b" " * 220 + b"\n"
    path = write_file(tmp_path / "blank-rows.csv", blank_row)
    blank_rows = SIZE // len(blank_row)
    assert blank_rows < BLANK_ROWS_CAP
    outcome = run_child(how, path, database_url, key, tmp_path)
    if how == "cli":
        assert outcome["exit"] == 0, outcome["output"][-3000:]
        reply = json.loads(outcome["output"].strip().splitlines()[-2])
    else:
        assert outcome["status"] == 200, outcome
        reply = outcome["reply"]
    assert (reply["rows"], reply["created"], reply["blank_rows"]) == (1, 1, blank_rows)
    assert outcome["peak_mb"] < PEAK_MB_BOUND, outcome["peak_mb"]
