"""Numbers that have had an SMS from us, kept by hash and kept after erasure."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from aftercare.wiring import Core
from storage.models import SmsFirstContact
from storage.sms_numbers import SmsFirstContacts, number_hash
from tests.conftest import T0

ANA, BEN = "+15550001111", "+15550002222"


def test_a_number_is_new_until_it_is_marked_and_marking_twice_keeps_the_first_time(
    core: Core,
) -> None:
    numbers = SmsFirstContacts(core.db)
    assert numbers.never_texted([ANA, BEN, ANA]) == {ANA, BEN}

    numbers.mark([ANA], T0)
    numbers.mark([ANA, BEN], T0 + timedelta(hours=1))  # two engines, or two patients

    assert numbers.never_texted([ANA, BEN]) == set()
    assert numbers.never_texted([]) == set()
    with core.db.session() as session:
        rows = {r.number_hash: r.first_sent_at for r in session.scalars(select(SmsFirstContact))}
    # Only hashes are stored, never the number itself.
    assert rows == {number_hash(ANA): T0, number_hash(BEN): T0 + timedelta(hours=1)}
    assert ANA not in str(rows) and "5550001111" not in str(rows)
