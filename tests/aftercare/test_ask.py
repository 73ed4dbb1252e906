"""`aftercare ask`: the FAQ from the command line, on a fresh install with no database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftercare.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory and no database settings: nothing to read, nothing created."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("EMERGENCY_NUMBER", "112")
    return tmp_path


def test_ask_answers_a_question_in_plain_text(fresh_install: Path) -> None:
    result = runner.invoke(app, ["ask", "can I wear makeup?"])
    assert result.exit_code == 0, result.output
    assert "Makeup can go back on 24 hours after treatment" in result.stdout
    assert list(fresh_install.iterdir()) == []  # no database file appeared


def test_ask_json_has_topic_escalate_and_answer() -> None:
    result = runner.invoke(app, ["ask", "tengo pus en la mejilla", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["topic"] == "red_flag"
    assert data["escalate"] is True
    assert "Llama cuanto antes" in data["answer"]
    assert "112" in data["answer"]


def test_ask_lang_forces_the_language_of_the_answer() -> None:
    result = runner.invoke(app, ["ask", "sunscreen?", "--lang", "es", "--json"])
    assert json.loads(result.stdout)["answer"].startswith("La piel nueva se quema")


def test_ask_dash_reads_one_question_per_line_and_prints_json_lines() -> None:
    questions = "can I go to the gym\n\nmy lips are swelling\npurple elephants\n"
    result = runner.invoke(app, ["ask", "-"], input=questions)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["topic"], x["escalate"]) for x in lines] == [
        ("exercise", False),
        ("emergency", True),
        ("unknown", False),
    ]
    assert all(x["answer"] for x in lines)


def test_ask_rejects_an_unknown_language() -> None:
    result = runner.invoke(app, ["ask", "hi", "--lang", "fr"])
    assert result.exit_code == 2
    assert "'fr' is not one of 'en', 'es'" in result.output


def test_the_installed_command_works_without_a_database(fresh_install: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = Path(sys.executable).parent / "aftercare"
    done = subprocess.run(
        [str(command), "ask", "-"],
        input="when can I swim?\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=fresh_install,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["topic"] == "swimming"
    assert list(fresh_install.iterdir()) == []
