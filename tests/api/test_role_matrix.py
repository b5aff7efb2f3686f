"""Every endpoint against every caller: the role matrix below is the specification. A caller
outside an endpoint's roles gets 403; a caller inside gets past the role check (whatever the
dummy ids then earn: 404, 409, 422); no key is 401; admin passes everywhere. Provider webhooks
take no key: they answer 403 to anyone whose request is not signed. The matrix must list exactly
the operations the OpenAPI description has, so a new endpoint cannot ship without its row."""

from __future__ import annotations

from api_harness import Api

S, V, A = "strategist", "supervisor", "agent"
MATRIX: dict[tuple[str, str], set[str]] = {
    ("GET", "/me"): {S, V, A},
    ("POST", "/strategies/validate"): {S},
    ("POST", "/strategies"): {S},
    ("GET", "/strategies"): {S, V},
    ("GET", "/strategies/{strategy_hash}"): {S, V},
    ("GET", "/strategies/{strategy_hash}/diff/{other_hash}"): {S, V},
    ("POST", "/strategies/{strategy_hash}/simulate"): {S},
    ("POST", "/strategies/{strategy_hash}/what-if"): {S},
    ("POST", "/campaigns"): {S},
    ("GET", "/campaigns"): {S, V},
    ("GET", "/campaigns/{campaign_id}"): {S, V},
    ("POST", "/campaigns/{campaign_id}/accounts"): {S},
    ("POST", "/campaigns/{campaign_id}/launch"): {S},
    ("POST", "/campaigns/{campaign_id}/pause"): {S, V},
    ("POST", "/campaigns/{campaign_id}/resume"): {S, V},
    ("POST", "/campaigns/{campaign_id}/stop"): {S, V},
    ("POST", "/campaigns/{campaign_id}/strategy"): {V},
    ("GET", "/campaigns/{campaign_id}/notify"): {S, V},
    ("PUT", "/campaigns/{campaign_id}/notify"): {S},
    ("POST", "/campaigns/{campaign_id}/notify/secret"): {S},
    ("GET", "/agent/tasks/next"): {A, V},
    ("POST", "/agent/tasks/next/claim"): {A, V},
    ("GET", "/agent/tasks"): {A, V},
    ("POST", "/agent/tasks/{task_id}/claim"): {A, V},
    ("POST", "/agent/tasks/{task_id}/outcome"): {A, V},
    ("POST", "/accounts/{account_id}/promises"): {A, V},
    ("POST", "/accounts/{account_id}/plans"): {A, V},
    ("POST", "/accounts/{account_id}/notes"): {A, V},
    ("GET", "/accounts/{account_id}/timeline"): {A, V},
    ("POST", "/accounts/{account_id}/disputes"): {A, V},
    ("POST", "/accounts/{account_id}/disputes/resolve"): {A, V},
    ("GET", "/accounts"): {A, V},
    ("GET", "/accounts/{account_id}"): {A, V},
    ("POST", "/accounts/{account_id}/pause"): {V},
    ("POST", "/accounts/{account_id}/resume"): {V},
    ("POST", "/accounts/{account_id}/close"): {V},
    ("POST", "/tasks/{task_id}/reassign"): {V},
    ("GET", "/approvals"): {V},
    ("POST", "/accounts/{account_id}/approvals/decision"): {V},
    ("POST", "/accounts/{account_id}/strategy"): {V},
    ("POST", "/accounts/{account_id}/refunds"): {V},
    ("GET", "/kpis/campaigns/{campaign_id}"): {S, V},
    ("GET", "/kpis/campaigns/{campaign_id}/agents"): {S, V},
    ("POST", "/payments"): {V},
    ("GET", "/accounts/{account_id}/payments"): {V},
    ("POST", "/codec/decode"): {V},
    ("POST", "/codec/encode"): {V},
}
WEBHOOKS = {
    ("POST", "/webhooks/payments/{provider}"),
    ("POST", "/webhooks/sendgrid/events"),
    ("POST", "/webhooks/twilio/status"),
    ("POST", "/webhooks/twilio/inbound"),
}
PUBLIC = {("GET", "/health")}
DUMMY = {
    "strategy_hash": "0" * 64,
    "other_hash": "1" * 64,
    "campaign_id": "no-such-campaign",
    "account_id": "999999",
    "task_id": "999999",
    "provider": "khipu",
}


def concrete(path: str) -> str:
    for name, value in DUMMY.items():
        path = path.replace("{" + name + "}", value)
    return path


async def call(api: Api, method: str, path: str, headers: dict[str, str]) -> int:
    response = await api.http.request(method, concrete(path), headers=headers, json={} if method == "POST" else None)
    return response.status_code


async def test_the_matrix_covers_every_operation(api: Api) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    operations = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert operations == set(MATRIX) | WEBHOOKS | PUBLIC


async def test_each_role_against_each_endpoint(api: Api) -> None:
    wrong: list[str] = []
    for (method, path), roles in MATRIX.items():
        if (status := await call(api, method, path, {})) != 401:
            wrong.append(f"{method} {path} without a key: {status}, expected 401")
        for role in (S, V, A, "admin"):
            status = await call(api, method, path, api.as_(role))
            admitted = role == "admin" or role in roles
            if admitted and status in (401, 403):
                wrong.append(f"{method} {path} as {role}: {status}, expected to pass the role check")
            if not admitted and status != 403:
                wrong.append(f"{method} {path} as {role}: {status}, expected 403")
    assert not wrong, "\n".join(wrong)


async def test_webhooks_need_a_signature_not_a_key(api: Api) -> None:
    for method, path in sorted(WEBHOOKS):
        for headers in ({}, api.as_("admin")):
            status = await call(api, method, path, headers)
            assert status == 403, f"{method} {path} with {sorted(headers)}: {status}"


async def test_problems_for_refusals_name_the_roles(api: Api) -> None:
    response = await api.http.post("/payments", json={}, headers=api.as_("agent"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "supervisor" in response.json()["detail"]
