"""Webhooks to the creditor's systems (the strategy's `notify` action): a JSON body signed like the
payment webhooks the product receives (`domain.signing.hmac_signature`: HMAC-SHA256 of
`"<timestamp>.<campaign id>.<raw body>"` under the campaign's secret, opened from its sealed form
at each attempt), posted to the campaign's
notify URL with the workflow's idempotency key.

Each attempt writes its answer on the notification's row (the account's timeline reads it). A 2xx
is delivered; 408, 429, a 5xx, a timeout, no connection or a name that does not resolve are
retried by Temporal with backoff (`workflows.options.NOTIFY`); any other answer is rejected and
never retried. The last attempt records the failure and returns, so the workflow goes on either
way. Redirects are not followed: they could lead where the URL check would not let a webhook go.
The post connects to the addresses the check approved, not to whatever the name resolves to a
moment later (`post_checked`).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.lookups import account_by_workflow
from db.models import Campaign, CreditorNotification
from db.session import session_scope
from domain.signing import HMAC_SIGNATURE, HMAC_TIMESTAMP, hmac_signature
from services import campaign_notify
from services.notify_targets import TargetRefused, TargetUnresolved, check_resolved
from services.secrets_at_rest import SealedSecretError, SecretBox
from workflows.contracts import NotifyInput, NotifyResult

IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Collect-Event"
TIMEOUT_S = 10.0  # the receiver answers or the attempt is retried later
EXCERPT_CHARS = 500
RETRIED = frozenset({408, 429})
FINAL = frozenset({"delivered", "rejected", "failed", "not_configured", "refused"})


def notification_body(input: NotifyInput) -> dict[str, Any]:
    """What the receiver gets: the same on every attempt."""
    return {
        "event": input.event,
        "idempotency_key": input.key,
        "occurred_at": input.at.isoformat(),
        "campaign": input.campaign_id,
        "account_id": input.account_id,
        "strategy": {"id": input.strategy_id, "version": input.strategy_hash},
        "step": input.step,
        "balance": {"amount": input.balance, "currency": input.currency},
        "data": dict(input.data),
    }


def raw_body(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def post_checked(
    url: str,
    content: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float = TIMEOUT_S,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Response:
    """POST to `url`, connected to an address `check_resolved` approved for it and to no other.

    The name is resolved once, by the check; the request then goes to the address itself (tried in
    the resolver's order when one refuses the connection, as a connection to the name would), with
    the URL's host in the Host header and, for https, as the TLS server name: the certificate is
    still verified against the host name, not the address. Letting the client resolve the name
    again would open the DNS-rebinding window (a public answer to the check, 127.0.0.1 to the
    connection). No proxy from the environment either (`trust_env=False`): a proxy would resolve
    the name itself, and a TLS tunnel through it would not keep the server name."""
    addresses = check_resolved(url, allow_private=allow_private)
    target = httpx.URL(url)
    pinned = {**headers, "Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.raw_host.decode("ascii")} if target.scheme == "https" else {}
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=verify) as client:
        for address in addresses[:-1]:
            try:
                return client.post(
                    target.copy_with(host=address), content=content, headers=pinned, extensions=extensions
                )
            except httpx.ConnectError:
                continue  # refused or unreachable: the name's next address
        return client.post(target.copy_with(host=addresses[-1]), content=content, headers=pinned, extensions=extensions)


class NotifyActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        secrets: SecretBox,
        *,
        allow_private: bool = False,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._secrets = secrets
        self._allow_private = allow_private

    @activity.defn(name="notify_creditor", no_thread_cancel_exception=True)
    def notify_creditor(self, input: NotifyInput) -> NotifyResult:
        attempt = activity.info().attempt
        with session_scope(self._sessions) as session:
            row = self._row(session, input)
            if row.status in FINAL:  # an earlier attempt finished; its completion never reached Temporal
                return NotifyResult(status=row.status, response_status=row.response_status)
            campaign = session.get(Campaign, input.campaign_id)
            url = campaign.notify_url if campaign is not None else None
            secret: str | None = None
            unopened: str | None = None
            try:
                secret = campaign_notify.signing_secret(campaign, self._secrets) if campaign is not None else None
            except SealedSecretError as exc:
                # This worker lacks the key the secret was sealed with (e.g. a rotation reached the
                # API first): retried with backoff, as another worker or a restart with the key may
                # send it; the last attempt records the failure, naming the key id.
                unopened = f"the campaign's signing secret does not open: {exc}"
            body = dict(row.body)
        if unopened is not None and url:
            return self._retry_or_fail(input, attempt, url, None, None, unopened)
        if not url or not secret:
            return self._record(input, attempt, "not_configured", error="the campaign has no notify URL")
        content = raw_body(body)
        stamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: input.key,
            EVENT_HEADER: input.event,
            HMAC_TIMESTAMP: stamp,
            HMAC_SIGNATURE: hmac_signature(secret, stamp, input.campaign_id, content),
        }
        try:
            response = post_checked(url, content, headers, allow_private=self._allow_private)
        except TargetUnresolved as exc:
            return self._retry_or_fail(input, attempt, url, None, None, str(exc))
        except TargetRefused as exc:
            return self._record(input, attempt, "refused", url=url, error=f"{url}: {exc}")
        except httpx.HTTPError as exc:
            return self._retry_or_fail(input, attempt, url, None, None, f"{type(exc).__name__}: {exc}")
        excerpt = response.text[:EXCERPT_CHARS] or None
        code = response.status_code
        if 200 <= code < 300:
            return self._record(input, attempt, "delivered", url=url, code=code, excerpt=excerpt)
        if code in RETRIED or code >= 500:
            return self._retry_or_fail(input, attempt, url, code, excerpt, f"HTTP {code}")
        return self._record(input, attempt, "rejected", url=url, code=code, excerpt=excerpt, error=f"HTTP {code}")

    def _row(self, session: Session, input: NotifyInput) -> CreditorNotification:
        row = session.scalar(select(CreditorNotification).where(CreditorNotification.key == input.key))
        if row is not None:
            return row
        account = account_by_workflow(session, input.workflow_id)
        row = CreditorNotification(
            key=input.key,
            account_id=account.id,
            campaign_id=input.campaign_id,
            step=input.step,
            event=input.event,
            balance=input.balance,
            currency=input.currency,
            body=notification_body(input),
            status="retrying",
            attempts=0,
            created_at=input.at,
        )
        session.add(row)
        session.flush()
        return row

    def _retry_or_fail(
        self, input: NotifyInput, attempt: int, url: str, code: int | None, excerpt: str | None, error: str
    ) -> NotifyResult:
        if attempt >= input.max_attempts:
            return self._record(input, attempt, "failed", url=url, code=code, excerpt=excerpt, error=error)
        self._record(input, attempt, "retrying", url=url, code=code, excerpt=excerpt, error=error)
        raise ApplicationError(f"notify {input.event} to {url}: {error}; retried later", type="NotifyRetry")

    def _record(
        self,
        input: NotifyInput,
        attempt: int,
        status: str,
        *,
        url: str | None = None,
        code: int | None = None,
        excerpt: str | None = None,
        error: str | None = None,
    ) -> NotifyResult:
        with session_scope(self._sessions) as session:
            row = self._row(session, input)
            row.status = status
            row.url = url
            row.attempts = attempt
            row.response_status = code
            row.response_excerpt = excerpt
            row.error = error
            row.answered_at = self._clock()
        return NotifyResult(status=status, response_status=code)
