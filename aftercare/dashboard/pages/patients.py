"""/app/patients: the clinic's patients, searched (name, external id, phone), filtered by
status and paged newest first; /app/patients/{external_id}: one patient's recovery
timeline, check-in answers, conversation and escalations, with the actions staff take.

Opening a patient and every action are audited (ids only). Nurses may pause and resume,
change the channel and make a new Telegram invite link; correcting the treatment time and
erasing are for admins (ACTION_ROLES). Another clinic's patient answers 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.auth import SignedIn, not_found, require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.notices import notices_from, with_notice
from aftercare.dashboard.patient_page import PatientPage, build_patient_page
from aftercare.dashboard.patient_views import list_row, milestone_label, patient_path
from aftercare.dashboard.rendering import NoticeKind, render
from aftercare.dashboard.strings import text
from aftercare.dashboard.treatment_time import Rescheduling, crossed_session, preview, save
from aftercare.wiring import invite_links
from clinic.dates import import_window, parse_treatment_at, treatment_window_problem
from storage.audit import AuditAction
from storage.patient_record import PatientRecord, PatientRecords
from storage.patient_search import QUERY_MAX, Cursor, PatientQuery, PatientSearch, search_terms
from storage.patient_status import PatientStatus
from storage.patients import ClinicView

TARGET: Final = "patient"
MAX_ID: Final = 2**31 - 1
Role = Literal["admin", "nurse"]
# Who may do what on a patient's page (None: every signed-in staff member).
ACTION_ROLES: Final[dict[str, Role | None]] = {
    "pause": None,
    "channel": None,
    "invite": None,
    "treatment": "admin",
    "erase": "admin",
}


def _cursor(params: Mapping[str, str], name: str) -> Cursor | None:
    """A page cursor from the query string (`after=17&after_name=ana`); junk is ignored."""
    value = params.get(name, "")
    if not (value.isdigit() and len(value) < 11 and int(value) <= MAX_ID):
        return None
    key = params.get(f"{name}_name")
    return Cursor(int(value), key[:QUERY_MAX] if key is not None else None)


def _cursor_params(name: str, cursor: Cursor) -> dict[str, str]:
    found = {name: str(cursor.id)}
    if cursor.name is not None:
        found[f"{name}_name"] = cursor.name
    return found


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    core = dashboard.core
    search = PatientSearch(dashboard.db)
    records = PatientRecords(dashboard.db)
    span = import_window(core.protocol)  # a treatment older than this has nothing left to send

    async def clinic_of(staff: SignedIn) -> ClinicView:
        return await asyncio.to_thread(core.patients.clinic, staff.clinic_slug)

    async def listing(request: Request) -> Response:
        staff = await require_staff(request)
        params = request.query_params
        typed = params.get("q", "")[:QUERY_MAX]
        status_value = params.get("status", "")
        status = PatientStatus(status_value) if status_value in set(PatientStatus) else None
        clinic = await clinic_of(staff)
        now = dashboard.clock.now()
        query = PatientQuery(
            completed_before=now - span,
            now=now,
            terms=search_terms(typed, clinic.country),
            status=status,
            after=_cursor(params, "after"),
            before=_cursor(params, "before"),
        )
        page = await asyncio.to_thread(search.page, staff.clinic_id, query)
        chosen = {"q": typed.strip(), "status": status.value if status else ""}
        kept = {name: value for name, value in chosen.items() if value}

        def link(name: str, cursor: Cursor | None) -> str | None:
            if cursor is None:
                return None
            return "/app/patients?" + urlencode({**kept, **_cursor_params(name, cursor)})

        return await render(
            request,
            "patients.html",
            staff=staff,
            nav_active="patients",
            chosen=chosen,
            statuses=[(s.value, text(f"patients.status.{s.value}")) for s in PatientStatus],
            rows=[list_row(row, now, staff.zone, clinic.country) for row in page.rows],
            searched=bool(kept),
            previous_url=link("before", page.previous),
            next_url=link("after", page.next),
            zone_name=staff.zone.key.replace("_", " "),
        )

    async def record_of(request: Request, staff: SignedIn) -> PatientRecord:
        external_id = request.path_params["external_id"]
        now = dashboard.clock.now()
        record = await asyncio.to_thread(records.get, staff.clinic_id, external_id, now)
        if record is None:
            raise not_found()
        staff.own(record.clinic_id)
        return record

    async def page_of(staff: SignedIn, record: PatientRecord) -> PatientPage:
        clinic = await clinic_of(staff)
        return await asyncio.to_thread(
            build_patient_page,
            core,
            record,
            clinic,
            staff.zone,
            dashboard.clock.now(),
            span,
        )

    async def show(
        request: Request,
        staff: SignedIn,
        record: PatientRecord,
        *,
        status: int = 200,
        notices: list[tuple[NoticeKind, str]] | None = None,
        **extra: Any,
    ) -> Response:
        page = await page_of(staff, record)
        values: dict[str, Any] = {
            "invite_link": None,
            "treatment_value": "",
            "treatment_error": "",
            **extra,
        }
        return await render(
            request,
            "patient.html",
            staff=staff,
            status=status,
            nav_active="patients",
            notices=[*notices_from(request), *(notices or [])],
            p=page,
            zone_name=staff.zone.key.replace("_", " "),
            may={
                action: role is None or staff.role == role for action, role in ACTION_ROLES.items()
            },
            invites_enabled=invite_links(dashboard.settings.telegram_bot_username) is not None,
            **values,
        )

    def audit_hook(
        staff: SignedIn, action: AuditAction, record: PatientRecord
    ) -> Callable[[Session], None]:
        return lambda session: staff.audit_in(session, action, TARGET, record.id)

    async def acting(request: Request, action: str) -> tuple[SignedIn, Any, PatientRecord]:
        """The staff member (allowed to take `action`), their form, and the patient."""
        staff = await require_staff(request, ACTION_ROLES[action])
        form = await staff.form(request)
        return staff, form, await record_of(request, staff)

    def done(record: PatientRecord, notice: str) -> Response:
        return RedirectResponse(with_notice(patient_path(record.external_id), notice), 303)

    async def refused(
        request: Request, staff: SignedIn, record: PatientRecord, key: str, status: int = 409
    ) -> Response:
        return await show(request, staff, record, status=status, notices=[("error", text(key))])

    async def detail(request: Request) -> Response:
        staff = await require_staff(request)
        record = await record_of(request, staff)
        await staff.audit(AuditAction.PATIENT_VIEW, TARGET, record.id)
        return await show(request, staff, record)

    async def pause(request: Request) -> Response:
        return await set_paused(request, True)

    async def resume(request: Request) -> Response:
        return await set_paused(request, False)

    async def set_paused(request: Request, paused: bool) -> Response:
        staff, _form, record = await acting(request, "pause")
        action = AuditAction.PATIENT_PAUSE if paused else AuditAction.PATIENT_RESUME
        changed = await asyncio.to_thread(
            records.set_paused,
            staff.clinic_id,
            record.id,
            paused,
            dashboard.clock.now(),
            audit_hook(staff, action, record),
        )
        if not changed:
            return await refused(request, staff, record, "patients.refused.erased")
        return done(record, "patients.paused" if paused else "patients.resumed")

    async def channel(request: Request) -> Response:
        staff, form, record = await acting(request, "channel")
        problem = await asyncio.to_thread(
            records.set_channel,
            staff.clinic_id,
            record.id,
            form.get("channel"),
            dashboard.clock.now(),
            audit_hook(staff, AuditAction.PATIENT_CHANNEL, record),
        )
        if problem is not None:
            return await refused(request, staff, record, f"patients.channel_problem.{problem}", 400)
        return done(record, "patients.channel_changed")

    async def invite(request: Request) -> Response:
        staff, _form, record = await acting(request, "invite")
        link = invite_links(dashboard.settings.telegram_bot_username)
        if link is None:
            return await refused(request, staff, record, "patients.invite.disabled")
        token = await asyncio.to_thread(
            records.new_invite,
            staff.clinic_id,
            record.id,
            dashboard.clock.now(),
            timedelta(hours=dashboard.settings.invite_ttl_hours),
            audit_hook(staff, AuditAction.PATIENT_INVITE, record),
        )
        if token is None:
            return await refused(request, staff, record, "patients.invite.not_needed")
        record = await record_of(request, staff)
        return await show(
            request,
            staff,
            record,
            notices=[("success", text("patients.invite.made"))],
            invite_link=link(token),
        )

    def treatment_change(
        record: PatientRecord, typed: str, zone: ZoneInfo, now: datetime
    ) -> Rescheduling | str:
        """The correction typed (in the clinic's zone), or why it cannot be made."""
        if record.treatment is None or record.erased_at is not None:
            return text("patients.treatment.none")
        try:
            treated_at = parse_treatment_at(typed, zone)
        except ValueError as exc:
            return text("patients.treatment.unreadable", reason=str(exc))
        own = core.protocols.get(record.treatment.protocol, core.protocol)  # its version
        problem = treatment_window_problem(treated_at, now, own)
        if problem is not None:
            return text("patients.treatment.refused", reason=problem)
        crossed = crossed_session(record.sessions, record.treatment, treated_at)
        if crossed is not None:
            return text("patients.treatment.crosses", when=local_time(crossed.performed_at, zone))
        return Rescheduling(
            record.treatment.id, record.id, ZoneInfo(record.timezone), record.channel, treated_at
        )

    async def treatment_preview(request: Request) -> Response:
        staff = await require_staff(request, ACTION_ROLES["treatment"])
        record = await record_of(request, staff)
        typed = request.query_params.get("at", "")[:40]
        now = dashboard.clock.now()
        change = treatment_change(record, typed, staff.zone, now)
        if isinstance(change, str):
            return await show(
                request, staff, record, status=400, treatment_value=typed, treatment_error=change
            )
        found = await asyncio.to_thread(preview, dashboard.db, core.planner, change, now)
        assert record.treatment is not None
        protocol = core.protocols.get(record.treatment.protocol, core.protocol)
        return await render(
            request,
            "patient_treatment.html",
            staff=staff,
            nav_active="patients",
            p=await page_of(staff, record),
            typed=typed,
            before=local_time(record.treatment.performed_at, staff.zone),
            after=local_time(change.treated_at, staff.zone),
            changes=[
                {
                    "label": milestone_label(c.milestone, protocol),
                    "kind": c.kind,
                    "kind_label": text(f"patients.change.{c.kind}"),
                    "before": local_time(c.before, staff.zone) if c.before else "",
                    "after": local_time(c.after, staff.zone) if c.after else "",
                    "state": c.status,
                }
                for c in found
            ],
        )

    async def treatment_save(request: Request) -> Response:
        staff, form, record = await acting(request, "treatment")
        typed = form.get("at")[:40]
        now = dashboard.clock.now()
        change = treatment_change(record, typed, staff.zone, now)
        if isinstance(change, str):
            return await show(
                request, staff, record, status=400, treatment_value=typed, treatment_error=change
            )
        hook = audit_hook(staff, AuditAction.PATIENT_TREATMENT, record)
        await asyncio.to_thread(save, dashboard.db, core.planner, change, now, hook)
        return done(record, "patients.treatment.changed")

    async def erase_confirm(request: Request) -> Response:
        staff = await require_staff(request, ACTION_ROLES["erase"])
        record = await record_of(request, staff)
        return await render(
            request,
            "patient_erase.html",
            staff=staff,
            nav_active="patients",
            p=await page_of(staff, record),
        )

    async def erase(request: Request) -> Response:
        staff, form, record = await acting(request, "erase")
        if form.get("confirm") != "erase":
            return RedirectResponse(patient_path(record.external_id, "erase"), 303)
        await asyncio.to_thread(
            records.erase,
            staff.clinic_id,
            record.id,
            dashboard.clock.now(),
            audit_hook(staff, AuditAction.PATIENT_ERASE, record),
        )
        return done(record, "patients.erased")

    # The actions come first: an external id may itself contain "/".
    return [
        Route("/app/patients", listing, methods=["GET"]),
        Route("/app/patients/{external_id:path}/pause", pause, methods=["POST"]),
        Route("/app/patients/{external_id:path}/resume", resume, methods=["POST"]),
        Route("/app/patients/{external_id:path}/channel", channel, methods=["POST"]),
        Route("/app/patients/{external_id:path}/invite", invite, methods=["POST"]),
        Route("/app/patients/{external_id:path}/treatment", treatment_preview, methods=["GET"]),
        Route("/app/patients/{external_id:path}/treatment", treatment_save, methods=["POST"]),
        Route("/app/patients/{external_id:path}/erase", erase_confirm, methods=["GET"]),
        Route("/app/patients/{external_id:path}/erase", erase, methods=["POST"]),
        Route("/app/patients/{external_id:path}", detail, methods=["GET"]),
    ]
