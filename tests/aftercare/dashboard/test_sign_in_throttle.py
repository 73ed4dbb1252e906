"""The sign-in throttle, through the sign-in service, with an injected clock: guessing is
slowed per account and per address, yet the right password is never locked out for
longer than a few minutes, and never at a browser that signed in before."""

from __future__ import annotations

from datetime import timedelta

from aftercare.dashboard.passwords import Passwords
from aftercare.dashboard.signin import MAX_BLOCK, SignIn, SignInResult
from scheduler.clock import FakeClock
from storage.audit import AuditLog
from storage.sign_in_throttle import SignInThrottleStore
from tests.aftercare.dashboard.conftest import PASSWORD, Site

NURSE = "nurse@glow.example"


def attempt(
    sign_in: SignIn,
    password: str,
    *,
    email: str = NURSE,
    address: str = "203.0.113.7",
    device: str | None = None,
) -> SignInResult:
    return sign_in.attempt(email, password, address, device)


def test_five_wrong_passwords_are_free_then_the_account_waits(site: Site, clock: FakeClock) -> None:
    site.add_staff(NURSE)
    sign_in = site.dashboard.sign_in
    outcomes = [attempt(sign_in, f"wrong guess {n:03}").outcome for n in range(6)]

    assert outcomes == ["failed"] * 6
    # Blocked now, even with the right password, from anywhere...
    assert attempt(sign_in, PASSWORD, address="198.51.100.9").outcome == "throttled"
    clock.advance(timedelta(seconds=31))
    # ...but only for a short while.
    assert attempt(sign_in, PASSWORD, address="198.51.100.9").outcome == "signed_in"


def test_an_attacker_who_keeps_guessing_locks_the_account_for_at_most_the_cap(
    site: Site, clock: FakeClock
) -> None:
    site.add_staff(NURSE)
    sign_in = site.dashboard.sign_in
    for round_number in range(30):  # guesses from many addresses, each time it may
        result = attempt(sign_in, "wrong guess!!", address=f"192.0.2.{round_number}")
        assert result.outcome in ("failed", "throttled")
        clock.advance(MAX_BLOCK)

    assert attempt(sign_in, PASSWORD, address="198.51.100.9").outcome == "signed_in"


def test_a_browser_that_signed_in_before_is_not_locked_out_by_someone_elses_guesses(
    site: Site,
) -> None:
    site.add_staff(NURSE)
    sign_in = site.dashboard.sign_in
    first = attempt(sign_in, PASSWORD)
    assert first.device_cookie is not None
    for n in range(10):
        attempt(sign_in, f"attacker guess {n}", address=f"192.0.2.{n}")
    assert attempt(sign_in, PASSWORD, address="198.51.100.9").outcome == "throttled"

    again = attempt(sign_in, PASSWORD, device=first.device_cookie)

    assert again.outcome == "signed_in"


def test_a_device_cookie_of_another_account_or_forged_counts_for_nothing(
    site: Site,
) -> None:
    site.add_staff(NURSE)
    site.add_staff("other@glow.example")
    sign_in = site.dashboard.sign_in
    others = attempt(sign_in, PASSWORD, email="other@glow.example").device_cookie
    for n in range(10):
        attempt(sign_in, f"attacker guess {n}", address=f"192.0.2.{n}")

    assert attempt(sign_in, PASSWORD, device=others).outcome == "throttled"
    assert attempt(sign_in, PASSWORD, device="1:abc.forged").outcome == "throttled"


def test_one_address_guessing_many_accounts_is_slowed(site: Site, clock: FakeClock) -> None:
    site.add_staff(NURSE)
    sign_in = site.dashboard.sign_in
    for n in range(21):
        attempt(sign_in, "password123456", email=f"guess{n}@glow.example")

    assert attempt(sign_in, PASSWORD).outcome == "throttled"  # from that address
    assert attempt(sign_in, PASSWORD, address="198.51.100.9").outcome == "signed_in"
    clock.advance(timedelta(seconds=31))
    assert attempt(sign_in, PASSWORD).outcome == "signed_in"


def test_an_unknown_email_is_throttled_exactly_like_a_known_one(site: Site) -> None:
    site.add_staff(NURSE)
    sign_in = site.dashboard.sign_in

    def outcomes(email: str) -> list[str]:
        return [
            attempt(sign_in, "wrong guess!!", email=email, address=f"192.0.2.{n}").outcome
            for n in range(7)
        ]

    assert outcomes(NURSE) == outcomes("nobody@glow.example")


def test_a_success_forgets_the_accounts_failures(site: Site) -> None:
    site.add_staff(NURSE)
    sign_in = site.dashboard.sign_in
    for n in range(5):
        attempt(sign_in, f"typo number {n}")
    assert attempt(sign_in, PASSWORD).outcome == "signed_in"

    for n in range(5):
        assert attempt(sign_in, f"typo again {n}").outcome == "failed"
    assert attempt(sign_in, PASSWORD).outcome == "signed_in"


def test_a_sign_in_upgrades_a_hash_made_with_older_parameters(site: Site, clock: FakeClock) -> None:
    site.add_staff(NURSE)  # hashed with the cheap test parameters
    stronger = Passwords()
    db = site.core.db
    sign_in = SignIn(
        site.accounts.store,
        site.dashboard.sessions,
        SignInThrottleStore(db),
        AuditLog(db),
        stronger,
        clock,
    )

    assert attempt(sign_in, PASSWORD).outcome == "signed_in"
    account = site.accounts.store.by_email(NURSE)
    assert account is not None
    assert not stronger.needs_rehash(account.password_hash)
    assert stronger.verify(account.password_hash, PASSWORD)
