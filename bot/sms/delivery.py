"""Twilio's message statuses, ordered so delivery receipts can arrive twice or out of order.

Twilio posts one status callback per transition, each in its own HTTP request, so they
can arrive in any order and more than once. A status is recorded only if it ranks above
the one already stored; the same status again changes nothing (idempotent).

Order: accepted/scheduled < queued < sending < sent < undelivered = failed = canceled
< delivered < read.

Undelivered and failed are terminal between themselves (the first one wins), but a later
`delivered` overrides them: a carrier's delivery receipt is positive evidence that the
phone got the message, while "undelivered" is sometimes reported before a late receipt.
Delivered is never downgraded. Pure, no I/O.
"""

from __future__ import annotations

RANK: dict[str, int] = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "partially_delivered": 4,
    "delivered": 5,
    "read": 6,
}

FAILED_STATUSES = frozenset({"undelivered", "failed"})

# Delivery error codes (posted with undelivered/failed) that say this number cannot take
# our texts: the recipient opted out, or the number does not exist / is a landline.
OPTED_OUT_CODES = frozenset({"21610"})
UNREACHABLE_CODES = frozenset({"30005", "30006"})


def is_known(status: str) -> bool:
    return status in RANK


def ranked_below(status: str) -> list[str]:
    """Stored statuses that `status` may replace."""
    rank = RANK[status]
    return sorted(name for name, other in RANK.items() if other < rank)


def supersedes(new: str, current: str | None) -> bool:
    """Whether a callback with status `new` should replace the stored `current`."""
    if current is None or current not in RANK:
        return True
    return RANK[new] > RANK[current]
