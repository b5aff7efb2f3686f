"""A campaign's webhook to the creditor's systems, for every door (API, CLI): where the strategy's
`notify` actions post (the notify URL, checked by services/notify_targets.py) and the secret they
are signed with (made here, shown once when made or rotated, and stored sealed: see
services/secrets_at_rest.py; `signing_secret` opens it for the webhook activity).

A campaign whose strategy version uses `notify` cannot launch, nor move to such a version, without
a notify URL: the accounts would tell the creditor's systems nothing. If the URL is removed later,
each `notify` is recorded as not sent ("not configured") on the account's timeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from secrets import token_urlsafe
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Campaign
from db.repositories import campaigns
from services.errors import Conflict, Field, Invalid
from services.notify_targets import Reason, TargetRefused, check_url
from services.secrets_at_rest import PREFIX, SecretBox, is_sealed

SECRET_BYTES = 32


@dataclass(frozen=True)
class NotifyConfig:
    url: str | None
    secret_set: bool
    secret_rotated_at: datetime | None
    secret: str | None = None  # only in the answer that made it


class UrlRefused(Invalid):
    """A notify URL webhooks may not go to (422); `reason` lets a door word it in its own language."""

    def __init__(self, detail: str, reason: Reason, *, fields: list[Field]) -> None:
        super().__init__(detail, fields=fields)
        self.reason = reason


def config_of(campaign: Campaign, secret: str | None = None) -> NotifyConfig:
    return NotifyConfig(
        url=campaign.notify_url,
        secret_set=campaign.notify_secret is not None,
        secret_rotated_at=campaign.notify_secret_rotated_at,
        secret=secret,
    )


def set_url(
    campaign: Campaign, url: str | None, now: datetime, *, allow_private: bool, secrets: SecretBox
) -> NotifyConfig:
    """Point the campaign's `notify` webhooks at `url` (None: nowhere). The first URL comes with a
    new secret, returned this once; later URLs keep the secret."""
    if url is not None:
        try:
            url = check_url(url, allow_private=allow_private)
        except TargetRefused as exc:
            raise UrlRefused(f"The notify URL {exc}.", exc.reason, fields=[Field("/body/url", str(exc))]) from None
    campaign.notify_url = url
    made = None
    if url is not None and campaign.notify_secret is None:
        made = _new_secret(campaign, now, secrets)
    return config_of(campaign, made)


def rotate_secret(campaign: Campaign, now: datetime, secrets: SecretBox) -> NotifyConfig:
    """A new signing secret, returned this once; the old one signs nothing from now on."""
    return config_of(campaign, _new_secret(campaign, now, secrets))


def _new_secret(campaign: Campaign, now: datetime, box: SecretBox) -> str:
    secret = token_urlsafe(SECRET_BYTES)
    campaign.notify_secret = sealed_secret(campaign.id, secret, box)
    campaign.notify_secret_rotated_at = now
    return secret


def _context(campaign_id: str) -> str:
    # The campaign's id is sealed in: a secret copied to another campaign's row does not open there.
    return f"campaigns.notify_secret:{campaign_id}"


def sealed_secret(campaign_id: str, secret: str, secrets: SecretBox) -> str:
    """`secret` as campaign `campaign_id`'s `notify_secret` column keeps it."""
    return secrets.seal(secret, _context(campaign_id))


def signing_secret(campaign: Campaign, secrets: SecretBox) -> str | None:
    """The secret the campaign's webhooks are signed with (None: none made yet). A secret stored in
    clear before sealing still signs. SealedSecretError when these keys cannot open it."""
    if campaign.notify_secret is None:
        return None
    return secrets.open(campaign.notify_secret, _context(campaign.id))


@dataclass(frozen=True)
class SealReport:
    sealed: int  # were in clear
    resealed: int  # were sealed under an older key
    current: int  # already sealed under the current key


def seal_secrets(session: Session, secrets: SecretBox) -> SealReport:
    """Seal every campaign's notify secret under the current payload key: those stored in clear
    (before sealing) and those sealed under an older key, so that key can be retired. The secret
    itself does not change (the creditor's systems keep verifying with it), nor its rotation time.
    Idempotent; a secret that does not open raises SealedSecretError and nothing is written."""
    sealed = resealed = current = 0
    rows = session.scalars(select(Campaign).where(Campaign.notify_secret.is_not(None)).order_by(Campaign.id))
    for campaign in rows:
        stored = campaign.notify_secret
        assert stored is not None
        if not secrets.needs_sealing(stored):
            current += 1
            continue
        if is_sealed(stored):
            resealed += 1
        else:
            sealed += 1
        campaign.notify_secret = sealed_secret(campaign.id, secrets.open(stored, _context(campaign.id)), secrets)
    session.flush()
    return SealReport(sealed=sealed, resealed=resealed, current=current)


@dataclass(frozen=True)
class ToSeal:
    clear: int  # stored in clear (before sealing)
    other_key: int  # sealed under a key other than the current one

    @property
    def count(self) -> int:
        return self.clear + self.other_key


def secrets_to_seal(session: Session, current_key_id: str | None) -> ToSeal:
    """How many notify secrets `seal_secrets` would seal (`current_key_id` None: only those in clear
    are counted), counted in the database: no secret is read."""
    current = f"{PREFIX}{current_key_id}:" if current_key_id is not None else None
    return ToSeal(*campaigns.notify_secrets_to_seal(session, PREFIX, current))


def warn_unsealed(sessions: sessionmaker[Session], current_key_id: str | None, log: logging.Logger) -> None:
    """At the start of a process that signs webhooks or stores secrets (the API, the worker): one
    warning when notify secrets are still in clear or under another key, naming the command that
    seals them, for deployments that do not start with `collect up` (which seals them itself).
    Never raises: a process starts whatever this finds, or fails to find."""
    try:
        with sessions() as session:
            found = secrets_to_seal(session, current_key_id)
    except Exception as exc:  # a database not reachable or not migrated yet: the start goes on
        log.warning("could not count the webhook signing secrets left to seal: %s", exc)
        return
    if not found.count:
        return
    log.warning(
        "%d campaign webhook signing secrets are not sealed under the current payload key %s "
        "(%d stored in clear, %d sealed under another key): run `collect db seal-secrets`",
        found.count,
        current_key_id or "(none yet)",
        found.clear,
        found.other_key,
    )


def notify_steps(compiled: dict[str, Any]) -> list[str]:
    """The steps of a compiled strategy (as stored) that hold a `notify` action."""
    steps: dict[str, Any] = compiled.get("steps", {})
    return [name for name, step in steps.items() if any(a.get("kind") == "notify" for a in step.get("actions", ()))]


def require_url(campaign: Campaign, compiled: dict[str, Any], doing: str) -> None:
    """Conflict when the version `compiled` uses `notify` and the campaign has nowhere to post."""
    used = notify_steps(compiled)
    if used and campaign.notify_url is None:
        raise Conflict(
            f"Campaign {campaign.id} cannot {doing}: its strategy notifies the creditor's systems (`notify` at "
            f"step {', '.join(used)}) but the campaign has no notify URL; set one with PUT "
            f"/campaigns/{campaign.id}/notify (collect campaign notify {campaign.id} --url ...)."
        )
