"""`/api/docs` over HTTP: the page, its assets from this origin only, the moved icons."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from clinic.api_docs import CONTENT_SECURITY_POLICY, docs_routes, move_data_images


@pytest.fixture
async def http() -> httpx.AsyncClient:
    app = Starlette(routes=docs_routes())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_the_page_and_every_asset_it_names_are_served_with_the_policy(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "http" not in CONTENT_SECURITY_POLICY  # no other host is ever allowed
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 4
    for asset in assets:
        response = await http.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline


async def test_the_stylesheet_keeps_no_data_url_and_its_icons_are_served(
    http: httpx.AsyncClient,
) -> None:
    css = (await http.get("/api/docs/assets/swagger-ui.css")).text
    assert "data:" not in css
    icons = set(re.findall(r'url\("(img/[^"]+)"\)', css))
    assert len(icons) >= 8
    for icon in icons:
        response = await http.get(f"/api/docs/assets/{icon}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/")


async def test_unknown_assets_are_404_and_docs_redirects(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api/docs/assets/..%2F..%2Fapi_docs.py")).status_code == 404
    assert (await http.get("/api/docs/assets/LICENSE")).status_code == 404
    assert (await http.get("/api/docs/assets/img/nothing.svg")).status_code == 404
    moved = await http.get("/docs")
    assert (moved.status_code, moved.headers["location"]) == (307, "/api/docs")


def test_data_urls_become_files_with_their_decoded_content() -> None:
    css = (
        '.a{background:url("data:image/svg+xml;charset=utf-8,<svg fill=\\"%23fff\\"/>")}'
        ".b{background:url(data:image/png;base64,iVBORw0K)}"
        '.c{background:url("data:font/woff2;base64,AAAA")}'
    )
    moved, images = move_data_images(css)
    assert sorted(content for content, _ in images.values()) == [
        b'<svg fill="#fff"/>',
        b"\x89PNG\r\n",
    ]
    names = re.findall(r'url\("img/([^"]+)"\)', moved)
    assert sorted(names) == sorted(images)
    assert 'url("data:font/woff2;base64,AAAA")' in moved  # only images are moved
