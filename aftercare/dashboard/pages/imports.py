"""/app/import (admins): upload a CSV, see a dry-run preview, then import that same file.

    GET  /app/import                      the upload form
    POST /app/import                      multipart upload (streamed, capped) -> a job
    GET  /app/import/{token}              the job: progress, preview, result or problem
    GET  /app/import/{token}/progress     the same progress as JSON, for import.js
    POST /app/import/{token}              "Import": apply the checked file
    POST /app/import/{token}/discard      forget the upload
    GET  /app/import/{token}/check.csv    the dry run's per-row report
    GET  /app/import/{token}/report.csv   the import's per-row report (with invite links)

The work runs in ImportJobs' worker threads; these handlers only read a job's state. A
token works only in the session that uploaded the file (anywhere else it is not found).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.auth import CSRF_FIELD, CSRF_HEADER, SignedIn, require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.import_jobs import ImportJob, Owner, TooManyImports
from aftercare.dashboard.import_views import file_size, job_view, progress_view
from aftercare.dashboard.notices import notices_from
from aftercare.dashboard.rendering import render
from aftercare.dashboard.strings import EN, text
from bot.http_body import BodyTooLarge, UnsupportedMediaType
from clinic.csv_rows import COLUMNS
from clinic.upload import MalformedUpload, read_upload_form
from storage.audit import AuditAction
from storage.clinic_columns import column_map

TOKEN: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def column_meaning(name: str) -> str:
    key = f"import.column.{name}"
    return text(key) if key in EN else ""


def owner(staff: SignedIn) -> Owner:
    return Owner(staff.clinic_id, staff.staff_id, staff.session.session_id)


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    jobs = dashboard.imports
    ttl_minutes = int(jobs.ttl.total_seconds() // 60)

    def size_limit() -> str:
        return file_size(jobs.importer.limits.max_bytes)

    async def upload_page(
        request: Request, staff: SignedIn, *, status: int = 200, error: str = "", notice: str = ""
    ) -> Response:
        own_names = await asyncio.to_thread(column_map, dashboard.db, staff.clinic_slug)
        return await render(
            request,
            "import.html",
            staff=staff,
            status=status,
            nav_active="import",
            notices=[*notices_from(request), *((("info", notice),) if notice else ())],
            error=error,
            size_limit=size_limit(),
            columns=[(name, column_meaning(name)) for name in COLUMNS],
            own_names=[(name, own_names[name]) for name in COLUMNS if name in own_names],
            max_rows=f"{jobs.importer.limits.max_rows:,}",
        )

    async def job_for(request: Request, staff: SignedIn) -> ImportJob:
        token = request.path_params["token"]
        job = jobs.get(token, owner(staff)) if TOKEN.match(token) else None
        if job is None:
            raise HTTPException(404)
        return job

    async def show_form(request: Request) -> Response:
        return await upload_page(request, await require_staff(request, "admin"))

    async def upload(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        try:
            received = await read_upload_form(request, jobs.importer.limits.max_bytes)
        except BodyTooLarge:
            error = text("import.too_large", limit=size_limit())
            return await upload_page(request, staff, status=413, error=error)
        except UnsupportedMediaType:
            staff.check_csrf(request.headers.get(CSRF_HEADER))
            return await upload_page(request, staff, status=415, error=text("import.use_form"))
        except MalformedUpload:
            return await upload_page(request, staff, status=400, error=text("import.malformed"))
        try:
            staff.check_csrf(received.fields.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))
            if received.size == 0:
                received.file.close()
                return await upload_page(request, staff, status=400, error=text("import.no_file"))
            clinic = await asyncio.to_thread(jobs.importer.store.profile, staff.clinic_slug)
            job = jobs.start(owner(staff), clinic, received.file, received.size, received.filename)
        except TooManyImports:
            received.file.close()
            return await upload_page(request, staff, status=503, error=text("import.busy"))
        except BaseException:
            received.file.close()
            raise
        return RedirectResponse(f"/app/import/{job.token}", status_code=303)

    async def show_job(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        try:
            job = await job_for(request, staff)
        except HTTPException:
            return await upload_page(
                request, staff, status=404, notice=text("import.gone", minutes=ttl_minutes)
            )
        context: dict[str, Any] = job_view(job, staff.zone, ttl_minutes)
        return await render(request, "import_job.html", staff=staff, nav_active="import", **context)

    async def progress(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        return JSONResponse(progress_view(await job_for(request, staff)))

    async def apply(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        await staff.form(request)
        job = await job_for(request, staff)
        audit = dashboard.audit
        clock = dashboard.clock

        def record(finished: ImportJob) -> None:
            """In the worker thread, once the import ends: counts only, never row data."""
            done = finished.imported
            summary = (
                f"{done.result.created} created, {done.result.updated} updated, "
                f"{done.result.unchanged} unchanged, {done.result.rejected} rejected"
                if done is not None
                else "stopped before the end"
            )
            audit.record(
                clock.now(),
                staff.clinic_id,
                staff.staff_id,
                AuditAction.IMPORT,
                "import",
                f"{finished.token[:6]}: {summary}",
                actor=staff.email,
                address=staff.address,
            )

        jobs.start_import(job, after=record)  # False: already under way or done; show it
        return RedirectResponse(f"/app/import/{job.token}", status_code=303)

    async def discard(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        await staff.form(request)
        job = await job_for(request, staff)
        if not jobs.discard(job):
            return RedirectResponse(f"/app/import/{job.token}", status_code=303)
        return RedirectResponse("/app/import", status_code=303)

    def report(run_name: str) -> Any:
        async def download(request: Request) -> Response:
            staff = await require_staff(request, "admin")
            job = await job_for(request, staff)
            run = job.check if run_name == "check" else job.imported
            if run is None or job.running:
                raise HTTPException(404)
            day = dashboard.clock.now().astimezone(staff.zone).date().isoformat()
            return FileResponse(
                run.report,
                media_type="text/csv; charset=utf-8",
                filename=f"{run_name}-report-{staff.clinic_slug}-{day}.csv",
            )

        return download

    return [
        Route("/app/import", show_form, methods=["GET"]),
        Route("/app/import", upload, methods=["POST"]),
        Route("/app/import/{token}", show_job, methods=["GET"]),
        Route("/app/import/{token}", apply, methods=["POST"]),
        Route("/app/import/{token}/progress", progress, methods=["GET"]),
        Route("/app/import/{token}/discard", discard, methods=["POST"]),
        Route("/app/import/{token}/check.csv", report("check"), methods=["GET"]),
        Route("/app/import/{token}/report.csv", report("import"), methods=["GET"]),
    ]
