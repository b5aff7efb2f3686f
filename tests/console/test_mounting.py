"""The console as the app mounts it, without a browser: every asset served by the app, pinned, with
its license beside it; no page naming a CDN; the documentation pages loading their viewers from
the app; the session cookie's flags."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from config import Settings
from console.templating import TEMPLATES
from console.vendor import LICENSE, PACKAGES, STATIC, VENDOR

URL = re.compile(r"""(?:src|href)=["'](https?:)?//""")


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_each_package_is_in_its_pinned_folder_with_its_license(package: object) -> None:
    folder = VENDOR / package.folder  # type: ignore[attr-defined]
    served = set(package.files.values())  # type: ignore[attr-defined]
    assert {p.name for p in folder.iterdir()} == served | {LICENSE}
    assert (folder / LICENSE).read_text(encoding="utf-8").strip()


def test_no_stale_package_folders() -> None:
    assert {p.name for p in VENDOR.iterdir()} == {p.folder for p in PACKAGES}


def test_no_template_or_own_asset_loads_anything_from_another_site() -> None:
    pages = [*TEMPLATES.rglob("*.html"), *STATIC.glob("*.*")]
    assert pages
    offenders = [str(p) for p in pages if URL.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


@pytest.fixture
def app_client(tmp_path: Path) -> httpx.AsyncClient:
    settings = Settings(database_url="sqlite://", console_secret="x" * 32)  # type: ignore[arg-type]
    app = create_app(settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_the_docs_pages_name_only_the_apps_own_assets(app_client: httpx.AsyncClient) -> None:
    async with app_client as http:
        for path in ("/docs", "/redoc"):
            page = await http.get(path)
            assert page.status_code == 200
            assets = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text) + re.findall(r"url: '([^']+)'", page.text)
            assert assets
            assert all(a.startswith("/") for a in assets), assets
            assert "cdn" not in page.text.lower()
            assert "img-src 'self' data:" in page.headers["content-security-policy"]
            for asset in (a for a in assets if a.startswith("/console/static/")):
                served = await http.get(asset)
                assert served.status_code == 200, asset


async def test_the_session_cookie_is_secure_over_https_only(app_client: httpx.AsyncClient) -> None:
    async with app_client as http:
        plain = await http.get("/console/signin")
        secure = await http.get("https://testserver/console/signin")
    for answer in (plain, secure):
        assert answer.status_code == 200
        assert "HttpOnly" in answer.headers["set-cookie"]
        assert "SameSite=strict" in answer.headers["set-cookie"]
    assert "Secure" not in plain.headers["set-cookie"]
    assert "Secure" in secure.headers["set-cookie"]
