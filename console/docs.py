"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), with their scripts and
styles served by the app at pinned versions (console/vendor.py) instead of FastAPI's CDN
defaults: on a machine without internet access the default pages stay blank."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from console.vendor import REDOC, SWAGGER_UI

router = APIRouter(include_in_schema=False)
# Nothing on these pages may reach beyond the app: ReDoc's sidebar shows Redocly's logo from its
# CDN (hidden when it fails to load), and FastAPI's pages start the viewers with inline scripts.
DOCS_POLICY = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
    )
}


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(DOCS_POLICY)
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — Swagger UI",
        swagger_js_url=SWAGGER_UI.url("swagger-ui-bundle.js"),
        swagger_css_url=SWAGGER_UI.url("swagger-ui.css"),
        swagger_favicon_url=SWAGGER_UI.url("favicon.png"),
        # No badge from the public validator service: it would call validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return _with_policy(page)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — ReDoc",
        redoc_js_url=REDOC.url("redoc.standalone.js"),
        redoc_favicon_url=SWAGGER_UI.url("favicon.png"),
        with_google_fonts=False,
    )
    return _with_policy(page)
