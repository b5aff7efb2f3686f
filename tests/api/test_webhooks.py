"""The provider webhooks, signed with real keys: the payment providers' HMAC-SHA256, SendGrid's
ECDSA P-256 event webhook and Twilio's `X-Twilio-Signature` on status callbacks and inbound
messages. A signature that does not hold (tampered, missing, stale, wrong key, wrong URL) is a 403
problem and changes nothing; redelivered events count once, down to the account workflow's
counters; STOP and START from a phone number change what the account's workflow sends."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from accounts_fixture import CALLS, StartedAccount, live_state, settle, start_accounts
from api_harness import PAYMENT_SECRETS, PUBLIC_BASE_URL, TWILIO_TOKEN, WEBHOOK_SECRET, Api, api_settings
from clock import TEST_NOW, async_server_clock, skip
from signing import SendGridKey, payment_headers, sendgrid_body, twilio_request
from sqlalchemy import func, select

from api.app import create_app
from api.routers.webhooks import keyword_intent
from db.models import Communication, ContactPoint, MessageEvent, OutboxMessage, Payment, WebhookReceipt
from domain.types import Channel

PROBLEM = "application/problem+json"
NUMBER = "+56912345678"  # every started account's phone (accounts_fixture.snapshot)

SMS_STRATEGY = """
id: api-sms
name: SMS reminders for the webhook tests
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: NONE
segments:
  - name: all
    start: recordatorios
steps:
  recordatorios:
    stage: outreach
    do:
      - wait: 1d
      - send: {channel: sms, template: recordatorio}
      - wait: 1d
      - send: {channel: sms, template: recordatorio}
      - wait: 30d
      - end: written_off
templates:
  recordatorio:
    es-CL:
      body: Hola {{ debtor.first_name }}, su saldo es {{ account.balance | money }}.
"""


@dataclass
class Signed:
    """An app whose SendGrid webhook trusts `key` (the `api` fixture's app has no SendGrid key)."""

    http: httpx.AsyncClient
    key: SendGridKey


@pytest.fixture
async def signed(api: Api) -> AsyncIterator[Signed]:
    key = SendGridKey.generate()
    app = create_app(
        api_settings(sendgrid_webhook_public_key=key.public_b64),
        sessions=api.sessions,
        client=api.env.client,
        clock=async_server_clock(api.env),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield Signed(http=http, key=key)


def rows(api: Api, model: type[Any]) -> list[Any]:
    with api.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def logged_message(
    api: Api, account: StartedAccount, channel: str, seq: int, provider_id: str | None = None
) -> Communication:
    """A message the account's workflow sent (as the send activity logs it)."""
    now = TEST_NOW
    with api.sessions() as session:
        row = Communication(
            key=f"{account.workflow_id}:{seq}",
            account_id=account.id,
            workflow_id=account.workflow_id,
            seq=seq,
            step="llamada",
            channel=channel,
            template="recordatorio",
            to_address=f"{account.external_id.lower()}@example.com" if channel == "email" else NUMBER,
            status="sent",
            provider="sendgrid" if channel == "email" else "twilio",
            provider_id=provider_id,
            planned_at=now,
            sent_at=now,
        )
        session.add(row)
        session.commit()
        return row


def assert_forbidden(answer: httpx.Response, mentions: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert mentions in answer.json()["detail"]


# ---- payment providers ------------------------------------------------------------------------


def payment_event(account: StartedAccount, **overrides: Any) -> bytes:
    event: dict[str, Any] = {
        "event_id": "evt-1",
        "account_id": account.id,
        "provider_payment_id": "pay-1",
        "amount": 40_000,
        "currency": "CLP",
        "paid_at": "2025-03-01T12:00:00Z",
    }
    event.update(overrides)
    return json.dumps({k: v for k, v in event.items() if v is not None}).encode()


class TestPaymentWebhook:
    async def test_a_signed_payment_is_recorded_and_redeliveries_count_once(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        body = payment_event(account)
        first = await api.http.post(
            "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
        )
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "recorded"
        assert first.json()["signalled"] is True

        # The same event again, then the same payment under a new event id.
        again = await api.http.post(
            "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
        )
        # A redelivery is signalled again (the first signal may have failed after the commit);
        # the workflow still counts the payment once, as paid_total below shows.
        assert again.json() == {**first.json(), "status": "duplicate", "signalled": True}
        other = payment_event(account, event_id="evt-2")
        later = await api.http.post(
            "/webhooks/payments/khipu", content=other, headers=payment_headers(WEBHOOK_SECRET, "khipu", other)
        )
        assert later.status_code == 200
        assert later.json()["status"] == "duplicate"

        [paid] = rows(api, Payment)
        assert (paid.provider, paid.provider_payment_id, paid.amount) == ("khipu", "pay-1", 40_000)
        assert paid.received_at == datetime(2025, 3, 1, 12, tzinfo=UTC)
        view = await live_state(api, account.workflow_id)
        assert (view.paid_total, view.balance) == (40_000, 110_000)

    async def test_the_account_may_be_named_by_campaign_and_external_id(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        body = payment_event(
            account, account_id=None, campaign_id=account.campaign_id, external_account_id=account.external_id
        )
        answer = await api.http.post(
            "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
        )
        assert answer.status_code == 200, answer.text
        assert [p.account_id for p in rows(api, Payment)] == [account.id]

    async def test_signatures_that_do_not_hold_are_refused(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        body = payment_event(account)
        url = "/webhooks/payments/khipu"
        good = payment_headers(WEBHOOK_SECRET, "khipu", body)

        tampered = body.replace(b"40000", b"4000000")
        assert_forbidden(await api.http.post(url, content=tampered, headers=good), "does not match")
        assert_forbidden(
            await api.http.post(url, content=body, headers=payment_headers("not-the-secret", "khipu", body)), "match"
        )
        stale = payment_headers(WEBHOOK_SECRET, "khipu", body, timestamp=int(time.time()) - 301)
        assert_forbidden(await api.http.post(url, content=body, headers=stale), "X-Signature-Timestamp")
        future = payment_headers(WEBHOOK_SECRET, "khipu", body, timestamp=int(time.time()) + 301)
        assert_forbidden(await api.http.post(url, content=body, headers=future), "X-Signature-Timestamp")
        assert_forbidden(await api.http.post(url, content=body), "X-Signature header is missing")
        no_time = {"X-Signature": good["X-Signature"]}
        assert_forbidden(await api.http.post(url, content=body, headers=no_time), "X-Signature-Timestamp header")
        bare_hex = {**good, "X-Signature": good["X-Signature"].removeprefix("sha256=")}
        assert_forbidden(await api.http.post(url, content=body, headers=bare_hex), "sha256=")
        # The signature binds the timestamp too: a fresh timestamp on an old signature fails.
        moved = {**good, "X-Signature-Timestamp": str(int(good["X-Signature-Timestamp"]) + 1)}
        assert_forbidden(await api.http.post(url, content=body, headers=moved), "does not match")
        # No API key is needed or used: a supervisor's key does not make a bad signature good.
        keyed = {**api.as_("supervisor"), **payment_headers(WEBHOOK_SECRET, "khipu", tampered)}
        assert_forbidden(await api.http.post(url, content=body, headers=keyed), "does not match")
        assert rows(api, Payment) == []
        assert rows(api, WebhookReceipt) == []

    async def test_one_signed_payment_counts_once_whatever_the_unsigned_parts_of_the_request_say(
        self, api: Api
    ) -> None:
        """Issue 9: the same signed bytes posted to /webhooks/payments/prov0 … prov19 booked 20
        payments. Everything an attacker can change without a secret (the path's provider, the
        query string, the spelling of the path and of the signature, any other header) must
        leave one payment, counted once by the account's workflow."""
        [account] = await start_accounts(api, CALLS, 1)
        body = payment_event(account, amount=1_000)
        headers = payment_headers(WEBHOOK_SECRET, "khipu", body)
        first = await api.http.post("/webhooks/payments/khipu", content=body, headers=headers)
        assert first.json()["status"] == "recorded", first.text

        # Every other configured provider's path: the provider is signed, and each has its own secret.
        for provider in PAYMENT_SECRETS.keys() - {"khipu"}:
            answer = await api.http.post(f"/webhooks/payments/{provider}", content=body, headers=headers)
            assert_forbidden(answer, "does not match")
        # Providers nobody configured: not found, like any path that does not exist.
        for provider in ("acme", "khipu2", "k", "khipu.", "0", "KHIPU", "Khipu", "k%20hipu", "x" * 300):
            answer = await api.http.post(f"/webhooks/payments/{provider}", content=body, headers=headers)
            assert answer.status_code == 404, (provider, answer.text)
        # The same request with its unsigned parts changed.
        digest = headers["X-Signature"].removeprefix("sha256=")
        replays = [
            ("/webhooks/payments/khipu?provider=prov1", headers),
            ("/webhooks/payments/khipu?event_id=evt-2&provider_payment_id=pay-2", headers),
            ("/webhooks/payments/%6Bhipu", headers),
            ("/webhooks/payments/khipu", {**headers, "X-Signature": f"sha256={digest.upper()}"}),
            ("/webhooks/payments/khipu", {**headers, "X-Signature": f"  sha256={digest}  "}),
            (
                "/webhooks/payments/khipu",
                {
                    **headers,
                    "Content-Type": "text/plain",
                    "X-Provider": "prov1",
                    "X-Forwarded-Host": "other.example",
                    "X-Forwarded-For": "203.0.113.9",
                    "Idempotency-Key": "another-key",
                },
            ),
        ]
        for url, replay_headers in replays:
            answer = await api.http.post(url, content=body, headers=replay_headers)
            assert answer.status_code in (200, 403, 404), (url, answer.text)
            if answer.status_code == 200:
                assert answer.json()["status"] == "duplicate", (url, answer.text)
                assert answer.json()["payment_id"] == first.json()["payment_id"]

        [paid] = rows(api, Payment)
        assert (paid.provider, paid.provider_payment_id, paid.amount) == ("khipu", "pay-1", 1_000)
        assert [(r.source, r.event_id) for r in rows(api, WebhookReceipt)] == [("payment:khipu", "evt-1")]
        view = await live_state(api, account.workflow_id)
        assert view.paid_total == 1_000

    async def test_a_provider_cannot_sign_for_another(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        body = payment_event(account)
        prov1 = PAYMENT_SECRETS["prov1"]
        forged = [
            ("khipu", payment_headers(prov1, "prov1", body)),  # prov1's own signature on khipu's path
            ("khipu", payment_headers(prov1, "khipu", body)),  # prov1's secret, claiming to be khipu
            ("prov1", payment_headers(WEBHOOK_SECRET, "prov1", body)),  # khipu's secret on prov1's path
            ("prov1", payment_headers(WEBHOOK_SECRET, "khipu", body)),  # khipu's signature on prov1's path
        ]
        for provider, headers in forged:
            answer = await api.http.post(f"/webhooks/payments/{provider}", content=body, headers=headers)
            assert_forbidden(answer, "does not match")
        # The old scheme, "<timestamp>.<body>" with no provider in it, no longer holds.
        stamp = str(int(time.time()))
        old = hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        legacy = {"X-Signature": f"sha256={old}", "X-Signature-Timestamp": stamp}
        assert_forbidden(
            await api.http.post("/webhooks/payments/khipu", content=body, headers=legacy), "does not match"
        )
        assert rows(api, Payment) == []
        assert rows(api, WebhookReceipt) == []

    async def test_a_provider_without_a_secret_is_not_found_and_says_nothing_more(self, api: Api) -> None:
        body = b"{}"
        unknown = await api.http.post(
            "/webhooks/payments/acme", content=body, headers=payment_headers("guess", "acme", body)
        )
        nowhere = await api.http.post("/webhooks/nowhere/acme", content=body)
        assert unknown.status_code == nowhere.status_code == 404
        assert unknown.headers["content-type"] == PROBLEM
        assert {**unknown.json(), "instance": None} == {**nowhere.json(), "instance": None}
        # With no provider configured at all, every provider is unknown.
        app = create_app(
            api_settings(payment_webhook_secrets={}),
            sessions=api.sessions,
            client=api.env.client,
            clock=async_server_clock(api.env),
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            answer = await http.post(
                "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
            )
        assert answer.status_code == 404

    @pytest.mark.parametrize(
        ("body", "status", "pointer"),
        [
            (b"{not json", 400, None),
            (b'{"event_id": "e"}', 422, "/body/provider_payment_id"),
            (b"[]", 422, "/body"),
        ],
    )
    async def test_a_signed_body_that_is_not_a_payment_is_a_problem(
        self, api: Api, body: bytes, status: int, pointer: str | None
    ) -> None:
        answer = await api.http.post(
            "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
        )
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == PROBLEM
        if pointer is not None:
            assert pointer in [e["pointer"] for e in answer.json()["errors"]]
        else:
            assert answer.json()["errors"][0]["line"] == 1

    @pytest.mark.parametrize(
        ("overrides", "pointer"),
        [
            ({"account_id": 999_999}, "/body/account_id"),
            ({"currency": "USD"}, "/body/currency"),
            ({"amount": "40000"}, "/body/amount"),
            ({"amount": -5}, "/body/amount"),
            ({"paid_at": "2025-03-01T12:00:00"}, "/body/paid_at"),
            ({"campaign_id": "camp-api"}, "/body"),
        ],
    )
    async def test_a_signed_payment_that_cannot_be_booked_is_a_422_and_is_not_claimed(
        self, api: Api, overrides: dict[str, Any], pointer: str
    ) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        body = payment_event(account, **overrides)
        answer = await api.http.post(
            "/webhooks/payments/khipu", content=body, headers=payment_headers(WEBHOOK_SECRET, "khipu", body)
        )
        assert answer.status_code == 422, answer.text
        assert pointer in [e["pointer"] for e in answer.json()["errors"]]
        assert rows(api, WebhookReceipt) == []  # the provider's retry, once fixed, is processed afresh
        assert rows(api, Payment) == []


# ---- SendGrid ---------------------------------------------------------------------------------


def sg_event(comm: Communication | None, event: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "email": "acc-1@example.com",
        "timestamp": 1_740_830_400 + n,
        "event": event,
        "sg_event_id": f"sg-{event}-{n}",
        "sg_message_id": "msg.filter001",
        **({"collect_key": comm.key} if comm is not None else {}),
        **extra,
    }


class TestSendGridWebhook:
    async def test_events_reach_the_log_and_the_workflow_once_each(self, api: Api, signed: Signed) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "email", seq=90)
        events = [
            sg_event(comm, "processed", 1),
            sg_event(comm, "delivered", 2),
            sg_event(comm, "open", 3),
            sg_event(comm, "click", 4, url="https://pay.example/ACC-1"),
            sg_event(None, "delivered", 5),  # a message that is not ours (or not known yet): kept
        ]
        body = sendgrid_body(events)
        answer = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": 5, "recorded": 5, "duplicates": 0, "signalled": 3}

        # SendGrid redelivers: the whole batch again, plus one new event (a second open: stored,
        # not signalled, since the workflow already heard this message was opened).
        again = sendgrid_body([*events, sg_event(comm, "open", 6)])
        answer = await signed.http.post("/webhooks/sendgrid/events", content=again, headers=signed.key.headers(again))
        assert answer.json() == {"received": 6, "recorded": 1, "duplicates": 5, "signalled": 0}

        stored = rows(api, MessageEvent)
        assert [(e.event, e.communication_id) for e in stored] == [
            ("processed", comm.id),
            ("delivered", comm.id),
            ("open", comm.id),
            ("click", comm.id),
            ("delivered", None),
            ("open", comm.id),
        ]
        assert stored[3].payload["url"] == "https://pay.example/ACC-1"
        assert stored[0].occurred_at == datetime.fromtimestamp(1_740_830_401, UTC)
        assert rows(api, Communication)[0].status == "clicked"
        view = await live_state(api, account.workflow_id)
        assert (view.counters.opened, view.counters.clicked) == (1, 1)  # messages opened and clicked, not open events

    async def test_unsubscribe_and_spam_reports_opt_the_email_out(self, api: Api, signed: Signed) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "email", seq=91)
        body = sendgrid_body([sg_event(comm, "spamreport", 1)])
        answer = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert answer.status_code == 200
        view = await live_state(api, account.workflow_id)
        assert view.opted_out == (Channel.EMAIL,)
        points = {p.channel: p.opted_out_at for p in rows(api, ContactPoint)}
        assert points["email"] is not None
        assert points["sms"] is None

    async def test_a_bounce_marks_the_message_and_the_channel(self, api: Api, signed: Signed) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "email", seq=92)
        body = sendgrid_body([sg_event(comm, "bounce", 1, type="bounce", reason="550 no such user")])
        await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert rows(api, Communication)[0].status == "bounced"
        assert (await live_state(api, account.workflow_id)).invalid == (Channel.EMAIL,)

    async def test_signatures_that_do_not_hold_are_refused(self, api: Api, signed: Signed) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "email", seq=93)
        body = sendgrid_body([sg_event(comm, "open", 1)])
        url = "/webhooks/sendgrid/events"
        good = signed.key.headers(body)

        tampered = body.replace(b'"open"', b'"click"')
        assert_forbidden(await signed.http.post(url, content=tampered, headers=good), "does not match")
        # Re-serialized JSON with the same meaning is not what was signed.
        pretty = json.dumps(json.loads(body)).encode()
        assert_forbidden(await signed.http.post(url, content=pretty, headers=good), "does not match")
        other_key = SendGridKey.generate()
        assert_forbidden(await signed.http.post(url, content=body, headers=other_key.headers(body)), "does not match")
        stale = signed.key.headers(body, timestamp=int(time.time()) - 600)
        assert_forbidden(await signed.http.post(url, content=body, headers=stale), "Timestamp")
        assert_forbidden(await signed.http.post(url, content=body), "Signature header is missing")
        garbage = {**good, "X-Twilio-Email-Event-Webhook-Signature": "%%% not base64 %%%"}
        assert_forbidden(await signed.http.post(url, content=body, headers=garbage), "does not match")
        # The `api` app has no SendGrid key configured: nothing is accepted there.
        assert_forbidden(await api.http.post(url, content=body, headers=good), "not configured")
        assert rows(api, MessageEvent) == []
        assert (await live_state(api, account.workflow_id)).counters.opened == 0

    async def test_a_replay_with_other_unsigned_parts_records_nothing_new(self, api: Api, signed: Signed) -> None:
        """The class of issue 9's payment defect, on SendGrid: only the body and timestamp are
        signed, so nothing else in the request may feed a key or an effect."""
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "email", seq=96)
        body = sendgrid_body([sg_event(comm, "open", 1), sg_event(comm, "unsubscribe", 2)])
        headers = signed.key.headers(body)
        first = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=headers)
        assert first.json()["recorded"] == 2
        noisy = {**headers, "X-Forwarded-Host": "other.example", "X-Forwarded-For": "203.0.113.9", "X-Event": "click"}
        for url, replay_headers in (
            ("/webhooks/sendgrid/events?sg_event_id=sg-open-9&collect_key=x", headers),
            ("/webhooks/sendgrid/events", noisy),
            ("/webhooks/sendgrid/events", {**headers, "Content-Type": "text/plain"}),
        ):
            answer = await signed.http.post(url, content=body, headers=replay_headers)
            assert answer.json() == {"received": 2, "recorded": 0, "duplicates": 2, "signalled": 0}, url
        assert len(rows(api, MessageEvent)) == 2
        view = await live_state(api, account.workflow_id)
        assert (view.counters.opened, view.opted_out) == (1, (Channel.EMAIL,))

    async def test_repeated_opens_and_clicks_reach_the_workflow_once_per_message(
        self, api: Api, signed: Signed
    ) -> None:
        """Mail clients open a message many times; the workflow hears each kind once per message,
        in one batch or across batches, while every event is stored."""
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "email", seq=95)
        first = [sg_event(comm, "open", n) for n in range(1, 40)] + [sg_event(comm, "click", 40)]
        body = sendgrid_body(first)
        answer = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert answer.json() == {"received": 40, "recorded": 40, "duplicates": 0, "signalled": 2}
        later = [sg_event(comm, "open", 41), sg_event(comm, "click", 42), sg_event(comm, "click", 43)]
        body = sendgrid_body(later)
        answer = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert answer.json() == {"received": 3, "recorded": 3, "duplicates": 0, "signalled": 0}
        assert len(rows(api, MessageEvent)) == 43
        view = await live_state(api, account.workflow_id)
        assert (view.counters.opened, view.counters.clicked) == (1, 1)

    async def test_a_batch_of_50000_events_is_stored_and_counted_in_bulk(self, api: Api, signed: Signed) -> None:
        """Issue 9: a signed batch of 50,000 events took over 120 s, one query per event. The
        batch now goes through in a few statements; this checks what it records, not how fast
        (benchmarks/bench_sendgrid.py prints the time)."""
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "email", seq=95)
        already = [sg_event(None, "processed", n) for n in range(10)]
        body = sendgrid_body(already)
        first = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert first.json()["recorded"] == 10

        ours = [sg_event(comm, "delivered", 1), sg_event(comm, "open", 2), sg_event(comm, "open", 3)]
        unknown = [sg_event(None, "processed", n, collect_key=f"nobody:{n}") for n in range(10, 49_987)]
        events = [*already, *ours, *unknown]  # 10 already recorded + 3 + 49,977 new = 49,990
        events += [
            unknown[0],
            unknown[1],
            ours[2],
            already[0],
            already[1],
            unknown[2],
            unknown[3],
            ours[0],
            *already[:2],
        ]
        assert len(events) == 50_000
        body = sendgrid_body(events)
        answer = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert answer.status_code == 200, answer.text[:500]
        # delivered and the first open reach the workflow; the second open is stored, not signalled
        assert answer.json() == {"received": 50_000, "recorded": 49_980, "duplicates": 20, "signalled": 2}

        stored = rows(api, MessageEvent)
        assert len(stored) == 10 + 49_980
        assert len({e.provider_event_id for e in stored}) == len(stored)
        assert [(e.event, e.communication_id) for e in stored if e.communication_id is not None] == [
            ("delivered", comm.id),
            ("open", comm.id),
            ("open", comm.id),
        ]
        with api.sessions() as session:
            assert session.scalar(select(func.count()).select_from(WebhookReceipt)) == 49_990
        assert rows(api, Communication)[0].status == "opened"
        assert (await live_state(api, account.workflow_id)).counters.opened == 1  # messages opened

    async def test_a_batch_over_the_limit_is_a_413_and_changes_nothing(self, api: Api, signed: Signed) -> None:
        events = [sg_event(None, "processed", n) for n in range(50_001)]  # the default limit is 50,000
        body = sendgrid_body(events)
        answer = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert "at most 50000" in answer.json()["detail"]
        assert answer.json()["errors"][0]["pointer"] == "/body"
        assert rows(api, MessageEvent) == []
        assert rows(api, WebhookReceipt) == []

    async def test_a_signed_batch_that_is_not_events_is_a_problem(self, api: Api, signed: Signed) -> None:
        for body, status in ((b'{"event": "open"}', 422), (b'[{"event": "open"}]', 422), (b"[{", 400)):
            answer = await signed.http.post("/webhooks/sendgrid/events", content=body, headers=signed.key.headers(body))
            assert answer.status_code == status, answer.text
            assert answer.headers["content-type"] == PROBLEM
        answer = await signed.http.post(
            "/webhooks/sendgrid/events",
            content=b'[{"event": "open"}]',
            headers=signed.key.headers(b'[{"event": "open"}]'),
        )
        assert "/body/0/sg_event_id" in [e["pointer"] for e in answer.json()["errors"]]


# ---- Twilio -----------------------------------------------------------------------------------


async def twilio_post(api: Api, path: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> httpx.Response:
    """POST as Twilio does: the form signed for the public URL it calls."""
    body, headers = twilio_request(token, f"{PUBLIC_BASE_URL}{path}", params)
    return await api.http.post(path, content=body, headers=headers)


def sms_strategy(tmp_path: Path) -> Path:
    path = tmp_path / "sms.yaml"
    path.write_text(SMS_STRATEGY, encoding="utf-8")
    return path


def sms_log(api: Api, workflow_id: str) -> list[tuple[str, str | None]]:
    with api.sessions() as session:
        return [
            (c.status, c.blocked_rule)
            for c in session.scalars(
                select(Communication)
                .where(Communication.workflow_id == workflow_id, Communication.channel == "sms")
                .order_by(Communication.id)
            )
        ]


class TestTwilioStatus:
    async def test_status_callbacks_move_the_message_and_reach_the_workflow(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        logged_message(api, account, "sms", seq=94, provider_id="SM0001")

        delivered = await twilio_post(
            api, "/webhooks/twilio/status", {"MessageSid": "SM0001", "MessageStatus": "delivered"}
        )
        assert delivered.status_code == 200, delivered.text
        assert delivered.headers["content-type"].startswith("text/xml")
        assert "<Response/>" in delivered.text
        assert rows(api, Communication)[0].status == "delivered"

        failed = {"MessageSid": "SM0001", "MessageStatus": "undelivered", "ErrorCode": "30003"}
        assert (await twilio_post(api, "/webhooks/twilio/status", failed)).status_code == 200
        assert (await twilio_post(api, "/webhooks/twilio/status", failed)).status_code == 200  # redelivered
        [comm] = rows(api, Communication)
        assert (comm.status, comm.error_code) == ("failed", "30003")
        assert [(e.event, e.provider_event_id) for e in rows(api, MessageEvent)] == [
            ("delivered", "SM0001:delivered"),
            ("undelivered", "SM0001:undelivered"),
        ]
        assert (await live_state(api, account.workflow_id)).invalid == (Channel.SMS,)

    async def test_a_replay_with_other_unsigned_parts_records_nothing_new(self, api: Api) -> None:
        """Twilio signs the URL it called (query string included) and the form; the rest of the
        request (headers, the Host a proxy passes on) may not make a replay count again."""
        [account] = await start_accounts(api, CALLS, 1)
        logged_message(api, account, "sms", seq=97, provider_id="SM0009")
        path, params = "/webhooks/twilio/status", {"MessageSid": "SM0009", "MessageStatus": "delivered"}
        body, headers = twilio_request(TWILIO_TOKEN, f"{PUBLIC_BASE_URL}{path}", params)
        assert (await api.http.post(path, content=body, headers=headers)).status_code == 200
        # A query string is part of the signed URL: adding one breaks the signature.
        for query in ("?MessageStatus=read", "?MessageSid=SM0010"):
            assert_forbidden(await api.http.post(path + query, content=body, headers=headers), "does not match")
        # Other headers are not signed and change nothing: the same (sid, status) counts once.
        noisy = {**headers, "Host": "other.example", "X-Forwarded-Host": "other.example", "X-Twilio-Status": "read"}
        assert (await api.http.post(path, content=body, headers=noisy)).status_code == 200
        assert [e.provider_event_id for e in rows(api, MessageEvent)] == ["SM0009:delivered"]
        assert rows(api, Communication)[0].status == "delivered"

    async def test_error_21610_mirrors_the_carriers_stop(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        logged_message(api, account, "sms", seq=95, provider_id="SM0002")
        params = {"MessageSid": "SM0002", "MessageStatus": "failed", "ErrorCode": "21610"}
        assert (await twilio_post(api, "/webhooks/twilio/status", params)).status_code == 200
        assert Channel.SMS in (await live_state(api, account.workflow_id)).opted_out
        assert {p.channel: p.opted_out_at is not None for p in rows(api, ContactPoint)}["sms"] is True

    async def test_signatures_that_do_not_hold_are_refused(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        logged_message(api, account, "sms", seq=96, provider_id="SM0003")
        params = {"MessageSid": "SM0003", "MessageStatus": "delivered"}
        path = "/webhooks/twilio/status"
        assert_forbidden(await twilio_post(api, path, params, token="wrong-token"), "does not match")
        # Signed for the URL as seen behind the proxy, not the public one Twilio calls.
        body, headers = twilio_request(TWILIO_TOKEN, f"http://testserver{path}", params)
        assert_forbidden(await api.http.post(path, content=body, headers=headers), PUBLIC_BASE_URL)
        # A parameter changed after signing.
        body, headers = twilio_request(TWILIO_TOKEN, f"{PUBLIC_BASE_URL}{path}", params)
        forged = body.replace(b"delivered", b"failed")
        assert_forbidden(await api.http.post(path, content=forged, headers=headers), "does not match")
        unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
        assert_forbidden(await api.http.post(path, content=body, headers=unsigned), "X-Twilio-Signature")
        assert rows(api, MessageEvent) == []
        assert rows(api, Communication)[0].status == "sent"

    async def test_a_signed_callback_without_a_sid_is_a_problem(self, api: Api) -> None:
        answer = await twilio_post(api, "/webhooks/twilio/status", {"MessageStatus": "delivered"})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["pointer"] == "/body/MessageSid"


class TestTwilioInbound:
    async def test_stop_opts_the_number_out_and_no_sms_goes_out_until_start(self, api: Api, tmp_path: Path) -> None:
        [account] = await start_accounts(api, sms_strategy(tmp_path), 1)
        stop = {"MessageSid": "SM1001", "From": NUMBER, "To": "+56200000000", "Body": "STOP"}
        answer = await twilio_post(api, "/webhooks/twilio/inbound", stop)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/xml")
        view = await live_state(api, account.workflow_id)
        assert view.opted_out == (Channel.SMS,)
        points = {p.channel: p.opted_out_at for p in rows(api, ContactPoint)}
        assert points["sms"] is not None
        assert points["voice"] is None
        assert points["email"] is None

        await skip(api.env, timedelta(days=1, hours=6))  # past the first SMS
        await settle(api, account.workflow_id)
        assert [m.channel for m in rows(api, OutboxMessage)] == []
        assert sms_log(api, account.workflow_id) == [("blocked", "opt-out")]

        start = {"MessageSid": "SM1002", "From": NUMBER, "To": "+56200000000", "Body": "start"}
        assert (await twilio_post(api, "/webhooks/twilio/inbound", start)).status_code == 200
        assert (await live_state(api, account.workflow_id)).opted_out == ()
        assert {p.channel: p.opted_out_at for p in rows(api, ContactPoint)}["sms"] is None
        await skip(api.env, timedelta(days=1))  # past the second SMS
        await settle(api, account.workflow_id)
        assert [(m.channel, m.to_address) for m in rows(api, OutboxMessage)] == [("sms", NUMBER)]

    async def test_stop_reaches_every_account_of_every_debtor_with_the_number(self, api: Api) -> None:
        accounts = await start_accounts(api, CALLS, 2)  # two debtors, one phone number
        baja = {"MessageSid": "SM1003", "From": NUMBER, "Body": "  Baja. "}
        assert (await twilio_post(api, "/webhooks/twilio/inbound", baja)).status_code == 200
        for account in accounts:
            assert (await live_state(api, account.workflow_id)).opted_out == (Channel.SMS,)
        # Redelivered: the same message is handled once.
        assert (await twilio_post(api, "/webhooks/twilio/inbound", baja)).status_code == 200
        assert [e.event for e in rows(api, MessageEvent)] == ["opt_out"]

    async def test_whatsapp_stop_opts_out_whatsapp_only(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        params = {"MessageSid": "SM1004", "From": f"whatsapp:{NUMBER}", "Body": "NO MOLESTAR"}
        assert (await twilio_post(api, "/webhooks/twilio/inbound", params)).status_code == 200
        assert (await live_state(api, account.workflow_id)).opted_out == (Channel.WHATSAPP,)
        assert all(p.opted_out_at is None for p in rows(api, ContactPoint))  # no WhatsApp contact point on file

    async def test_anything_else_is_a_reply(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        comm = logged_message(api, account, "sms", seq=97, provider_id="SM0009")
        params = {"MessageSid": "SM1005", "From": NUMBER, "Body": "Stop please, I will pay on Friday"}
        assert (await twilio_post(api, "/webhooks/twilio/inbound", params)).status_code == 200
        [event] = rows(api, MessageEvent)
        assert (event.event, event.communication_id) == ("replied", comm.id)
        assert event.payload["Body"] == params["Body"]
        assert rows(api, Communication)[0].status == "replied"
        assert (await live_state(api, account.workflow_id)).opted_out == ()

    async def test_unsigned_or_wrongly_signed_messages_change_nothing(self, api: Api) -> None:
        [account] = await start_accounts(api, CALLS, 1)
        params = {"MessageSid": "SM1006", "From": NUMBER, "Body": "STOP"}
        assert_forbidden(await twilio_post(api, "/webhooks/twilio/inbound", params, token="nope"), "does not match")
        assert (await live_state(api, account.workflow_id)).opted_out == ()
        assert rows(api, WebhookReceipt) == []

    @pytest.mark.parametrize(
        ("body", "opt_out_type", "intent"),
        [
            ("STOP", None, "opt_out"),
            ("stop", None, "opt_out"),
            ("Stop!", None, "opt_out"),
            ("stopall", None, "opt_out"),
            ("UNSUBSCRIBE", None, "opt_out"),
            ("cancel", None, "opt_out"),
            ("End", None, "opt_out"),
            ("quit", None, "opt_out"),
            ("baja", None, "opt_out"),
            ("ALTO", None, "opt_out"),
            ("no  molestar", None, "opt_out"),
            ("Stop please", None, "reply"),
            ("START", None, "opt_in"),
            ("unstop", None, "opt_in"),
            ("Alta", None, "opt_in"),
            ("hola, ¿cuánto debo?", None, "reply"),
            ("Detener", "STOP", "opt_out"),  # a keyword configured in Twilio's Advanced Opt-Out
            ("Volver", "START", "opt_in"),
            ("AYUDA", "HELP", "reply"),
        ],
    )
    def test_keywords(self, body: str, opt_out_type: str | None, intent: str) -> None:
        assert keyword_intent(body, opt_out_type) == intent
