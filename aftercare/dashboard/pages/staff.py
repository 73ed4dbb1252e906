"""/app/staff (admins): the clinic's accounts and a form to add one; /app/staff/{id}: one
account, its recent activity, password reset and removal. A one-time password is shown
once, in the answer to the POST that made it, and never stored."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from aftercare.dashboard.accounts import AccountProblem
from aftercare.dashboard.audit_rows import audit_row, local_time
from aftercare.dashboard.auth import SignedIn, not_found, require_staff
from aftercare.dashboard.context import Dashboard
from aftercare.dashboard.rendering import NoticeKind, render
from aftercare.dashboard.strings import text
from storage.audit import AuditQuery
from storage.staff import StaffAccount

RECENT_ACTIVITY = 20
MAX_ID = 2**31 - 1  # an INTEGER column: a larger id is simply not there


@dataclass(frozen=True)
class StaffRow:
    id: int
    email: str
    role_label: str
    last_sign_in: str
    is_me: bool
    pending: bool


def _row(account: StaffAccount, staff: SignedIn) -> StaffRow:
    seen = account.last_sign_in_at
    return StaffRow(
        account.id,
        account.email,
        text(f"staff.role.{account.role}"),
        local_time(seen, staff.zone) if seen is not None else "",
        account.id == staff.staff_id,
        account.must_change_password,
    )


def routes(dashboard: Dashboard) -> list[BaseRoute]:
    accounts = dashboard.accounts

    async def listing(
        request: Request,
        staff: SignedIn,
        *,
        status: int = 200,
        notices: list[tuple[NoticeKind, str]] | None = None,
        **context: Any,
    ) -> Response:
        listed = await asyncio.to_thread(accounts.store.list, staff.clinic_id)
        values: dict[str, Any] = {
            "error": "",
            "form_email": "",
            "form_role": "nurse",
            "shown_password": None,
            **context,
        }
        return await render(
            request,
            "staff.html",
            staff=staff,
            status=status,
            nav_active="staff",
            notices=notices or [],
            rows=[_row(account, staff) for account in listed],
            **values,
        )

    async def member(request: Request, staff: SignedIn) -> StaffAccount:
        """The account named in the URL: 404 unless it is one of this clinic's."""
        staff_id = request.path_params["staff_id"]
        if staff_id > MAX_ID:
            raise not_found()
        account = await asyncio.to_thread(accounts.store.get, staff.clinic_id, staff_id)
        if account is None:
            raise not_found()
        return account

    async def detail(
        request: Request,
        staff: SignedIn,
        account: StaffAccount,
        *,
        status: int = 200,
        notices: list[tuple[NoticeKind, str]] | None = None,
        shown_password: str | None = None,
    ) -> Response:
        recent = await asyncio.to_thread(
            dashboard.audit.entries,
            staff.clinic_id,
            AuditQuery(actor=account.email),
            RECENT_ACTIVITY,
        )
        return await render(
            request,
            "staff_member.html",
            staff=staff,
            status=status,
            nav_active="staff",
            notices=notices or [],
            member=_row(account, staff),
            activity=[audit_row(entry, staff.zone) for entry in recent],
            shown_password=shown_password,
        )

    async def show_list(request: Request) -> Response:
        return await listing(request, await require_staff(request, "admin"))

    async def add(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        form = await staff.form(request)
        email, role = form.get("email")[:300], form.get("role")
        try:
            added = await asyncio.to_thread(
                accounts.add, staff.clinic_id, email, role, None, staff.actor
            )
        except AccountProblem as exc:
            return await listing(
                request, staff, status=400, error=exc.sentence, form_email=email, form_role=role
            )
        return await listing(
            request,
            staff,
            notices=[("success", text("staff.added", email=added.account.email))],
            shown_password={"email": added.account.email, "password": added.one_time_password},
        )

    async def show_member(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        return await detail(request, staff, await member(request, staff))

    async def reset(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        await staff.form(request)
        account = await member(request, staff)
        try:
            password = await asyncio.to_thread(accounts.reset_password, account, staff.actor)
        except AccountProblem as exc:
            return await detail(
                request, staff, account, status=400, notices=[("error", exc.sentence)]
            )
        return await detail(
            request,
            staff,
            account,
            notices=[("success", text("staff.reset_done", email=account.email))],
            shown_password=password,
        )

    async def remove(request: Request) -> Response:
        staff = await require_staff(request, "admin")
        await staff.form(request)
        account = await member(request, staff)
        try:
            await asyncio.to_thread(accounts.remove, account, staff.actor)
        except AccountProblem as exc:
            return await detail(
                request, staff, account, status=400, notices=[("error", exc.sentence)]
            )
        return await listing(
            request, staff, notices=[("success", text("staff.removed", email=account.email))]
        )

    return [
        Route("/app/staff", show_list, methods=["GET"]),
        Route("/app/staff", add, methods=["POST"]),
        Route("/app/staff/{staff_id:int}", show_member, methods=["GET"]),
        Route("/app/staff/{staff_id:int}/reset", reset, methods=["POST"]),
        Route("/app/staff/{staff_id:int}/remove", remove, methods=["POST"]),
    ]
