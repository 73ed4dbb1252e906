"""`/api/docs` in chromium: Swagger UI, vendored, shows every endpoint of the clinic API
under a Content-Security-Policy that allows this origin only (the page guard fails the test
on any CSP violation, script error or request to another host)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clinic.api_docs import docs_routes
from clinic.openapi import OPENAPI
from tests.browser.harness import ServedApp


async def openapi(_request: Request) -> Response:
    return JSONResponse(OPENAPI)


def docs_app() -> Starlette:
    return Starlette(routes=[*docs_routes(), Route("/api/v1/openapi.json", openapi)])


def test_the_docs_page_lists_every_operation_from_local_assets(
    page: Page,
    serve_asgi: Callable[[Starlette], ServedApp],
    screenshot: Callable[[Page, str], Path],
) -> None:
    served = serve_asgi(docs_app())
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    response = page.goto(f"{served.url}/api/docs")
    assert response is not None and response.ok
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(OPENAPI["info"]["title"])
    for path, operations in OPENAPI["paths"].items():
        for method in set(operations) & {"get", "post", "put", "patch", "delete"}:
            operation = page.locator(f".opblock-{method} [data-path='{path}']")
            expect(operation).to_be_visible()
    assert f"{served.url}/api/docs/assets/swagger-ui-bundle.js" in loaded
    assert f"{served.url}/api/docs/assets/swagger-ui.css" in loaded
    assert f"{served.url}/api/v1/openapi.json" in loaded
    screenshot(page, "api-docs")


def test_an_operation_opens_with_its_parameters_and_responses(
    page: Page, serve_asgi: Callable[[Starlette], ServedApp]
) -> None:
    served = serve_asgi(docs_app())
    page.goto(f"{served.url}/api/docs")
    page.locator(".opblock-post .opblock-summary").first.click()
    body = page.locator(".opblock-post .opblock-body").first
    expect(body).to_contain_text("dry_run")
    expect(body).to_contain_text("413")
