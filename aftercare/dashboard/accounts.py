"""Managing staff accounts, the same way from the command line and from the staff page:
checked fields, Argon2 hashes, one-time passwords, and an audit entry in the same
transaction as each change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from aftercare.dashboard.passwords import Passwords, one_time_password, password_problem
from aftercare.dashboard.strings import text
from scheduler.clock import Clock
from storage.audit import AuditAction, AuditLog
from storage.db import Database
from storage.patients import DuplicateError, NotFoundError
from storage.staff import (
    AuditHook,
    StaffAccount,
    StaffFieldError,
    StaffStore,
    check_role,
    normalise_email,
)


class AccountProblem(ValueError):
    """A change that cannot be made; the message is one line for a person to read."""

    @property
    def sentence(self) -> str:
        """The message as a sentence, for a page."""
        message = str(self)
        return message[:1].upper() + message[1:] + "."


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the audit trail."""

    staff_id: int | None
    name: str  # a staff member's email, or COMMAND_LINE
    address: str | None = None


COMMAND_LINE: Final = Actor(None, "command line")


@dataclass(frozen=True)
class NewAccount:
    account: StaffAccount
    one_time_password: str | None  # shown once, when no password was given


class StaffAccounts:
    def __init__(self, db: Database, clock: Clock, passwords: Passwords) -> None:
        self.store = StaffStore(db)
        self._clock = clock
        self._passwords = passwords

    def _audit(self, clinic_id: int, by: Actor, action: AuditAction) -> AuditHook:
        def record(session: Session, account: StaffAccount) -> None:
            AuditLog.add(
                session,
                self._clock.now(),
                clinic_id,
                by.staff_id,
                action,
                "staff",
                account.email,
                actor=by.name,
                address=by.address,
            )

        return record

    def add(
        self, clinic_id: int, email: str, role: str, password: str | None, by: Actor
    ) -> NewAccount:
        """Without a password, one is made up and must be changed at the first sign-in."""
        try:
            address = normalise_email(email)
            checked_role = check_role(role)
        except StaffFieldError as exc:
            raise AccountProblem(str(exc)) from None
        generated = one_time_password() if password is None else None
        chosen = password if password is not None else generated
        assert chosen is not None
        problem = password_problem(chosen)
        if problem:
            raise AccountProblem(problem)
        try:
            account = self.store.add(
                clinic_id,
                address,
                checked_role,
                self._passwords.hash(chosen),
                self._clock.now(),
                must_change_password=generated is not None,
                audit=self._audit(clinic_id, by, AuditAction.STAFF_ADD),
            )
        except DuplicateError as exc:
            raise AccountProblem(str(exc)) from None
        return NewAccount(account, generated)

    def find(self, clinic_id: int, email: str) -> StaffAccount:
        """The clinic's account with this email (AccountProblem when there is none)."""
        try:
            address = normalise_email(email)
        except StaffFieldError as exc:
            raise AccountProblem(str(exc)) from None
        account = self.store.in_clinic(clinic_id, address)
        if account is None:
            raise AccountProblem(text("accounts.no_account", email=address))
        return account

    def remove(self, account: StaffAccount, by: Actor) -> StaffAccount:
        """Staff cannot remove themselves, and a clinic keeps at least one admin when the
        change comes from the dashboard (the command line can do either)."""
        clinic_id = account.clinic_id
        if by.staff_id is not None:
            if account.id == by.staff_id:
                raise AccountProblem(text("accounts.remove_self"))
            if account.role == "admin" and self.store.admin_count(clinic_id) <= 1:
                raise AccountProblem(text("accounts.last_admin"))
        try:
            return self.store.remove(
                clinic_id, account.email, self._audit(clinic_id, by, AuditAction.STAFF_REMOVE)
            )
        except NotFoundError:
            raise AccountProblem(text("accounts.gone", email=account.email)) from None

    def set_password(self, account: StaffAccount, password: str, by: Actor) -> None:
        """A password chosen for someone: it ends all their sessions."""
        problem = password_problem(password)
        if problem:
            raise AccountProblem(problem)
        self.store.set_password(
            account.id,
            self._passwords.hash(password),
            self._clock.now(),
            must_change_password=False,
            audit=self._audit(account.clinic_id, by, AuditAction.STAFF_PASSWORD),
        )

    def reset_password(self, account: StaffAccount, by: Actor) -> str:
        """A new one-time password for someone who forgot theirs; their sessions end."""
        if account.id == by.staff_id:
            raise AccountProblem(text("accounts.reset_self"))
        generated = one_time_password()
        self.store.set_password(
            account.id,
            self._passwords.hash(generated),
            self._clock.now(),
            must_change_password=True,
            audit=self._audit(account.clinic_id, by, AuditAction.STAFF_PASSWORD),
        )
        return generated

    def change_own_password(
        self, account: StaffAccount, session_id: int, current: str, new: str, by: Actor
    ) -> None:
        """The signed-in member's own change: this session stays, the others end."""
        if not self._passwords.verify(account.password_hash, current):
            raise AccountProblem(text("accounts.wrong_password"))
        problem = password_problem(new)
        if problem:
            raise AccountProblem(problem)
        if new == current:
            raise AccountProblem(text("accounts.same_password"))
        self.store.set_password(
            account.id,
            self._passwords.hash(new),
            self._clock.now(),
            must_change_password=False,
            keep_session=session_id,
            audit=self._audit(account.clinic_id, by, AuditAction.PASSWORD_CHANGE),
        )
