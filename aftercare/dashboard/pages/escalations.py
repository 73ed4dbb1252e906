"""/app/escalations/{id}: one escalation with the whole conversation, a reply form and
resolving.

A reply goes into the reminder outbox (milestone "staff_reply"), so the dispatcher sends
it like any reminder: rate-limited, retried, recorded with its delivery status, never to
a patient who opted out. This process's dispatcher is woken at once; another engine
picks the reply up within a sweep. Opening, replying and resolving are audited (ids
only); who replied and who resolved are kept on the records themselves too.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.audit_rows import local_time
from aftercare.dashboard.auth import SignedIn, not_found, require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.conversation_view import Renderer, bubbles, channel_label
from aftercare.dashboard.escalation_rows import ago, category_label, category_style, patient_name
from aftercare.dashboard.notices import notices_from, with_notice
from aftercare.dashboard.patient_views import patient_path, phone_display
from aftercare.dashboard.rendering import render
from aftercare.dashboard.strings import text
from messages.render import RenderContext
from messages.staff_replies import MAX_CHARS, normalise
from messages.staff_replies import problem as reply_problem
from storage.audit import AuditAction
from storage.escalations import (
    NOTE_MAX_CHARS,
    EscalationRecord,
    EscalationRepository,
    QueuedReply,
)
from storage.patient_messages import patient_messages

MAX_ID: Final = 2**31 - 1  # an INTEGER column: a larger id is simply not there
TARGET: Final = "escalation"


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    escalations = EscalationRepository(dashboard.db)
    core = dashboard.core

    async def record_of(request: Request, staff: SignedIn) -> EscalationRecord:
        """The escalation named in the URL: 404 unless it is one of this clinic's."""
        escalation_id = request.path_params["escalation_id"]
        if escalation_id > MAX_ID:
            raise not_found()
        record = await asyncio.to_thread(escalations.get, staff.clinic_id, escalation_id)
        if record is None:
            raise not_found()
        staff.own(record.clinic_id)
        return record

    async def page(
        request: Request,
        staff: SignedIn,
        record: EscalationRecord,
        *,
        status: int = 200,
        reply_text: str = "",
        reply_error: str = "",
    ) -> Response:
        clinic = await asyncio.to_thread(core.patients.clinic, staff.clinic_slug)
        patient = record.patient
        conversation: list[Any] = []
        if patient is not None:
            messages = await asyncio.to_thread(patient_messages, dashboard.db, patient.id)
            renderer = Renderer(
                core.protocols,
                core.protocol,
                RenderContext(
                    patient.first_name,
                    clinic.name,
                    clinic.phone,
                    patient.language,
                    emergency_number=core.settings.emergency_number,
                ),
                patient.timezone,
            )
            conversation = bubbles(messages, renderer, staff.zone, record.conversation_id)
        now = dashboard.clock.now()
        reply_channel = patient.reply_channel if patient is not None else None
        return await render(
            request,
            "escalation.html",
            staff=staff,
            status=status,
            nav_active="inbox",
            notices=notices_from(request),
            escalation=record,
            title=patient_name(
                patient.first_name if patient else None,
                patient.erased if patient else False,
                patient is not None,
            ),
            category=category_label(record.category),
            category_class=category_style(record.category),
            received=local_time(record.created_at, staff.zone),
            received_iso=record.created_at.astimezone(staff.zone).isoformat(timespec="seconds"),
            received_ago=ago(record.created_at, now),
            resolved=local_time(record.resolved_at, staff.zone) if record.resolved_at else "",
            patient=patient,
            patient_link=patient_path(patient.external_id) if patient else "",
            phone=phone_display(patient.phone, clinic.country) if patient else "",
            patient_channel=channel_label(patient.channel) if patient else "",
            others=[
                (other_id, category_label(category), ago(created, now))
                for other_id, category, created in record.others_open
            ],
            conversation=conversation,
            zone=staff.zone.key.replace("_", " "),
            reply_channel=reply_channel,
            refusal=_refusal(record, reply_channel),
            reply_text=reply_text,
            reply_error=reply_error,
            reply_max=MAX_CHARS,
            note_max=NOTE_MAX_CHARS,
        )

    async def show(request: Request) -> Response:
        staff = await require_staff(request)
        record = await record_of(request, staff)
        await staff.audit(AuditAction.ESCALATION_VIEW, TARGET, record.id)
        return await page(request, staff, record)

    async def reply(request: Request) -> Response:
        staff = await require_staff(request)
        form = await staff.form(request)
        record = await record_of(request, staff)
        body = normalise(form.get("text"))
        channel = record.patient.reply_channel if record.patient is not None else None
        refusal = _refusal(record, channel)
        if refusal or channel is None:
            return await page(request, staff, record, status=409, reply_text=body)
        problem = reply_problem(body, channel)
        if problem is not None:
            message = text(f"reply.problem.{problem.kind}", **problem.values)
            return await page(
                request, staff, record, status=400, reply_text=body, reply_error=message
            )
        queued = await asyncio.to_thread(
            escalations.queue_reply,
            staff.clinic_id,
            record.id,
            body,
            staff.staff_id,
            staff.email,
            dashboard.clock.now(),
            channel,
            lambda session: staff.audit_in(
                session, AuditAction.ESCALATION_REPLY, TARGET, record.id
            ),
        )
        if queued is None:
            raise not_found()
        if not isinstance(queued, QueuedReply):
            message = text(f"reply.refused.{queued.reason}")
            return await page(
                request, staff, record, status=409, reply_text=body, reply_error=message
            )
        # Woken now, this process's dispatcher sends it at once, quiet hours or not.
        dashboard.runtime.service.notify(queued.wake_at)
        path = f"/app/escalations/{record.id}"
        return RedirectResponse(with_notice(path, "reply.queued") + "#conversation", 303)

    async def resolve(request: Request) -> Response:
        staff = await require_staff(request)
        form = await staff.form(request)
        record = await record_of(request, staff)
        note = normalise(form.get("note"))[:NOTE_MAX_CHARS]
        resolved = await asyncio.to_thread(
            escalations.resolve,
            staff.clinic_id,
            record.id,
            note or None,
            staff.staff_id,
            staff.email,
            dashboard.clock.now(),
            lambda session: staff.audit_in(
                session, AuditAction.ESCALATION_RESOLVE, TARGET, record.id
            ),
        )
        if resolved is None:
            raise not_found()
        if not resolved:
            path = with_notice(f"/app/escalations/{record.id}", "resolve.already")
            return RedirectResponse(path, 303)
        return RedirectResponse(with_notice("/app", "resolve.done"), 303)

    return [
        Route("/app/escalations/{escalation_id:int}", show, methods=["GET"]),
        Route("/app/escalations/{escalation_id:int}/reply", reply, methods=["POST"]),
        Route("/app/escalations/{escalation_id:int}/resolve", resolve, methods=["POST"]),
    ]


def _refusal(record: EscalationRecord, channel: str | None) -> str:
    """Why no reply can be sent to this patient now ("" if one can)."""
    patient = record.patient
    if patient is None or patient.erased:
        return text("reply.refused.erased")
    if channel is None:
        return text("reply.refused.no_channel")
    return ""
