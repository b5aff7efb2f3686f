"""Settings that guard the payment webhook: one secret per provider, read from the environment as
JSON, and the configurations that would reopen issue 9 (one secret for every provider name)
refused at start-up rather than silently accepted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from config import Settings

ROOT = Path(__file__).resolve().parents[1]


class TestPaymentWebhookSecrets:
    def test_one_secret_per_provider_comes_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("COLLECT_PAYMENT_WEBHOOK_SECRETS", '{"khipu": "k-secret", "stripe": "s-secret"}')
        secrets = Settings().payment_webhook_secrets
        assert {name: secret.get_secret_value() for name, secret in secrets.items()} == {
            "khipu": "k-secret",
            "stripe": "s-secret",
        }
        assert "k-secret" not in repr(Settings())  # secrets stay out of logs

    def test_the_single_shared_secret_is_refused_not_ignored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("COLLECT_PAYMENT_WEBHOOK_SECRET", "one-for-all")
        with pytest.raises(ValidationError, match="COLLECT_PAYMENT_WEBHOOK_SECRETS"):
            Settings()

    @pytest.mark.parametrize(
        ("secrets", "message"),
        [
            ({"khipu": "same", "stripe": "same"}, "share a secret"),
            ({"khipu": ""}, "empty"),
            ({"Khipu": "k"}, "not a provider name"),
            ({"khipu/x": "k"}, "not a provider name"),
            ({"a" * 25: "k"}, "not a provider name"),
        ],
    )
    def test_secrets_that_would_blur_providers_are_refused(self, secrets: dict[str, str], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            Settings(payment_webhook_secrets=secrets)  # type: ignore[arg-type]


def test_a_worker_that_cannot_start_says_why_in_json_and_exits_non_zero(tmp_path: Path) -> None:
    """Operators feed the worker's stderr to a log pipeline: even a failed start is JSON lines."""
    env = {
        **os.environ,
        "COLLECT_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "COLLECT_TEMPORAL_ADDRESS": "127.0.0.1:1",  # nothing listens on port 1
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    failure = entries[-1]
    assert failure["level"] == "ERROR", failure
    assert "127.0.0.1:1" in failure["message"], failure
    assert "Traceback" in failure["exception"]
