"""Staff accounts and their sign-in sessions.

The email is the sign-in name: stored lower-cased and unique across clinics, so a
sign-in form needs nothing else. Passwords arrive here already hashed (Argon2, by the
caller); session tokens arrive already hashed (SHA-256), so nothing stored here lets
anyone sign in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Clinic, Staff, StaffSession
from storage.patients import DuplicateError, NotFoundError

Role = Literal["admin", "nurse"]
# Writes an audit entry inside the change's own transaction (see storage.audit).
AuditHook = Callable[[Session, "StaffAccount"], None]
ROLES: Final[tuple[Role, ...]] = ("admin", "nurse")
MAX_EMAIL_LENGTH: Final = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


class StaffFieldError(ValueError):
    """An email or role that cannot be stored; the message says why."""


def normalise_email(text: str) -> str:
    """The stored form of an email: trimmed and lower-cased (raises StaffFieldError)."""
    email = text.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        raise StaffFieldError(f"an email has at most {MAX_EMAIL_LENGTH} characters")
    if not _EMAIL.fullmatch(email):
        raise StaffFieldError(f"{text.strip()!r} is not an email address (name@example.com)")
    return email


def check_role(text: str) -> Role:
    for role in ROLES:
        if text == role:
            return role
    raise StaffFieldError(f"role must be admin or nurse, not {text!r}")


@dataclass(frozen=True)
class StaffAccount:
    id: int
    clinic_id: int
    email: str
    role: Role
    password_hash: str
    must_change_password: bool
    created_at: datetime
    last_sign_in_at: datetime | None

    @classmethod
    def of(cls, row: Staff) -> StaffAccount:
        return cls(
            row.id,
            row.clinic_id,
            row.email,
            check_role(row.role),
            row.password_hash,
            row.must_change_password,
            row.created_at,
            row.last_sign_in_at,
        )


@dataclass(frozen=True)
class SessionView:
    """A live session with what every page needs about its staff member and clinic."""

    session_id: int
    created_at: datetime
    last_seen_at: datetime
    staff: StaffAccount
    clinic_slug: str
    clinic_name: str
    clinic_timezone: str


class StaffStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- accounts --------------------------------------------------------------------------

    def clinic_id(self, slug: str) -> int:
        with self._db.session() as session:
            found = session.scalar(select(Clinic.id).where(Clinic.slug == slug))
        if found is None:
            raise NotFoundError(f"no clinic {slug!r}")
        return found

    def add(
        self,
        clinic_id: int,
        email: str,
        role: Role,
        password_hash: str,
        now: datetime,
        *,
        must_change_password: bool,
        audit: AuditHook | None = None,
    ) -> StaffAccount:
        """Raises DuplicateError when the email already has an account (at any clinic)."""
        row = Staff(
            clinic_id=clinic_id,
            email=email,
            role=role,
            password_hash=password_hash,
            must_change_password=must_change_password,
            created_at=now,
            password_changed_at=now,
        )
        try:
            with self._db.session() as session:
                session.add(row)
                session.flush()
                account = StaffAccount.of(row)
                if audit is not None:
                    audit(session, account)
                return account
        except IntegrityError:
            raise DuplicateError(f"{email} already has a dashboard account") from None

    def by_email(self, email: str) -> StaffAccount | None:
        with self._db.session() as session:
            row = session.scalar(select(Staff).where(Staff.email == email))
            return StaffAccount.of(row) if row is not None else None

    def get(self, clinic_id: int, staff_id: int) -> StaffAccount | None:
        """The account, only when it belongs to this clinic."""
        with self._db.session() as session:
            row = session.get(Staff, staff_id)
            return StaffAccount.of(row) if row is not None and row.clinic_id == clinic_id else None

    def in_clinic(self, clinic_id: int, email: str) -> StaffAccount | None:
        """The account, only when it belongs to this clinic."""
        account = self.by_email(email)
        return account if account is not None and account.clinic_id == clinic_id else None

    def list(self, clinic_id: int) -> list[StaffAccount]:
        with self._db.session() as session:
            rows = session.scalars(
                select(Staff).where(Staff.clinic_id == clinic_id).order_by(Staff.email)
            )
            return [StaffAccount.of(row) for row in rows]

    def admin_count(self, clinic_id: int) -> int:
        with self._db.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Staff)
                    .where(Staff.clinic_id == clinic_id, Staff.role == "admin")
                )
                or 0
            )

    def remove(self, clinic_id: int, email: str, audit: AuditHook | None = None) -> StaffAccount:
        """Delete the account and its sessions; raises NotFoundError."""
        with self._db.session() as session:
            row = session.scalar(
                select(Staff).where(Staff.clinic_id == clinic_id, Staff.email == email)
            )
            if row is None:
                raise NotFoundError(f"no staff account {email}")
            account = StaffAccount.of(row)
            session.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
            session.delete(row)
            if audit is not None:
                audit(session, account)
        return account

    def set_password(
        self,
        staff_id: int,
        password_hash: str,
        now: datetime,
        *,
        must_change_password: bool,
        keep_session: int | None = None,
        audit: AuditHook | None = None,
    ) -> None:
        """Store a new hash and end every session of the account but `keep_session`."""
        with self._db.session() as session:
            row = session.get(Staff, staff_id)
            if row is None:
                raise NotFoundError(f"no staff account {staff_id}")
            if audit is not None:
                audit(session, StaffAccount.of(row))
            session.execute(
                update(Staff)
                .where(Staff.id == staff_id)
                .values(
                    password_hash=password_hash,
                    must_change_password=must_change_password,
                    password_changed_at=now,
                )
            )
            ending = delete(StaffSession).where(StaffSession.staff_id == staff_id)
            if keep_session is not None:
                ending = ending.where(StaffSession.id != keep_session)
            session.execute(ending)

    def signed_in(self, staff_id: int, now: datetime, new_hash: str | None = None) -> None:
        """Note a sign-in; `new_hash` replaces a hash made with older parameters."""
        values: dict[str, object] = {"last_sign_in_at": now}
        if new_hash is not None:
            values["password_hash"] = new_hash
        with self._db.session() as session:
            session.execute(update(Staff).where(Staff.id == staff_id).values(**values))

    # -- sessions --------------------------------------------------------------------------

    def open_session(self, staff_id: int, token_hash: str, now: datetime) -> int:
        with self._db.session() as session:
            row = StaffSession(
                token_hash=token_hash, staff_id=staff_id, created_at=now, last_seen_at=now
            )
            session.add(row)
            session.flush()
            return row.id

    def session(self, token_hash: str) -> SessionView | None:
        with self._db.session() as session:
            found = session.execute(
                select(StaffSession, Staff, Clinic)
                .join(Staff, Staff.id == StaffSession.staff_id)
                .join(Clinic, Clinic.id == Staff.clinic_id)
                .where(StaffSession.token_hash == token_hash)
            ).one_or_none()
            if found is None:
                return None
            row, staff, clinic = found
            return SessionView(
                row.id,
                row.created_at,
                row.last_seen_at,
                StaffAccount.of(staff),
                clinic.slug,
                clinic.name,
                clinic.timezone,
            )

    def touch(self, session_id: int, now: datetime) -> None:
        with self._db.session() as session:
            session.execute(
                update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now)
            )

    def end_session(self, session_id: int) -> None:
        with self._db.session() as session:
            session.execute(delete(StaffSession).where(StaffSession.id == session_id))

    def end_idle_sessions(self, seen_before: datetime) -> int:
        with self._db.session() as session:
            ended = session.execute(
                delete(StaffSession).where(StaffSession.last_seen_at < seen_before)
            )
            return int(ended.rowcount)  # type: ignore[attr-defined]
