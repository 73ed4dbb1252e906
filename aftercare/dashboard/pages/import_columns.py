"""/app/import/columns (admins): the clinic's own names for the import's columns, as
`aftercare clinic columns SLUG --map ...` sets them, shown and changed in a form.

    GET  /app/import/columns[?token=T]    the form (T: an upload whose header lacked a
                                          required column: its header cells are offered)
    POST /app/import/columns              save (CSRF, audited); with T, check T again

Saving with the token of such an upload checks that file again with the new names and
goes to its preview, so nobody has to upload it twice. (This module sorts before
imports.py, so its routes come before /app/import/{token}.)
"""

from __future__ import annotations

import asyncio
from typing import Final

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import SignedIn, require_staff
from aftercare.dashboard.column_form import (
    FIELD_PREFIX,
    form_fields,
    header_problem,
    mapping_problems,
    read_mapping,
)
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.import_jobs import ImportJob, State
from aftercare.dashboard.notices import with_notice
from aftercare.dashboard.pages.imports import TOKEN, column_meaning, owner
from aftercare.dashboard.rendering import render
from aftercare.dashboard.strings import text
from clinic.csv_rows import COLUMNS
from storage.audit import AuditAction
from storage.clinic_columns import column_map, save_column_map

PATH: Final = "/app/import/columns"


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    jobs = dashboard.imports
    meanings = {column: column_meaning(column) for column in COLUMNS}

    def failed_upload(staff: SignedIn, token: str) -> ImportJob | None:
        """The session's upload whose header could not be read, if `token` names one."""
        job = jobs.get(token, owner(staff)) if TOKEN.match(token) else None
        if job is None or job.state != State.FAILED or not job.header:
            return None
        return job

    async def page(
        request: Request,
        staff: SignedIn,
        mapping: dict[str, str],
        *,
        job: ImportJob | None,
        problems: dict[str, str] | None = None,
        error: str = "",
        status: int = 200,
    ) -> Response:
        return await render(
            request,
            "import_columns.html",
            staff=staff,
            status=status,
            nav_active="import",
            fields=form_fields(mapping, problems or {}, meanings),
            found=list(job.header) if job else [],
            filename=job.filename if job else "",
            token=job.token if job else "",
            error=error,
        )

    async def show(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        saved = await asyncio.to_thread(column_map, dashboard.db, staff.clinic_slug)
        job = failed_upload(staff, request.query_params.get("token", ""))
        return await page(request, staff, saved, job=job)

    async def save(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        form = await staff.form(request)
        mapping = read_mapping({FIELD_PREFIX + c: form.get(FIELD_PREFIX + c) for c in COLUMNS})
        job = failed_upload(staff, form.get("token"))
        problems = mapping_problems(mapping)
        still = header_problem(job.header, mapping) if job and not problems else ""
        if problems or still:
            error = text("columns.not_saved") if problems else still
            return await page(
                request, staff, mapping, job=job, problems=problems, error=error, status=400
            )

        def audit(session: Session, _clinic_id: int) -> None:
            staff.audit_in(session, AuditAction.IMPORT_COLUMNS, "clinic", staff.clinic_slug)

        await asyncio.to_thread(save_column_map, dashboard.db, staff.clinic_slug, mapping, audit)
        if job is not None:
            clinic = await asyncio.to_thread(jobs.importer.store.profile, staff.clinic_slug)
            if jobs.recheck(job, clinic):
                return RedirectResponse(f"/app/import/{job.token}", status_code=303)
        return RedirectResponse(with_notice("/app/import", "import.columns_saved"), 303)

    return [
        Route(PATH, show, methods=["GET"]),
        Route(PATH, save, methods=["POST"]),
    ]
