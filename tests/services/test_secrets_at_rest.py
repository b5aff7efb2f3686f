"""Campaign webhook secrets are sealed at rest with the payload keys: the column never holds the
secret, a sealed value opens only on its own campaign and while its key is configured, a secret
stored in clear before sealing still signs, and `collect db seal-secrets` seals those (and those
under an older key) without changing the secret; the API and the worker warn at start while any
are left. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import logging
import os
from datetime import UTC, datetime
from typing import cast

import pytest
from click.testing import Result
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from typer.testing import CliRunner
from workers import PAYLOAD_KEY_ID, PAYLOAD_KEYS, secret_box

import worker
from api.app import create_app
from cli.main import app
from config import Settings, get_settings
from db.models import Campaign
from services import campaign_notify
from services.secrets_at_rest import PREFIX, SealedSecretError, SecretBox
from stack.up import seal_clear_secrets
from workflows.codec import EncryptionCodec

WHEN = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
OLD, NEW = os.urandom(32), os.urandom(32)
CLEAR = "legacy-clear-secret-0123456789abcdefghij"


def box(keys: dict[str, bytes], current: str) -> SecretBox:
    return SecretBox(EncryptionCodec(keys, current))


def add_campaign(sessions: sessionmaker[Session], campaign_id: str, stored: str | None) -> None:
    with sessions() as session:
        session.add(
            Campaign(
                id=campaign_id,
                name=campaign_id,
                strategy_hash="0" * 64,
                creditor_name="Acme",
                notify_url="https://hooks.example.com/collect",
                notify_secret=stored,
                notify_secret_rotated_at=WHEN if stored is not None else None,
            )
        )
        session.commit()


def stored_secret(sessions: sessionmaker[Session], campaign_id: str) -> str | None:
    with sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.notify_secret


def opened(sessions: sessionmaker[Session], campaign_id: str, secrets: SecretBox) -> str | None:
    with sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign_notify.signing_secret(campaign, secrets)


class TestTheBox:
    def test_a_sealed_value_names_its_key_and_holds_no_trace_of_the_secret(self) -> None:
        secrets = box({"k1": OLD}, "k1")
        sealed = secrets.seal(CLEAR, "campaigns.notify_secret:c1")
        assert sealed.startswith(f"{PREFIX}k1:")
        assert CLEAR not in sealed
        assert CLEAR.encode() not in base64.b64decode(sealed.rsplit(":", 1)[1])
        assert sealed != secrets.seal(CLEAR, "campaigns.notify_secret:c1")  # a fresh nonce each time
        assert secrets.open(sealed, "campaigns.notify_secret:c1") == CLEAR

    def test_another_owner_or_an_altered_value_does_not_open(self) -> None:
        secrets = box({"k1": OLD}, "k1")
        sealed = secrets.seal(CLEAR, "campaigns.notify_secret:c1")
        with pytest.raises(SealedSecretError, match="key id 'k1' does not open"):
            secrets.open(sealed, "campaigns.notify_secret:c2")
        head, data = sealed.rsplit(":", 1)
        raw = bytearray(base64.b64decode(data))
        raw[-1] ^= 1
        with pytest.raises(SealedSecretError, match="does not open"):
            secrets.open(f"{head}:{base64.b64encode(bytes(raw)).decode()}", "campaigns.notify_secret:c1")
        with pytest.raises(SealedSecretError, match="not valid base64"):
            secrets.open(f"{head}:%%%", "campaigns.notify_secret:c1")

    def test_a_value_in_clear_reads_as_it_is(self) -> None:
        secrets = box({"k1": OLD}, "k1")
        assert secrets.open(CLEAR, "campaigns.notify_secret:c1") == CLEAR
        assert secrets.needs_sealing(CLEAR)

    def test_rotation_opens_under_any_listed_key_and_names_a_missing_one(self) -> None:
        sealed_old = box({"k1": OLD}, "k1").seal(CLEAR, "x:c1")
        both = box({"k1": OLD, "k2": NEW}, "k2")
        assert both.open(sealed_old, "x:c1") == CLEAR
        assert both.needs_sealing(sealed_old)
        sealed_new = both.seal(CLEAR, "x:c1")
        assert sealed_new.startswith(f"{PREFIX}k2:")
        assert not both.needs_sealing(sealed_new)
        only_new = box({"k2": NEW}, "k2")
        assert only_new.open(sealed_new, "x:c1") == CLEAR
        with pytest.raises(SealedSecretError, match=r"key id 'k1', which is not configured \(configured: k2\)"):
            only_new.open(sealed_old, "x:c1")
        # Another key under the same id: refused, not mistaken for the secret.
        with pytest.raises(SealedSecretError, match="key id 'k1' does not open"):
            box({"k1": NEW}, "k1").open(sealed_old, "x:c1")


class TestCampaignSecrets:
    def test_made_and_rotated_secrets_are_stored_sealed(self, sessions: sessionmaker[Session]) -> None:
        add_campaign(sessions, "c-made", None)
        secrets = secret_box()
        with sessions() as session:
            campaign = session.get(Campaign, "c-made")
            assert campaign is not None
            made = campaign_notify.set_url(
                campaign, "https://hooks.example.com/a", WHEN, allow_private=False, secrets=secrets
            ).secret
            session.commit()
        assert made is not None
        stored = stored_secret(sessions, "c-made")
        assert stored is not None
        assert stored.startswith(f"{PREFIX}{PAYLOAD_KEY_ID}:")
        assert made not in stored
        assert opened(sessions, "c-made", secrets) == made

        with sessions() as session:
            campaign = session.get(Campaign, "c-made")
            assert campaign is not None
            rotated = campaign_notify.rotate_secret(campaign, WHEN, secrets).secret
            session.commit()
        assert rotated is not None
        assert rotated != made
        stored = stored_secret(sessions, "c-made")
        assert stored is not None
        assert rotated not in stored
        assert opened(sessions, "c-made", secrets) == rotated

    def test_a_sealed_secret_copied_to_another_campaign_does_not_open(self, sessions: sessionmaker[Session]) -> None:
        secrets = secret_box()
        add_campaign(sessions, "c-own", campaign_notify.sealed_secret("c-own", CLEAR, secrets))
        add_campaign(sessions, "c-copy", stored_secret(sessions, "c-own"))
        assert opened(sessions, "c-own", secrets) == CLEAR
        with pytest.raises(SealedSecretError, match=r"campaigns\.notify_secret:c-copy"):
            opened(sessions, "c-copy", secrets)

    def test_seal_secrets_seals_clear_and_old_key_secrets_once_keeping_each_secret(
        self, sessions: sessionmaker[Session]
    ) -> None:
        old = box({"k1": OLD}, "k1")
        current = box({"k1": OLD, "k2": NEW}, "k2")
        add_campaign(sessions, "c-clear", CLEAR)
        add_campaign(sessions, "c-old", campaign_notify.sealed_secret("c-old", "old-key-secret", old))
        add_campaign(sessions, "c-new", campaign_notify.sealed_secret("c-new", "new-key-secret", current))
        add_campaign(sessions, "c-none", None)
        before_new = stored_secret(sessions, "c-new")

        with sessions() as session:
            report = campaign_notify.seal_secrets(session, current)
            session.commit()
        assert report == campaign_notify.SealReport(sealed=1, resealed=1, current=1)
        for campaign_id in ("c-clear", "c-old", "c-new"):
            stored = stored_secret(sessions, campaign_id)
            assert stored is not None
            assert stored.startswith(f"{PREFIX}k2:")
        assert CLEAR not in (stored_secret(sessions, "c-clear") or "")
        assert stored_secret(sessions, "c-new") == before_new  # already current: untouched
        assert stored_secret(sessions, "c-none") is None
        # The old key can go now: every secret opens with the new one alone, unchanged.
        only_new = box({"k2": NEW}, "k2")
        assert opened(sessions, "c-clear", only_new) == CLEAR
        assert opened(sessions, "c-old", only_new) == "old-key-secret"
        assert opened(sessions, "c-new", only_new) == "new-key-secret"
        with sessions() as session:
            assert campaign_notify.seal_secrets(session, only_new) == campaign_notify.SealReport(0, 0, 3)
            campaign = session.get(Campaign, "c-old")
            assert campaign is not None
            assert campaign.notify_secret_rotated_at is not None

    def test_seal_secrets_writes_nothing_when_a_key_is_missing(self, sessions: sessionmaker[Session]) -> None:
        add_campaign(sessions, "c-a-clear", CLEAR)
        add_campaign(sessions, "c-b-lost", campaign_notify.sealed_secret("c-b-lost", "s", box({"gone": OLD}, "gone")))
        with sessions() as session, pytest.raises(SealedSecretError, match="key id 'gone'"):
            campaign_notify.seal_secrets(session, box({"k2": NEW}, "k2"))
        assert stored_secret(sessions, "c-a-clear") == CLEAR


class TestCommand:
    runner = CliRunner()

    def seal(self, migrated_url: str, monkeypatch: pytest.MonkeyPatch, keys: dict[str, str], current: str) -> Result:
        monkeypatch.setenv("COLLECT_DATABASE_URL", migrated_url)
        monkeypatch.setenv("COLLECT_PAYLOAD_KEYS", json.dumps(keys))
        monkeypatch.setenv("COLLECT_PAYLOAD_KEY_ID", current)
        get_settings.cache_clear()
        try:
            return self.runner.invoke(app, ["db", "seal-secrets"])
        finally:
            get_settings.cache_clear()

    def test_collect_db_seal_secrets_is_idempotent_and_names_a_missing_key(
        self, sessions: sessionmaker[Session], migrated_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        add_campaign(sessions, "c-cli", CLEAR)
        first = self.seal(migrated_url, monkeypatch, PAYLOAD_KEYS, PAYLOAD_KEY_ID)
        assert first.exit_code == 0, first.output
        assert f"under key {PAYLOAD_KEY_ID}: 1 sealed" in first.output
        stored = stored_secret(sessions, "c-cli")
        assert stored is not None
        assert CLEAR not in stored
        assert opened(sessions, "c-cli", secret_box()) == CLEAR
        again = self.seal(migrated_url, monkeypatch, PAYLOAD_KEYS, PAYLOAD_KEY_ID)
        assert "0 sealed (were in clear), 0 sealed again (were under an older key), 1 already sealed" in (again.output)
        assert stored_secret(sessions, "c-cli") == stored

        other = {"k9": base64.b64encode(NEW).decode()}
        refused = self.seal(migrated_url, monkeypatch, other, "k9")
        assert refused.exit_code == 1
        assert f"key id {PAYLOAD_KEY_ID!r}, which is not configured" in refused.output
        assert stored_secret(sessions, "c-cli") == stored


class TestCollectUp:
    """`collect up` seals what an earlier version left in clear, under the stack's own key, and
    reports a key it lacks instead of failing to start."""

    def test_up_seals_secrets_left_in_clear_once(self, sessions: sessionmaker[Session], migrated_url: str) -> None:
        add_campaign(sessions, "c-up", CLEAR)
        settings = Settings(database_url=migrated_url, payload_keys=PAYLOAD_KEYS, payload_key_id=PAYLOAD_KEY_ID)
        said = Console(record=True, width=200)
        seal_clear_secrets(settings, said)
        assert f"1 webhook signing secrets sealed under key {PAYLOAD_KEY_ID}" in said.export_text()
        stored = stored_secret(sessions, "c-up")
        assert stored is not None
        assert CLEAR not in stored
        assert opened(sessions, "c-up", secret_box()) == CLEAR
        quiet = Console(record=True, width=200)
        seal_clear_secrets(settings, quiet)
        assert quiet.export_text() == ""
        assert stored_secret(sessions, "c-up") == stored

    def test_up_reports_a_missing_key_and_writes_nothing(
        self, sessions: sessionmaker[Session], migrated_url: str
    ) -> None:
        add_campaign(sessions, "c-up-old", CLEAR)
        with sessions.begin() as session:
            campaign = session.get(Campaign, "c-up-old")
            assert campaign is not None
            campaign.notify_secret = campaign_notify.sealed_secret("c-up-old", CLEAR, secret_box())
        sealed = stored_secret(sessions, "c-up-old")
        other = {"k9": base64.b64encode(NEW).decode()}
        said = Console(record=True, width=300)
        seal_clear_secrets(Settings(database_url=migrated_url, payload_keys=other, payload_key_id="k9"), said)
        text = said.export_text()
        assert f"not sealed: campaigns.notify_secret:c-up-old sealed with key id {PAYLOAD_KEY_ID!r}" in text
        assert "run collect db seal-secrets once the key is configured" in text
        assert stored_secret(sessions, "c-up-old") == sealed


class TestStartWarning:
    """The API and the worker, started on their own (not by `collect up`), warn once about notify
    secrets left in clear or under another key, naming the command that seals them; counted in the
    database; the start goes on whatever it finds."""

    def settings(self, url: str) -> Settings:
        return Settings(database_url=url, payload_keys=PAYLOAD_KEYS, payload_key_id=PAYLOAD_KEY_ID)

    def add_mixed(self, sessions: sessionmaker[Session]) -> None:
        add_campaign(sessions, "c-s-clear", CLEAR)
        add_campaign(sessions, "c-s-old", campaign_notify.sealed_secret("c-s-old", "s", box({"k-old": OLD}, "k-old")))
        add_campaign(sessions, "c-s-current", campaign_notify.sealed_secret("c-s-current", "s", secret_box()))
        add_campaign(sessions, "c-s-none", None)

    async def api_started(self, sessions: sessionmaker[Session], url: str) -> None:
        # A client of our own: the lifespan connects to no Temporal.
        app = create_app(self.settings(url), sessions=sessions, client=cast(Client, object()))
        async with app.router.lifespan_context(app):
            pass

    async def worker_started(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        async def connect(settings: Settings) -> object:
            return object()

        async def ensure_registered(client: object, namespace: str) -> None:
            pass

        monkeypatch.setattr(worker, "connect", connect)
        monkeypatch.setattr(worker.search_attributes, "ensure_registered", ensure_registered)
        _, started = await worker.start(self.settings(url))
        started.kw["bind"].dispose()

    def warnings(self, caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]

    async def test_the_api_warns_until_the_secrets_are_sealed(
        self, sessions: sessionmaker[Session], migrated_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        self.add_mixed(sessions)
        with caplog.at_level(logging.WARNING):
            await self.api_started(sessions, migrated_url)
        assert self.warnings(caplog, "collect.api") == [
            f"2 campaign webhook signing secrets are not sealed under the current payload key {PAYLOAD_KEY_ID} "
            "(1 stored in clear, 1 sealed under another key): run `collect db seal-secrets`"
        ]
        with sessions.begin() as session:
            keys = {"k-old": OLD, PAYLOAD_KEY_ID: base64.b64decode(PAYLOAD_KEYS[PAYLOAD_KEY_ID])}
            campaign_notify.seal_secrets(session, box(keys, PAYLOAD_KEY_ID))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            await self.api_started(sessions, migrated_url)
        assert caplog.records == []

    async def test_the_worker_warns_until_the_secrets_are_sealed(
        self,
        sessions: sessionmaker[Session],
        migrated_url: str,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        add_campaign(sessions, "c-w-clear", CLEAR)
        add_campaign(sessions, "c-w-current", campaign_notify.sealed_secret("c-w-current", "s", secret_box()))
        with caplog.at_level(logging.WARNING):
            await self.worker_started(migrated_url, monkeypatch)
        assert self.warnings(caplog, "collect.worker") == [
            f"1 campaign webhook signing secrets are not sealed under the current payload key {PAYLOAD_KEY_ID} "
            "(1 stored in clear, 0 sealed under another key): run `collect db seal-secrets`"
        ]
        with sessions.begin() as session:
            campaign_notify.seal_secrets(session, secret_box())
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            await self.worker_started(migrated_url, monkeypatch)
        assert caplog.records == []

    async def test_no_warning_without_secrets(
        self,
        sessions: sessionmaker[Session],
        migrated_url: str,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        add_campaign(sessions, "c-n-none", None)
        with caplog.at_level(logging.WARNING):
            await self.api_started(sessions, migrated_url)
            await self.worker_started(migrated_url, monkeypatch)
        assert caplog.records == []

    async def test_a_database_it_cannot_read_does_not_stop_the_start(
        self, database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Not migrated yet: no campaigns table. The start goes on, saying it could not count."""
        with caplog.at_level(logging.WARNING):
            await self.worker_started(database_url, monkeypatch)
        (said,) = self.warnings(caplog, "collect.worker")
        assert said.startswith("could not count the webhook signing secrets left to seal")

    def test_key_ids_are_compared_exactly(self, sessions: sessionmaker[Session]) -> None:
        """Not with LIKE: `_` in a key id is no wildcard, and case counts (SQLite's LIKE ignores it)."""
        add_campaign(sessions, "c-x-1", campaign_notify.sealed_secret("c-x-1", "s", box({"kx1": OLD}, "kx1")))
        add_campaign(sessions, "c-x-2", campaign_notify.sealed_secret("c-x-2", "s", box({"K_1": OLD}, "K_1")))
        add_campaign(sessions, "c-x-3", campaign_notify.sealed_secret("c-x-3", "s", box({"k_1": OLD}, "k_1")))
        add_campaign(sessions, "c-x-4", "SEALED:V1:k_1:not-sealed-but-looks-it")
        with sessions() as session:
            assert campaign_notify.secrets_to_seal(session, "k_1") == campaign_notify.ToSeal(clear=1, other_key=2)
            assert campaign_notify.secrets_to_seal(session, None) == campaign_notify.ToSeal(clear=1, other_key=0)
