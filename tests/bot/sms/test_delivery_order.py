"""The order in which delivery statuses may replace each other."""

from __future__ import annotations

import pytest

from bot.sms.delivery import RANK, ranked_below, supersedes


@pytest.mark.parametrize(
    ("current", "new", "replaced"),
    [
        (None, "queued", True),
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "sent", False),
        ("delivered", "queued", False),
        ("delivered", "undelivered", False),
        ("delivered", "delivered", False),
        ("sent", "sent", False),
        ("undelivered", "sent", False),
        ("undelivered", "failed", False),
        ("undelivered", "delivered", True),
        ("failed", "delivered", True),
        ("delivered", "read", True),
    ],
)
def test_supersedes(current: str | None, new: str, replaced: bool) -> None:
    assert supersedes(new, current) is replaced


@pytest.mark.parametrize("status", list(RANK))
def test_ranked_below_agrees_with_supersedes(status: str) -> None:
    below = set(ranked_below(status))
    assert below == {other for other in RANK if supersedes(status, other)}
    assert status not in below
