"""Start-up and command errors are one line on stderr, exit status 1, naming the setting and
the target, never a password or token; nothing is started or created on the way.

Each test runs the installed `aftercare` command in a subprocess, as an operator would.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.aftercare.process_kit import AFTERCARE, TelegramInThread, free_port, service_env

SECRET = "s3cret-pw"


def aftercare(
    *args: str, env: dict[str, str], cwd: Path, as_unprivileged: bool = False
) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if as_unprivileged and os.geteuid() == 0:
        # root writes any file; without its capabilities the file's mode bits apply again
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unwritable")
        prefix = [setpriv, "--bounding-set=-all", "--"]
    return subprocess.run(
        [*prefix, AFTERCARE, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def telegram() -> Iterator[TelegramInThread]:
    fake = TelegramInThread()
    yield fake
    fake.close()


@pytest.mark.slow
def test_postgresql_refusing_connections(tmp_path: Path) -> None:
    port = free_port()
    url = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:{port}/aftercare"
    for command in (["run"], ["db", "upgrade"], ["reminders"]):
        line = one_line_error(aftercare(*command, env=service_env(url), cwd=tmp_path))
        assert f"DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:{port}/aftercare" in line
        assert "Connection refused" in line and SECRET not in line


@pytest.mark.slow
def test_a_missing_sqlite_folder(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    url = f"sqlite:///{folder / 'aftercare.db'}"
    for command in (["run"], ["db", "upgrade"]):
        line = one_line_error(aftercare(*command, env=service_env(url), cwd=tmp_path))
        assert line == (
            f"error: DATABASE_URL: the folder {folder} for the SQLite database aftercare.db "
            "does not exist; create it or point DATABASE_URL elsewhere"
        )
    assert not (tmp_path / "no").exists()


@pytest.mark.slow
def test_a_sqlite_file_this_user_may_not_write(sqlite_url: str, tmp_path: Path) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    path.chmod(0o444)
    result = aftercare("run", env=service_env(sqlite_url), cwd=tmp_path, as_unprivileged=True)
    assert one_line_error(result) == (
        f"error: DATABASE_URL: this user may not write the SQLite file {path}"
    )


@pytest.mark.slow
def test_a_port_in_use_is_named_before_the_scheduler_starts(
    sqlite_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = service_env(sqlite_url, PORT=str(port), LOG_LEVEL="INFO")
        result = aftercare("run", env=env, cwd=tmp_path)
    line = one_line_error(result)
    assert line.startswith(f"error: PORT: 127.0.0.1:{port} is already in use")
    assert "CancelledError" not in result.stdout + result.stderr


@pytest.mark.slow
def test_a_token_telegram_refuses(
    sqlite_url: str, tmp_path: Path, telegram: TelegramInThread
) -> None:
    wrong = "123456:not-the-token"
    env = service_env(sqlite_url, **telegram.env(token=wrong))
    line = one_line_error(aftercare("run", env=env, cwd=tmp_path))
    assert line.startswith("error: TELEGRAM_BOT_TOKEN: Telegram refused the token (401 from getMe")
    assert wrong not in line and "not-the-token" not in line


@pytest.mark.slow
def test_a_command_run_from_another_folder_names_the_missing_database(tmp_path: Path) -> None:
    env = service_env("sqlite:///./aftercare.db")
    add = ["patient", "add", "--clinic", "glow", "--external-id", "P1", "--treatment", "-2h"]
    for command in (["reminders"], ["clinic", "list"], add):
        line = one_line_error(aftercare(*command, env=env, cwd=tmp_path))
        assert line == (
            f"error: no database at {tmp_path / 'aftercare.db'}: run from the project folder or "
            "set DATABASE_URL (a new database is made by `aftercare db upgrade`)"
        )
    assert list(tmp_path.iterdir()) == []  # nothing was created


@pytest.mark.slow
def test_a_database_without_the_latest_migrations_says_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "aftercare.db"
    sqlite3.connect(path).close()  # an empty file: no tables at all
    env = service_env(f"sqlite:///{path}")
    line = one_line_error(aftercare("clinic", "list", env=env, cwd=tmp_path))
    assert line == (
        f"error: the database at {path} has no aftercare tables: run `aftercare db upgrade`"
    )
    subprocess.run(
        [AFTERCARE, "db", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True
    )
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
    line = one_line_error(aftercare("reminders", env=env, cwd=tmp_path))
    assert line.startswith(f"error: the database at {path} is at migration 0005, this version")
    assert line.endswith("run `aftercare db upgrade`")
