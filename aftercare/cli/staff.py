"""`aftercare staff ...`: dashboard accounts from the command line.

Passwords never go on the command line (shell history, `ps`): `--password-stdin` reads one
line from standard input; without it `staff add` makes a one-time password, prints it
once, and the new member chooses their own at the first sign-in.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aftercare.cli.common import fail, open_database, out, read_settings
from aftercare.dashboard.accounts import COMMAND_LINE, AccountProblem, StaffAccounts
from aftercare.dashboard.passwords import Passwords
from scheduler.clock import SystemClock
from storage.patients import NotFoundError

staff_app = typer.Typer(help="Clinic dashboard staff accounts.", no_args_is_help=True)

ROLE_HELP = "admin (also imports, staff and API key) or nurse (read, reply, resolve)."
STDIN_HELP = "Read the password from the first line of standard input."


@contextmanager
def _accounts() -> Iterator[StaffAccounts]:
    """Accounts on a database that exists and is migrated (never made here)."""
    with open_database(read_settings()) as db:
        yield StaffAccounts(db, SystemClock(), Passwords())


def _clinic_id(accounts: StaffAccounts, slug: str) -> int:
    try:
        return accounts.store.clinic_id(slug)
    except NotFoundError as exc:
        raise fail(str(exc)) from None


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise fail("no password on standard input (one line, e.g. from a password manager)")
    return password


@staff_app.command("add")
def staff_add(
    slug: Annotated[str, typer.Argument(help="The clinic's slug.")],
    email: Annotated[str, typer.Argument(help="The sign-in email.")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
) -> None:
    """Add a dashboard account; without --password-stdin a one-time password is printed."""
    password = _read_password() if password_stdin else None
    with _accounts() as accounts:
        clinic_id = _clinic_id(accounts, slug)
        try:
            added = accounts.add(clinic_id, email, role, password, COMMAND_LINE)
        except AccountProblem as exc:
            raise fail(str(exc)) from None
    out.print(f"{escape(added.account.email)} added to {escape(slug)} as {added.account.role}")
    if added.one_time_password is not None:
        out.print("one-time password (shown once; a new one is chosen at the first sign-in):")
        typer.echo(added.one_time_password)


@staff_app.command("list")
def staff_list(
    slug: Annotated[str, typer.Argument(help="The clinic's slug.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List a clinic's dashboard accounts."""
    with _accounts() as accounts:
        listed = accounts.store.list(_clinic_id(accounts, slug))
    rows = [
        {
            "email": account.email,
            "role": account.role,
            "created_at": account.created_at.isoformat(timespec="seconds"),
            "last_sign_in_at": (
                account.last_sign_in_at.isoformat(timespec="seconds")
                if account.last_sign_in_at
                else None
            ),
            "must_change_password": account.must_change_password,
        }
        for account in listed
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("email", "role", "last sign-in (UTC)", "password")
    for row in rows:
        table.add_row(
            escape(str(row["email"])),
            str(row["role"]),
            str(row["last_sign_in_at"] or "never")[:16].replace("T", " "),
            "one-time" if row["must_change_password"] else "own",
        )
    out.print(table)


@staff_app.command("remove")
def staff_remove(
    slug: Annotated[str, typer.Argument(help="The clinic's slug.")],
    email: Annotated[str, typer.Argument(help="The sign-in email.")],
) -> None:
    """Remove a dashboard account; its sessions end at once."""
    with _accounts() as accounts:
        clinic_id = _clinic_id(accounts, slug)
        try:
            removed = accounts.remove(accounts.find(clinic_id, email), COMMAND_LINE)
        except AccountProblem as exc:
            raise fail(str(exc)) from None
    out.print(f"{escape(removed.email)} removed from {escape(slug)}")


@staff_app.command("password")
def staff_password(
    slug: Annotated[str, typer.Argument(help="The clinic's slug.")],
    email: Annotated[str, typer.Argument(help="The sign-in email.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
) -> None:
    """Set an account's password (read from standard input); its sessions end."""
    if not password_stdin:
        raise fail("--password-stdin is required: passwords are never given as arguments")
    password = _read_password()
    with _accounts() as accounts:
        clinic_id = _clinic_id(accounts, slug)
        try:
            accounts.set_password(accounts.find(clinic_id, email), password, COMMAND_LINE)
        except AccountProblem as exc:
            raise fail(str(exc)) from None
    out.print(f"password of {escape(email.strip().lower())} changed; its sessions are ended")
