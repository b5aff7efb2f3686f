"""The campaign page's notify form through the real app (console and API over ASGI) and a real
database, on both databases: a strategist sets the URL, a URL the service refuses (the SSRF check
the API applies) is shown beside the field in the page's language and changes nothing, the URL is
removed, and a rotated secret is shown once, on the answer that made it, never on the campaign page.
A supervisor reads the settings (as the API's GET admits) but gets no form, and its POST is 403."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from clock import TEST_NOW
from sqlalchemy.orm import Session, sessionmaker
from workers import payload_settings, secret_box

from api.app import create_app
from api.auth import issue_key
from config import Settings
from console.i18n import LANG_COOKIE
from db.models import Campaign
from services import campaign_notify
from services.secrets_at_rest import PREFIX

ROOT = Path(__file__).resolve().parents[2]
STRATEGY = (ROOT / "tests" / "api" / "strategies" / "calls.yaml").read_bytes()
CAMPAIGN = "aviso-consola"
PAGE = f"/console/campaigns/{CAMPAIGN}"
PUBLIC = "https://hooks.andes.example/collect"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PEOPLE = {"strategist": ("sofia", "strategist"), "supervisor": ("marta", "supervisor")}


def fixed_clock() -> Callable[[], Awaitable[datetime]]:
    async def now() -> datetime:
        return TEST_NOW

    return now


class Console:
    """One person's browser-less console: a signed-in session cookie and the forms' CSRF token."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def sign_in(self, key: str) -> None:
        page = await self.http.get("/console/signin")
        signed = await self.http.post("/console/signin", data={"api_key": key, "csrf_token": token(page)})
        assert signed.status_code == 303, signed.text

    async def post(self, path: str, **form: str) -> httpx.Response:
        """Submit a form of the campaign page as the browser does, with the page's CSRF token."""
        page = await self.http.get(PAGE)
        return await self.http.post(path, data={"csrf_token": token(page), **form})


def token(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def text_of(page: httpx.Response, element_id: str) -> str:
    """The text of the element with `element_id` (tags dropped, entities read)."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:dd|p|code)>', page.text, re.S)
    assert found is not None, f"no #{element_id} in the page"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def stored(sessions: sessionmaker[Session]) -> tuple[str | None, str | None, datetime | None]:
    """The campaign's URL, signing secret (opened: the column holds it sealed) and rotation time."""
    with sessions() as session:
        row = session.get(Campaign, CAMPAIGN)
        assert row is not None
        secret = campaign_notify.signing_secret(row, secret_box())
        if secret is not None:
            assert row.notify_secret is not None
            assert row.notify_secret.startswith(PREFIX)
            assert secret not in row.notify_secret
        return row.notify_url, secret, row.notify_secret_rotated_at


@pytest.fixture
async def people(sessions: sessionmaker[Session], tmp_path: Path) -> AsyncIterator[dict[str, Console]]:
    """A strategist's and a supervisor's console on one app, with a draft campaign to configure."""
    settings = Settings(
        database_url="sqlite://",
        console_secret="notify-page-tests-secret-0123456789abcdef",  # type: ignore[arg-type]
        **payload_settings(),  # type: ignore[arg-type]
    )
    app = create_app(settings, sessions=sessions, clock=fixed_clock())
    with sessions() as session:
        keys = {who: issue_key(session, subject, role, []).key for who, (subject, role) in PEOPLE.items()}
        session.commit()
    transport = httpx.ASGITransport(app=app)
    clients = {who: httpx.AsyncClient(transport=transport, base_url="http://testserver") for who in PEOPLE}
    try:
        api = clients["strategist"]
        as_strategist = {"X-API-Key": keys["strategist"]}
        published = await api.post(
            "/strategies", content=STRATEGY, headers={**as_strategist, "Content-Type": "application/yaml"}
        )
        assert published.status_code in (200, 201), published.text
        body = {"id": CAMPAIGN, "name": "Aviso", "strategy_hash": published.json()["hash"], "creditor_name": "Andes"}
        created = await api.post("/campaigns", json=body, headers=as_strategist)
        assert created.status_code == 201, created.text
        consoles = {who: Console(client) for who, client in clients.items()}
        for who, console in consoles.items():
            await console.sign_in(keys[who])
        yield consoles
    finally:
        for client in clients.values():
            await client.aclose()


async def test_set_refuse_clear_and_rotate(people: dict[str, Console], sessions: sessionmaker[Session]) -> None:
    sofia = people["strategist"]
    page = await sofia.http.get(PAGE)
    assert page.status_code == 200
    assert text_of(page, "notify-url") == "None: each notify is recorded as not sent."
    assert text_of(page, "notify-secret-state") == "Not set: one is made with the first URL."
    assert 'id="notify-rotate-form"' not in page.text  # nothing to rotate before the first URL

    # The first URL comes with its secret, shown on the answer and stored.
    first = await sofia.post(f"{PAGE}/notify", url=PUBLIC, action="save")
    assert first.status_code == 200, first.text
    secret = text_of(first, "notify-secret")
    assert len(secret) >= 40
    assert "only time the secret is shown" in text_of(first, "notify-secret-note")
    url, kept, made = stored(sessions)
    assert (url, kept, made is not None) == (PUBLIC, secret, True)
    page = await sofia.http.get(PAGE)
    assert secret not in page.text
    assert text_of(page, "notify-url") == PUBLIC
    assert text_of(page, "notify-secret-state").startswith("Set · made ")

    # A later URL keeps the secret: back to the page (POST/redirect/GET) with what was done.
    moved = await sofia.post(f"{PAGE}/notify", url=PUBLIC + "/v2", action="save")
    assert (moved.status_code, moved.headers["location"]) == (303, f"{PAGE}?done=notify_set")
    assert stored(sessions)[:2] == (PUBLIC + "/v2", secret)
    page = await sofia.http.get(moved.headers["location"])
    assert "Notify URL saved" in page.text
    assert secret not in page.text

    # Refused by the service's SSRF check: beside the field, what was typed kept, nothing changed.
    before = stored(sessions)
    refused = await sofia.post(f"{PAGE}/notify", url="http://10.1.2.3/hook", action="save")
    assert refused.status_code == 422
    assert text_of(refused, "notify-url-error") == (
        "That address is not public (loopback, private, link-local or reserved): webhooks go to the creditor's "
        "public systems."
    )
    assert 'value="http://10.1.2.3/hook" aria-invalid="true"' in refused.text
    assert stored(sessions) == before

    # Removing it is the API's null; the secret stays for the next URL.
    cleared = await sofia.post(f"{PAGE}/notify", url=PUBLIC + "/v2", action="clear")
    assert (cleared.status_code, cleared.headers["location"]) == (303, f"{PAGE}?done=notify_cleared")
    assert stored(sessions)[:2] == (None, secret)
    page = await sofia.http.get(cleared.headers["location"])
    assert text_of(page, "notify-url") == "None: each notify is recorded as not sent."
    assert "Notify URL removed" in page.text

    # Rotation: a new secret on the answer, stored; the campaign page never shows it.
    rotated = await sofia.post(f"{PAGE}/notify/secret")
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new_secret = text_of(rotated, "notify-secret")
    assert new_secret not in ("", secret)
    assert stored(sessions)[1] == new_secret
    for _ in range(2):  # the campaign page, and again
        page = await sofia.http.get(PAGE)
        assert new_secret not in page.text
        assert secret not in page.text
        assert 'id="notify-secret"' not in page.text


@pytest.mark.parametrize(
    ("url", "lang", "says"),
    [
        ("http://127.0.0.1:8080/hook", "es", "Esa dirección no es pública"),
        ("http://localhost:9000/hook", "es", "Ese host es esta máquina"),
        ("https://user:pw@hooks.andes.example/x", "es", "La URL no debe llevar usuario ni contraseña"),
        ("ftp://hooks.andes.example/x", "en", "Enter an http(s) URL such as https://hooks.example.com/collect"),
        ("https://hooks.andes.example/x#frag", "en", "The URL must not have a #fragment"),
    ],
)
async def test_a_refused_url_reads_in_the_pages_language(
    people: dict[str, Console], sessions: sessionmaker[Session], url: str, lang: str, says: str
) -> None:
    sofia = people["strategist"]
    sofia.http.cookies.set(LANG_COOKIE, lang, path="/console")
    refused = await sofia.post(f"{PAGE}/notify", url=url, action="save")
    assert refused.status_code == 422
    assert text_of(refused, "notify-url-error").startswith(says)
    assert stored(sessions) == (None, None, None)


async def test_a_supervisor_reads_the_settings_but_may_not_change_them(
    people: dict[str, Console], sessions: sessionmaker[Session]
) -> None:
    marta = people["supervisor"]
    page = await marta.http.get(PAGE)
    assert text_of(page, "notify-url") == "None: each notify is recorded as not sent."
    assert 'id="notify-form"' not in page.text
    for path, form in ((f"{PAGE}/notify", {"url": PUBLIC}), (f"{PAGE}/notify/secret", {})):
        assert (await marta.post(path, **form)).status_code == 403  # as PUT /campaigns/{id}/notify answers
    assert stored(sessions) == (None, None, None)
