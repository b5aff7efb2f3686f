"""A campaign's webhook to the creditor's systems through the API, on both databases: set the
notify URL (checked: http(s), no credentials, no loopback or private address unless the setting
allows it), the signing secret shown once and rotated, and a launch (or a move) refused while the
strategy uses `notify` and the campaign has nowhere to post."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_harness import Api, api_settings
from clock import async_server_clock
from test_campaigns import chilean, import_csv, new_campaign, problem
from workers import PAYLOAD_KEY_ID, secret_box

from api.app import create_app
from db.models import Campaign
from services import campaign_notify
from services.secrets_at_rest import PREFIX

ROOT = Path(__file__).resolve().parents[2]
NOTIFY_TEXT = (ROOT / "tests" / "workflows" / "strategies" / "notify.yaml").read_text(encoding="utf-8")
PUBLIC = "https://hooks.andes.example/collect"


async def publish_notify(api: Api) -> str:
    response = await api.http.post(
        "/strategies", content=NOTIFY_TEXT, headers=api.as_("strategist", **{"Content-Type": "application/yaml"})
    )
    assert response.status_code in (200, 201), response.text
    hash_: str = response.json()["hash"]
    return hash_


async def put_url(api: Api, campaign_id: str, url: str | None, who: str = "strategist") -> httpx.Response:
    return await api.http.put(f"/campaigns/{campaign_id}/notify", json={"url": url}, headers=api.as_(who))


@pytest.fixture
async def private_api(api: Api) -> AsyncIterator[Api]:
    """The same app and database with COLLECT_NOTIFY_ALLOW_PRIVATE_ADDRESSES=true."""
    settings = api_settings(notify_allow_private_addresses=True)
    app = create_app(settings, sessions=api.sessions, client=api.env.client, clock=async_server_clock(api.env))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http=http, transport=transport, sessions=api.sessions, env=api.env, settings=settings, keys=api.keys)


class TestNotifySettings:
    async def test_the_first_url_makes_a_secret_shown_once_and_rotation_replaces_it(self, api: Api) -> None:
        await new_campaign(api)
        before = await api.http.get("/campaigns/cl-2026-11/notify", headers=api.as_("supervisor"))
        assert before.json() == {"url": None, "secret_set": False, "secret_rotated_at": None, "secret": None}

        first = await put_url(api, "cl-2026-11", PUBLIC)
        assert first.status_code == 200, first.text
        made: dict[str, Any] = first.json()
        assert (made["url"], made["secret_set"]) == (PUBLIC, True)
        assert len(made["secret"] or "") >= 40
        read = (await api.http.get("/campaigns/cl-2026-11/notify", headers=api.as_("supervisor"))).json()
        assert read == {**made, "secret": None}

        moved = (await put_url(api, "cl-2026-11", PUBLIC + "/v2")).json()
        assert (moved["url"], moved["secret"], moved["secret_rotated_at"]) == (
            PUBLIC + "/v2",
            None,
            made["secret_rotated_at"],
        )
        rotated = await api.http.post("/campaigns/cl-2026-11/notify/secret", headers=api.as_("strategist"))
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["secret"] not in (None, made["secret"])
        with api.sessions() as session:
            row = session.get(Campaign, "cl-2026-11")
            assert row is not None
            # Stored sealed with the payload keys, bound to the campaign: not the secret, nor holding it.
            assert row.notify_secret is not None
            assert row.notify_secret.startswith(f"{PREFIX}{PAYLOAD_KEY_ID}:")
            assert rotated.json()["secret"] not in row.notify_secret
            assert campaign_notify.signing_secret(row, secret_box()) == rotated.json()["secret"]

        cleared = (await put_url(api, "cl-2026-11", None)).json()
        assert (cleared["url"], cleared["secret_set"]) == (None, True)

    @pytest.mark.parametrize(
        ("url", "says"),
        [
            ("ftp://hooks.andes.example/x", "http(s) URL"),
            ("hooks.andes.example/x", "http(s) URL"),
            ("https://user:pw@hooks.andes.example/x", "credentials"),
            ("https://hooks.andes.example/x#frag", "fragment"),
            ("http://127.0.0.1:8080/hook", "not a public address"),
            ("http://10.1.2.3/hook", "not a public address"),
            ("http://192.168.0.10/hook", "not a public address"),
            ("http://169.254.169.254/latest/meta-data", "not a public address"),
            ("http://[::1]/hook", "not a public address"),
            ("http://[::ffff:127.0.0.1]/hook", "not a public address"),
            ("http://localhost:9000/hook", "this machine"),
            ("https://hooks.andes.example:99999/x", "http(s) URL"),
        ],
    )
    async def test_a_url_webhooks_may_not_go_to_is_422(self, api: Api, url: str, says: str) -> None:
        await new_campaign(api)
        body = problem(await put_url(api, "cl-2026-11", url), 422)
        assert says in body["detail"]

    async def test_the_setting_lets_a_loopback_receiver_in(self, api: Api, private_api: Api) -> None:
        await new_campaign(api)
        response = await put_url(private_api, "cl-2026-11", "http://127.0.0.1:8080/hook")
        assert response.status_code == 200, response.text
        assert response.json()["url"] == "http://127.0.0.1:8080/hook"
        problem(await put_url(private_api, "cl-2026-11", "http://u:p@127.0.0.1/hook"), 422)

    async def test_who_may_set_and_read(self, api: Api) -> None:
        await new_campaign(api)
        assert (await put_url(api, "cl-2026-11", PUBLIC, who="agent")).status_code == 403
        assert (await put_url(api, "cl-2026-11", PUBLIC, who="supervisor")).status_code == 403
        assert (await api.http.get("/campaigns/cl-2026-11/notify", headers=api.as_("agent"))).status_code == 403
        problem(await put_url(api, "nope", PUBLIC), 404)


class TestLaunchNeedsAUrl:
    async def test_a_strategy_that_notifies_launches_only_with_a_url(self, api: Api) -> None:
        hash_ = await publish_notify(api)
        await new_campaign(api, "notify-camp", strategy_hash=hash_)
        await import_csv(api, "notify-camp", [chilean(1)])
        refused = problem(
            await api.http.post("/campaigns/notify-camp/launch", json={}, headers=api.as_("strategist")), 409
        )
        assert "notify` at step remind, restore" in refused["detail"]
        assert "no notify URL" in refused["detail"]
        assert (await api.http.get("/campaigns/notify-camp", headers=api.as_("strategist"))).json()[
            "launch_status"
        ] == "not_started"

        assert (await put_url(api, "notify-camp", PUBLIC)).status_code == 200
        launched = await api.http.post("/campaigns/notify-camp/launch", json={}, headers=api.as_("strategist"))
        assert launched.status_code == 202, launched.text

    async def test_a_move_to_a_version_that_notifies_needs_a_url(self, api: Api) -> None:
        await new_campaign(api)
        hash_ = await publish_notify(api)
        move = {"strategy_hash": hash_}
        refused = problem(
            await api.http.post("/campaigns/cl-2026-11/strategy", json=move, headers=api.as_("supervisor")), 409
        )
        assert "no notify URL" in refused["detail"]
