"""read_upload_form: the uploaded file with its name and the form's small fields (the
dashboard's CSRF token travels in one), each field cut to a small size, and the file
still capped at the byte limit whatever the other fields hold."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.http_body import BodyTooLarge
from clinic.upload import MAX_FIELD_BYTES, read_upload_form

LIMIT = 1000


async def echo(request: Request) -> Response:
    try:
        upload = await read_upload_form(request, LIMIT)
    except BodyTooLarge:
        return JSONResponse({"error": "too large"}, status_code=413)
    with upload.file:
        content = upload.file.read().decode()
    return JSONResponse(
        {
            "filename": upload.filename,
            "size": upload.size,
            "fields": upload.fields,
            "content": content,
        }
    )


async def post(**kwargs: object) -> httpx.Response:
    app = Starlette(routes=[Route("/", echo, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.post("/", **kwargs)  # type: ignore[arg-type]


async def test_the_file_comes_with_its_name_and_the_other_fields() -> None:
    answer = await post(
        data={"csrf_token": "abc123", "note": "héllo"},
        files={"file": ("patients.csv", b"external_id\nP1\n", "text/csv")},
    )

    assert answer.json() == {
        "filename": "patients.csv",
        "size": 15,
        "fields": {"csrf_token": "abc123", "note": "héllo"},
        "content": "external_id\nP1\n",
    }


async def test_a_long_field_is_cut_and_a_repeated_one_keeps_its_first_value() -> None:
    answer = await post(
        data={"csrf_token": ["first", "second"], "big": "x" * 5000},
        files={"file": ("a.csv", b"a\n", "text/csv")},
    )

    fields = answer.json()["fields"]
    assert fields["csrf_token"] == "first"
    assert fields["big"] == "x" * MAX_FIELD_BYTES


async def test_a_plain_csv_body_has_no_name_and_no_fields() -> None:
    answer = await post(content=b"external_id\nP1\n", headers={"content-type": "text/csv"})

    assert answer.json() == {
        "filename": "",
        "size": 15,
        "fields": {},
        "content": "external_id\nP1\n",
    }


@pytest.mark.parametrize("size", [LIMIT + 1, 50 * LIMIT])
async def test_the_file_is_still_capped(size: int) -> None:
    answer = await post(
        data={"csrf_token": "abc"}, files={"file": ("a.csv", b"x" * size, "text/csv")}
    )

    assert answer.status_code == 413
