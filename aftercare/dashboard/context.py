"""What every dashboard page can reach: the running service and the dashboard's parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from jinja2 import Environment

from aftercare.dashboard.accounts import StaffAccounts
from aftercare.dashboard.import_jobs import ImportJobs
from aftercare.dashboard.passwords import Passwords
from aftercare.dashboard.sessions import Sessions
from aftercare.dashboard.signin import SignIn
from aftercare.dashboard.templating import make_environment
from aftercare.settings import Settings
from aftercare.wiring import Core, Runtime, invite_links
from clinic.importer import Importer
from scheduler.clock import Clock
from storage.audit import AuditLog
from storage.db import Database
from storage.enrollment import EnrollmentStore
from storage.escalation_counts import open_escalations
from storage.sign_in_throttle import SignInThrottleStore


@dataclass
class Dashboard:
    runtime: Runtime
    env: Environment
    passwords: Passwords
    sessions: Sessions
    accounts: StaffAccounts
    audit: AuditLog
    sign_in: SignIn
    # The navigation's open count (runs in a thread); the inbox may put its own here.
    open_count: Callable[[int], int]
    imports: ImportJobs  # CSV uploads being checked or imported (admins' /app/import)

    @property
    def core(self) -> Core:
        return self.runtime.core

    @property
    def db(self) -> Database:
        return self.runtime.core.db

    @property
    def clock(self) -> Clock:
        return self.runtime.core.clock

    @property
    def settings(self) -> Settings:
        return self.runtime.core.settings

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over https when the service is published over https."""
        return (self.settings.public_base_url or "").lower().startswith("https://")


def build_dashboard(runtime: Runtime, passwords: Passwords | None = None) -> Dashboard:
    """`passwords` lets tests use a cheaper Argon2 profile; the service uses the default."""
    core = runtime.core
    db, clock = core.db, core.clock
    passwords = passwords or Passwords()
    sessions = Sessions(db, clock, timedelta(hours=core.settings.dashboard_idle_hours))
    audit = AuditLog(db)
    accounts = StaffAccounts(db, clock, passwords)
    sign_in = SignIn(accounts.store, sessions, SignInThrottleStore(db), audit, passwords, clock)
    return Dashboard(
        runtime=runtime,
        env=make_environment(),
        passwords=passwords,
        sessions=sessions,
        accounts=accounts,
        audit=audit,
        sign_in=sign_in,
        open_count=lambda clinic_id: open_escalations(db, clinic_id),
        imports=ImportJobs(
            Importer(
                EnrollmentStore(db),
                core.planner,
                invite_ttl=timedelta(hours=core.settings.invite_ttl_hours),
                invite_link=invite_links(core.settings.telegram_bot_username),
            ),
            clock,
        ),
    )
