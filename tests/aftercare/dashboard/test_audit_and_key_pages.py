"""The API key page and the audit trail page over HTTP."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from clinic.keys import hash_api_key
from scheduler.clock import FakeClock
from storage.audit import AuditAction, AuditQuery
from storage.enrollment import EnrollmentStore
from tests.aftercare.dashboard.conftest import Site

ADMIN = "admin@glow.example"
KEY = re.compile(r'id="new-api-key">(ack_[A-Za-z0-9_-]+)<')


async def test_a_new_api_key_is_shown_once_and_replaces_the_old_one(site: Site) -> None:
    site.add_staff(ADMIN, "admin")
    store = EnrollmentStore(site.core.db)
    store.set_key_hash("glow", hash_api_key("ack_" + "old" * 10))
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        before = await admin.get("/app/settings/api-key")
        rotated = await admin.post_form("/app/settings/api-key")
        after = await admin.get("/app/settings/api-key")

    found = KEY.search(rotated.text)
    assert "This clinic has an API key." in before.text
    assert found
    key = found.group(1)
    assert key not in after.text
    glow = store.profile_for_key_hash(hash_api_key(key))
    assert glow is not None and glow.slug == "glow"
    assert store.profile_for_key_hash(hash_api_key("ack_" + "old" * 10)) is None
    (entry,) = site.dashboard.audit.entries(
        site.clinic.id, AuditQuery(action=AuditAction.API_KEY_ROTATE), 5
    )
    assert (entry.actor, entry.target_kind, entry.target_id) == (ADMIN, "clinic", "glow")
    assert key not in str(entry)


async def seed_trail(site: Site, clock: FakeClock) -> None:
    audit = site.dashboard.audit
    start = clock.now()
    for hours, actor, action, target in [
        (1, "nurse@glow.example", AuditAction.PATIENT_VIEW, "17"),
        (25, "nurse@glow.example", AuditAction.ESCALATION_REPLY, "3"),
        (49, "=HYPERLINK(evil)@glow.example", AuditAction.PATIENT_VIEW, "+44"),
    ]:
        kind = "patient" if action == AuditAction.PATIENT_VIEW else "escalation"
        audit.record(
            start + timedelta(hours=hours), site.clinic.id, 9, action, kind, target, actor=actor
        )
    audit.record(start, site.other.id, 10, AuditAction.PATIENT_VIEW, "patient", "99", actor="z@o.x")


async def test_the_trail_lists_this_clinics_entries_newest_first_in_its_time(
    site: Site, clock: FakeClock
) -> None:
    site.add_staff(ADMIN, "admin")
    await seed_trail(site, clock)
    clock.advance(timedelta(hours=50))
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        page = await admin.get("/app/audit")

    assert page.status_code == 200
    assert "Times in America/New York." in page.text
    rows = re.findall(r"<tr>\s*<td data-label=\"When\">(.*?)</tr>", page.text, re.S)
    assert len(rows) == 5  # the admin's sign-in, three seeded, the admin's account made
    assert "Signed in" in rows[0]
    assert "4 Mar 2026, 11:00" in rows[1]  # 49 h after 10:00 on 2 March, in New York
    assert "Replied to patient" in rows[2] and "escalation 3" in rows[2]
    assert "Added staff member" in rows[4] and "command line" in rows[4]
    assert "z@o.x" not in page.text and "patient 99" not in page.text


async def test_the_trail_is_filtered_by_who_action_and_days(site: Site, clock: FakeClock) -> None:
    site.add_staff(ADMIN, "admin")
    await seed_trail(site, clock)
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        by_who = await admin.get("/app/audit", params={"who": "nurse@glow.example"})
        by_action = await admin.get("/app/audit", params={"action": "patient.view"})
        by_day = await admin.get("/app/audit", params={"from": "2026-03-03", "to": "2026-03-03"})
        bad_day = await admin.get("/app/audit", params={"from": "yesterday"})

    assert by_who.text.count('data-label="When"') == 2
    assert by_action.text.count('data-label="When"') == 2
    assert by_day.text.count('data-label="When"') == 1  # 3 March in New York
    assert "Replied to patient" in by_day.text
    assert 'value="2026-03-03"' in by_day.text  # the form keeps the filter
    assert "is not a date (YYYY-MM-DD); it was ignored." in bad_day.text
    assert bad_day.text.count('data-label="When"') == 5


async def test_the_trail_pages_back_fifty_at_a_time(site: Site, clock: FakeClock) -> None:
    site.add_staff(ADMIN, "admin")
    for minute in range(60):
        site.dashboard.audit.record(
            clock.now() + timedelta(minutes=minute), site.clinic.id, 1, AuditAction.SIGN_IN
        )
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        first = await admin.get("/app/audit?action=signin")
        older = re.search(r'href="(/app/audit\?[^"]*before=\d+)"', first.text)
        assert older
        second = await admin.get(older.group(1).replace("&amp;", "&"))

    assert first.text.count('data-label="When"') == 50
    assert second.text.count('data-label="When"') == 11  # the rest, with the admin's sign-in
    assert "Newest entries" in second.text


async def test_the_export_is_the_filtered_trail_as_formula_safe_csv(
    site: Site, clock: FakeClock
) -> None:
    site.add_staff(ADMIN, "admin")
    await seed_trail(site, clock)
    async with site.client() as admin:
        await admin.sign_in(ADMIN)
        page = await admin.get("/app/audit?action=patient.view")
        link = re.search(r'href="(/app/audit\.csv[^"]*)"', page.text)
        assert link
        export = await admin.get(link.group(1).replace("&amp;", "&"))

    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert 'filename="audit-glow-2026-03-02.csv"' in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["time", "time_utc", "who", "action", "record_kind", "record_id", "address"]
    assert [(r[2], r[3], r[5]) for r in rows[1:]] == [
        ("'=HYPERLINK(evil)@glow.example", "patient.view", "'+44"),
        ("nurse@glow.example", "patient.view", "17"),
    ]
    assert rows[2][0] == "2026-03-02T11:00:00-05:00"
    exported = site.dashboard.audit.entries(
        site.clinic.id, AuditQuery(action=AuditAction.AUDIT_EXPORT), 5
    )
    assert [e.actor for e in exported] == [ADMIN]
