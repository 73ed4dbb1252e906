"""Staff accounts and sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftercare.wiring import Core
from storage.patients import ClinicView, DuplicateError, NotFoundError
from storage.signing_keys import signing_secret
from storage.staff import StaffFieldError, StaffStore, check_role, normalise_email
from tests.conftest import T0


@pytest.fixture
def store(core: Core) -> StaffStore:
    return StaffStore(core.db)


def test_an_email_is_stored_trimmed_and_lower_cased() -> None:
    assert normalise_email("  Ana.Lopez@Glow.Example ") == "ana.lopez@glow.example"


@pytest.mark.parametrize("text", ["ana", "ana@glow", "@glow.example", "a b@glow.example", ""])
def test_something_that_is_not_an_email_is_refused_by_name(text: str) -> None:
    with pytest.raises(StaffFieldError, match="not an email address"):
        normalise_email(text)


def test_roles_are_admin_and_nurse_only() -> None:
    assert check_role("admin") == "admin"
    with pytest.raises(StaffFieldError, match="admin or nurse"):
        check_role("owner")


def test_an_email_has_one_account_across_clinics(
    store: StaffStore, core: Core, clinic: ClinicView
) -> None:
    other = core.patients.add_clinic("other", "Other", "+12125550199", "America/Chicago")
    store.add(clinic.id, "ana@glow.example", "nurse", "hash", T0, must_change_password=False)

    with pytest.raises(DuplicateError, match="already has a dashboard account"):
        store.add(other.id, "ana@glow.example", "admin", "hash", T0, must_change_password=False)
    assert [a.email for a in store.list(clinic.id)] == ["ana@glow.example"]
    assert store.list(other.id) == []


def test_an_account_is_found_only_in_its_own_clinic(
    store: StaffStore, core: Core, clinic: ClinicView
) -> None:
    other = core.patients.add_clinic("other", "Other", "+12125550199", "America/Chicago")
    ana = store.add(clinic.id, "ana@glow.example", "nurse", "h", T0, must_change_password=False)

    assert store.get(clinic.id, ana.id) == ana
    assert store.get(other.id, ana.id) is None
    assert store.in_clinic(other.id, "ana@glow.example") is None
    with pytest.raises(NotFoundError):
        store.remove(other.id, "ana@glow.example")


def test_removing_an_account_ends_its_sessions(store: StaffStore, clinic: ClinicView) -> None:
    ana = store.add(clinic.id, "ana@glow.example", "nurse", "h", T0, must_change_password=False)
    store.open_session(ana.id, "a" * 64, T0)

    store.remove(clinic.id, "ana@glow.example")

    assert store.session("a" * 64) is None
    assert store.by_email("ana@glow.example") is None


def test_a_session_brings_its_staff_member_and_clinic(
    store: StaffStore, clinic: ClinicView
) -> None:
    ana = store.add(clinic.id, "ana@glow.example", "admin", "h", T0, must_change_password=True)
    session_id = store.open_session(ana.id, "b" * 64, T0)
    store.touch(session_id, T0 + timedelta(minutes=5))

    view = store.session("b" * 64)

    assert view is not None
    assert view.staff.email == "ana@glow.example"
    assert view.staff.role == "admin"
    assert view.staff.must_change_password
    assert (view.clinic_slug, view.clinic_timezone) == ("glow", "America/New_York")
    assert view.last_seen_at == T0 + timedelta(minutes=5)


def test_a_new_password_ends_the_other_sessions(store: StaffStore, clinic: ClinicView) -> None:
    ana = store.add(clinic.id, "ana@glow.example", "nurse", "h", T0, must_change_password=True)
    kept = store.open_session(ana.id, "c" * 64, T0)
    store.open_session(ana.id, "d" * 64, T0)

    store.set_password(ana.id, "h2", T0, must_change_password=False, keep_session=kept)

    assert store.session("c" * 64) is not None
    assert store.session("d" * 64) is None
    account = store.by_email("ana@glow.example")
    assert account is not None
    assert (account.password_hash, account.must_change_password) == ("h2", False)


def test_idle_sessions_are_deleted(store: StaffStore, clinic: ClinicView) -> None:
    ana = store.add(clinic.id, "ana@glow.example", "nurse", "h", T0, must_change_password=False)
    store.open_session(ana.id, "e" * 64, T0)
    store.open_session(ana.id, "f" * 64, T0 + timedelta(hours=2))

    assert store.end_idle_sessions(T0 + timedelta(hours=1)) == 1
    assert store.session("e" * 64) is None
    assert store.session("f" * 64) is not None


def test_the_signing_secret_is_made_once_and_shared(core: Core) -> None:
    first = signing_secret(core.db, "dashboard", T0)

    assert len(first) == 32
    assert signing_secret(core.db, "dashboard", T0 + timedelta(days=1)) == first
    assert signing_secret(core.db, "other", T0) != first
