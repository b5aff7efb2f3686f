"""Mounting the console on the API's app: its pages under /console, its static files (the pinned
vendor assets and our own CSS and script) under /console/static, the API's documentation pages
served from those assets, and the handlers that turn errors on console paths into pages."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from config import Settings
from console import docs, errors
from console.auth import csrf_protect
from console.pages import agents, session, strategists, supervisors
from console.session import check_secret
from console.vendor import STATIC, URL_PREFIX

PREFIX = "/console"
# The page modules, each an APIRouter of paths under /console. Add a new module here.
PAGES = (session, supervisors, agents, strategists)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the console and the self-hosted API docs to `app`; raises ConsoleSecretMissing where a
    production deployment has no console secret."""
    check_secret(settings)  # refuse to start now, not at the first sign-in
    app.mount(URL_PREFIX, StaticFiles(directory=STATIC), name="console-static")
    for pages in PAGES:
        # Every console route checks the CSRF token of POSTs (console/auth.py); none is in OpenAPI.
        app.include_router(pages.router, prefix=PREFIX, dependencies=[Depends(csrf_protect)], include_in_schema=False)
    app.include_router(docs.router)
    errors.install(app)
