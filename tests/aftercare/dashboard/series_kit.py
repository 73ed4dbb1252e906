"""A treatment series as a clinic books it, for the dashboard's session views: the clinic's
booking exports imported through the real importer, each at the moment it was exported.

`book_a_series` leaves, at the clock's time:

- Ana (C-1): session A-1 five weeks ago (ended), A-2 two days ago (her active plan), A-3
  booked for next week and then cancelled, A-4 booked three weeks ahead (upcoming);
- Bea (C-2): only B-1, booked three days ahead.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aftercare.wiring import Core
from clinic.importer import Importer
from scheduler.clock import FakeClock
from storage.enrollment import EnrollmentStore

NEW_YORK = ZoneInfo("America/New_York")
HEADER = "Client ID,First name,Mobile,Start Time,Appointment ID,Service,Status\n"
ANA = "C-1,Ana,(212) 555-0101"
BEA = "C-2,Bea,(212) 555-0102"


def local(moment: datetime) -> str:
    """A time as the booking system exports it: wall-clock in New York."""
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")


def import_bookings(core: Core, slug: str, rows: list[str]) -> None:
    """One booking export, imported now (by the planner's clock); every row must import."""
    store = EnrollmentStore(core.db)
    importer = Importer(store, core.planner, invite_ttl=timedelta(days=14), invite_link=None)
    data = (HEADER + "".join(f"{row}\n" for row in rows)).encode()
    result = importer.run(store.profile(slug), io.BytesIO(data))
    assert result.rejected == 0, result.as_dict()["errors"]


def book_a_series(core: Core, clock: FakeClock, slug: str) -> datetime:
    """The series above; returns the clock's time (left as it was)."""
    now = clock.now()
    first = now - timedelta(days=35, hours=2)
    second = now - timedelta(days=2, hours=2)
    cancelled = now + timedelta(days=7)
    upcoming = now + timedelta(days=21)
    clock.set(first + timedelta(hours=1))
    import_bookings(core, slug, [f"{ANA},{local(first)},A-1,Microneedling,Completed"])
    clock.set(now - timedelta(days=2))
    import_bookings(core, slug, [f"{ANA},{local(cancelled)},A-3,Microneedling,Booked"])
    import_bookings(core, slug, [f"{ANA},{local(second)},A-2,Microneedling,Completed"])
    clock.set(now)
    import_bookings(core, slug, [f"{ANA},{local(cancelled)},A-3,Microneedling,Cancelled"])
    import_bookings(core, slug, [f"{ANA},{local(upcoming)},A-4,Microneedling,Booked"])
    booked = now + timedelta(days=3)
    import_bookings(core, slug, [f"{BEA},{local(booked)},B-1,Microneedling with PRP,Booked"])
    return now
