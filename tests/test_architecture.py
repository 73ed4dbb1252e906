"""The layers are enforced, not just drawn: `lint-imports` (the contracts in pyproject.toml)
passes on this tree and fails, naming the contract and the import, on a copy of it with a
deliberately wrong import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("aftercare", "clinic", "bot", "scheduler", "messages", "storage")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """`lint-imports` run in `tree`, which its packages are imported from."""
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *selected],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and of the import-linter configuration."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_line(module: Path, line: str) -> None:
    module.write_text(module.read_text("utf-8") + f"\n{line}\n", "utf-8")


def test_the_tree_keeps_its_layers_and_the_channels_apart() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Contracts: 2 kept, 0 broken." in run.stdout


def test_the_copy_is_what_is_checked(tree: Path) -> None:
    # Were the installed tree checked instead, the failures below would prove nothing.
    run = subprocess.run(
        [sys.executable, "-c", "import storage; print(storage.__file__)"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(run.stdout.strip()).is_relative_to(tree)


@pytest.mark.parametrize(
    ("module", "line", "import_"),
    [
        ("storage/values.py", "import aftercare.settings", "storage.values -> aftercare.settings"),
        ("messages/gsm7.py", "from scheduler import clock", "messages.gsm7 -> scheduler.clock"),
        ("bot/console.py", "import clinic.reader", "bot.console -> clinic.reader"),
        (
            # A late import inside a function does not dodge the layers either.
            "scheduler/quiet_hours.py",
            "def _dodge() -> None:\n    from bot import alerts",
            "scheduler.quiet_hours -> bot.alerts",
        ),
        (
            "clinic/reader.py",
            # Nor does one that only the type checker sees.
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import aftercare.wiring",
            "clinic.reader -> aftercare.wiring",
        ),
    ],
)
def test_an_upward_import_breaks_the_layers_contract(
    tree: Path, module: str, line: str, import_: str
) -> None:
    add_line(tree / module, line)
    run = lint_imports(tree, "layers")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Layers: aftercare > clinic > bot > scheduler > messages > storage BROKEN" in run.stdout
    assert import_ in run.stdout


def test_telegram_importing_sms_breaks_the_channels_contract(tree: Path) -> None:
    add_line(tree / "bot/telegram/timeparse.py", "import bot.sms.keywords")
    run = lint_imports(tree, "channels")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Channels: bot.telegram and bot.sms do not import each other BROKEN" in run.stdout
    assert "bot.telegram.timeparse -> bot.sms.keywords" in run.stdout


def test_sms_importing_telegram_breaks_the_channels_contract(tree: Path) -> None:
    add_line(tree / "bot/sms/keywords.py", "from bot.telegram import timeparse")
    run = lint_imports(tree, "channels")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "bot.sms.keywords -> bot.telegram.timeparse" in run.stdout


def test_the_pure_decisions_load_without_a_database_library() -> None:
    code = (
        "import sys, scheduler.decisions; print(sorted(m for m in sys.modules if 'sqlalch' in m))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "[]"
