"""`aftercare staff ...` through Typer's runner, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aftercare.cli import app
from aftercare.dashboard.passwords import Passwords
from storage.audit import AuditLog, AuditQuery
from storage.db import Database
from storage.staff import StaffStore

runner = CliRunner()


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    clinic = ["glow", "--name", "Glow", "--phone", "+1 212 555 0100"]
    added = runner.invoke(app, ["clinic", "add", *clinic, "--timezone", "America/New_York"])
    assert added.exit_code == 0, added.output
    return url


def staff(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["staff", *args], input=stdin)
    return result.exit_code, result.output


def stored(url: str, email: str) -> tuple[str, str, bool]:
    db = Database(url)
    try:
        account = StaffStore(db).by_email(email)
    finally:
        db.dispose()
    assert account is not None
    return account.role, account.password_hash, account.must_change_password


def test_add_without_a_password_prints_a_one_time_password_once(database: str) -> None:
    code, output = staff("add", "glow", "Ana@Glow.example", "--role", "admin")

    assert code == 0, output
    lines = output.strip().splitlines()
    assert lines[0] == "ana@glow.example added to glow as admin"
    one_time = lines[-1]
    role, hashed, must_change = stored(database, "ana@glow.example")
    assert (role, must_change) == ("admin", True)
    assert Passwords().verify(hashed, one_time)


def test_add_with_a_password_from_stdin(database: str) -> None:
    code, output = staff(
        "add", "glow", "bo@glow.example", "--role", "nurse", "--password-stdin",
        stdin="a long passphrase\n",
    )  # fmt: skip

    assert code == 0, output
    assert "one-time" not in output
    role, hashed, must_change = stored(database, "bo@glow.example")
    assert (role, must_change) == ("nurse", False)
    assert Passwords().verify(hashed, "a long passphrase")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "glow", "bo@glow.example", "--role", "owner"], None, "must be admin or nurse"),
        (["add", "nope", "bo@glow.example", "--role", "nurse"], None, "no clinic 'nope'"),
        (["add", "glow", "bo at glow", "--role", "nurse"], None, "is not an email address"),
        (
            ["add", "glow", "bo@glow.example", "--role", "nurse", "--password-stdin"],
            "short\n",
            "a password has at least 12 characters",
        ),
        (
            ["add", "glow", "bo@glow.example", "--role", "nurse", "--password-stdin"],
            "",
            "no password on standard input",
        ),
        (["remove", "glow", "nobody@glow.example"], None, "no staff account nobody@glow.example"),
        (["password", "glow", "bo@glow.example"], None, "--password-stdin is required"),
        (["list", "nope"], None, "no clinic 'nope'"),
    ],
)
def test_mistakes_get_one_line_saying_what_is_wrong(
    database: str, args: list[str], stdin: str | None, message: str
) -> None:
    code, output = staff(*args, stdin=stdin)

    assert code == 1
    assert output.count("\n") == 1
    assert output.startswith("error: ")
    assert message in output


def test_an_email_in_use_is_refused(database: str) -> None:
    staff("add", "glow", "ana@glow.example", "--role", "nurse")

    code, output = staff("add", "glow", "ANA@glow.example", "--role", "admin")

    assert code == 1
    assert "ana@glow.example already has a dashboard account" in output


def test_list_shows_the_accounts_as_a_table_or_json(database: str) -> None:
    staff("add", "glow", "ana@glow.example", "--role", "admin")
    staff("add", "glow", "bo@glow.example", "--role", "nurse", "--password-stdin", stdin="b" * 12)

    code, output = staff("list", "glow", "--json")
    table_code, table = staff("list", "glow")

    assert code == 0 and table_code == 0
    rows = json.loads(output)
    assert [(r["email"], r["role"], r["must_change_password"]) for r in rows] == [
        ("ana@glow.example", "admin", True),
        ("bo@glow.example", "nurse", False),
    ]
    assert rows[0]["last_sign_in_at"] is None
    assert "ana@glow.example" in table and "one-time" in table and "never" in table


def test_password_and_remove_change_the_account_and_are_audited(database: str) -> None:
    staff("add", "glow", "ana@glow.example", "--role", "nurse")

    changed = staff("password", "glow", "ana@glow.example", "--password-stdin", stdin="c" * 16)
    _, hashed, must_change = stored(database, "ana@glow.example")
    removed = staff("remove", "glow", "Ana@glow.example")

    assert changed[0] == 0 and removed[0] == 0
    assert Passwords().verify(hashed, "c" * 16) and not must_change
    assert "ana@glow.example removed from glow" in removed[1]
    db = Database(database)
    try:
        assert StaffStore(db).by_email("ana@glow.example") is None
        entries = AuditLog(db).entries(1, AuditQuery(), 10)
    finally:
        db.dispose()
    assert [(e.action, e.actor, e.target_id) for e in entries] == [
        ("staff.remove", "command line", "ana@glow.example"),
        ("staff.password", "command line", "ana@glow.example"),
        ("staff.add", "command line", "ana@glow.example"),
    ]


def test_without_a_database_nothing_is_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")

    code, output = staff("list", "glow")

    assert code == 1
    assert "aftercare db upgrade" in output
    assert not (tmp_path / "missing.db").exists()
