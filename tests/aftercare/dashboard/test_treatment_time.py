"""Which corrections of a treatment time keep a patient's sessions in their order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftercare.dashboard.treatment_time import crossed_session
from storage.patient_record import SessionLine

DAY = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


def session(id_: int, days: int, *, cancelled: bool = False) -> SessionLine:
    at = DAY + timedelta(days=days)
    return SessionLine(id_, at, at, None, "builtin", at if cancelled else None)


EARLIER, CURRENT, BOOKED = session(1, -30), session(2, 0), session(3, 7)
SESSIONS = [BOOKED, CURRENT, EARLIER]  # newest first, as the patient page reads them


@pytest.mark.parametrize(
    ("days", "crossed"),
    [
        (-1, None),  # a day earlier: still after the earlier session
        (6, None),  # still before the booked one
        (7, BOOKED),  # onto it
        (8, BOOKED),  # past it
        (-30, EARLIER),
        (-31, EARLIER),
    ],
)
def test_a_correction_may_not_reach_or_pass_another_session(
    days: int, crossed: SessionLine | None
) -> None:
    assert crossed_session(SESSIONS, CURRENT, DAY + timedelta(days=days)) == crossed


def test_cancelled_sessions_are_no_bounds() -> None:
    cancelled = session(3, 7, cancelled=True)
    assert crossed_session([cancelled, CURRENT], CURRENT, DAY + timedelta(days=8)) is None
