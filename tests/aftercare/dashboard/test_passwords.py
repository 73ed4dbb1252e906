"""Staff passwords: Argon2id hashes, the length rule, one-time passwords."""

from __future__ import annotations

import re

import pytest

from aftercare.dashboard.passwords import (
    MIN_LENGTH,
    Passwords,
    one_time_password,
    password_problem,
)
from tests.aftercare.dashboard.conftest import CHEAP_PASSWORDS


def test_the_service_hashes_with_argon2id_default_parameters() -> None:
    passwords = Passwords()
    hashed = passwords.hash("correct horse battery")

    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse" not in hashed
    assert passwords.verify(hashed, "correct horse battery")
    assert not passwords.verify(hashed, "correct horse batterY")
    assert not passwords.needs_rehash(hashed)


def test_a_hash_made_with_older_parameters_is_due_for_rehashing() -> None:
    old = CHEAP_PASSWORDS.hash("correct horse battery")

    assert Passwords().needs_rehash(old)
    assert Passwords().verify(old, "correct horse battery")  # still accepted meanwhile


def test_the_same_password_hashes_differently_each_time() -> None:
    assert CHEAP_PASSWORDS.hash("correct horse battery") != CHEAP_PASSWORDS.hash(
        "correct horse battery"
    )


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("x" * (MIN_LENGTH - 1), "at least 12 characters"),
        (" " * 20, "only spaces"),
        ("x" * 1025, "at most 1024 characters"),
    ],
)
def test_weak_or_absurd_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    assert problem in (password_problem(password) or "")
    with pytest.raises(ValueError, match=problem):
        CHEAP_PASSWORDS.hash(password)


def test_twelve_characters_are_enough() -> None:
    assert password_problem("x" * MIN_LENGTH) is None


def test_garbage_in_place_of_a_hash_verifies_nothing() -> None:
    assert not CHEAP_PASSWORDS.verify("not a hash", "correct horse battery")
    assert not CHEAP_PASSWORDS.verify(CHEAP_PASSWORDS.hash("y" * 12), "y" * 5000)


def test_one_time_passwords_are_long_readable_and_different() -> None:
    made = {one_time_password() for _ in range(200)}

    assert len(made) == 200
    for password in made:
        assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", password)
        assert not set(password) & set("01lio8")  # no look-alikes
        assert password_problem(password) is None
