"""The README cannot drift from the product: its quick-start lines and its API examples are
copied out of README.md and run as written, in a fresh folder, against a new SQLite file.

The folder gets a `.venv` link to the environment running the tests, so `.venv/bin/aftercare`
means what it means in a clone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from clinic.openapi import OPENAPI
from tests.aftercare.process_kit import AFTERCARE, Service, free_port

README = Path(__file__).resolve().parents[2] / "README.md"
VENV = Path(sys.executable).parent.parent  # .venv/bin/python -> .venv


def block(marker: str) -> list[str]:
    """The command lines of the ```sh block between `<!-- marker ... -->` and its end."""
    text = README.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- {marker}\b[^>]*-->\s*```sh\n(.*?)```\s*<!-- /{marker} -->", text, re.DOTALL
    )
    assert found, f"README.md has no <!-- {marker} --> block"
    return [line for line in found.group(1).splitlines() if line.strip()]


def fresh_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / ".venv").symlink_to(VENV, target_is_directory=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_", "PUBLIC_BASE_URL"))
    }
    env["DATABASE_URL"] = f"sqlite:///{folder / 'aftercare.db'}"
    return folder, env


def run_lines(lines: list[str], folder: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stderr == "", result.stderr
    return result.stdout


def quick_start(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    folder, env = fresh_folder(tmp_path)
    run_lines(block("quickstart"), folder, env)
    return folder, env


@pytest.mark.slow
def test_the_quick_start_adds_a_patient_treated_relative_to_now(tmp_path: Path) -> None:
    lines = block("quickstart")
    add = next(line for line in lines if " patient add " in line)
    assert re.search(r"--treatment (-\d+[mhd]\b|\"\$\(date )", add), add  # never stale
    assert all(line.startswith(".venv/bin/aftercare ") for line in lines)
    folder, _env = quick_start(tmp_path)
    with sqlite3.connect(folder / "aftercare.db") as conn:
        patients = conn.execute("SELECT external_id FROM patient ORDER BY id").fetchall()
        pending = conn.execute("SELECT count(*) FROM reminder WHERE status = 'pending'")
        assert pending.fetchone()[0] > 0
    assert [row[0] for row in patients] == ["P1", "A-1001", "A-1002", "A-1003"]


@pytest.mark.slow
def test_the_api_examples_work_against_the_running_service(tmp_path: Path) -> None:
    lines = block("api-examples")
    for path, operations in OPENAPI["paths"].items():
        for method in set(operations) & {"get", "post", "put", "patch", "delete"}:
            shown = re.sub(r"\{[^}]+\}", '[^ "?]+', path)
            pattern = rf"/api/v1{shown}\b"
            examples = [line for line in lines if re.search(pattern, line)]
            if method == "delete":
                examples = [line for line in examples if "-X DELETE" in line]
            assert examples, f"README has no curl example for {method.upper()} {path}"
    folder, env = quick_start(tmp_path)
    rotated = subprocess.run(
        [AFTERCARE, "clinic", "key", "rotate", "glow", "--json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(rotated.stdout)["api_key"]
    port = free_port()
    service = Service({**env, "PORT": str(port), "LOG_LEVEL": "WARNING"}, folder)
    try:
        wait_until_healthy(port, service)
        outputs = []
        for line in lines:
            if line.startswith("KEY="):
                continue
            assert line.startswith("curl -s "), line
            line = line.replace("curl -s ", "curl -sS --fail-with-body ", 1)
            line = line.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            outputs.append(run_lines([f"KEY={key}", line], folder, env))
    finally:
        assert service.terminate()
    schema, dry_run, enrolled, patient, _erased = outputs
    assert json.loads(schema)["openapi"].startswith("3.")
    assert json.loads(dry_run)["dry_run"] is True
    assert json.loads(enrolled)["unchanged"] == 3  # the quick start enrolled the same file
    assert json.loads(patient)["external_id"] == "A-1001"


def wait_until_healthy(port: int, service: Service) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert service.process.poll() is None, service.stderr()
        time.sleep(0.1)
    raise AssertionError("the service did not become healthy")


def test_no_path_of_any_machine_is_written_into_the_project() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=README.parent, capture_output=True, text=True, check=True
    ).stdout.split()
    machine_path = re.compile(r"(?<![\w.])/(?:work|home|root|Users)/\w")
    found = []
    for name in tracked:
        path = README.parent / name
        if path.suffix in (".png", ".ico", ".db") or "vendor" in path.parts:
            continue
        if not path.is_file() or path == Path(__file__):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{name}: {m.group(0)}" for m in machine_path.finditer(text)]
    assert found == []


@pytest.fixture(autouse=True)
def needs_bash_and_curl() -> None:
    for tool in ("bash", "curl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the README's commands")
