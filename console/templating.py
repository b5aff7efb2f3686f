"""Rendering a console page: Jinja2 templates (autoescaped, strict about undefined names), one
environment per language with that language's catalog installed, so requests in different
languages never share mutable state.

Every page gets: `lang`, `principal` (or None), `menu` (what the role may open), `current` (the
menu key to highlight), `csrf` (the session's token, for forms and the HTMX header), `fmt`
(console.i18n.Formats) and `vendor` (URLs of the pinned assets). Pages are never cached, and a
Content-Security-Policy allows only the app's own scripts and styles.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from console import labels, vendor
from console.i18n import LANG_COOKIE, Formats, choose, translations
from console.nav import menu_for

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
VENDOR_URLS = {
    "htmx": vendor.HTMX.url("htmx.min.js"),
    "uplot_js": vendor.UPLOT.url("uPlot.iife.min.js"),
    "uplot_css": vendor.UPLOT.url("uPlot.min.css"),
}


@lru_cache(maxsize=4)
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["vendor"] = VENDOR_URLS
    env.globals["static"] = vendor.URL_PREFIX
    env.globals["roles"] = labels.ROLES
    env.globals["done_messages"] = labels.DONE
    return env


def language(request: Request) -> str:
    return choose(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    current: str = "",
    formats: Formats | None = None,
) -> HTMLResponse:
    """The page `template` with the common context; `formats` overrides the reader's defaults
    (an account's page formats money in the account's locale and times in the debtor's zone)."""
    lang = language(request)
    principal = getattr(request.state, "principal", None)
    session = getattr(request.state, "console_session", None)
    common = {
        "request": request,
        "lang": lang,
        "principal": principal,
        "menu": menu_for(principal),
        "current": current,
        "csrf": session.csrf if session is not None else "",
        "fmt": formats or Formats(lang),
    }
    html = environment(lang).get_template(template).render({**common, **(context or {})})
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
