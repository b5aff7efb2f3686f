"""The console's session cookie, CSRF token, language choice and redirects, as pure functions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from clock import TEST_NOW
from pydantic import SecretStr

from config import Settings
from console.i18n import Formats, choose
from console.pages.session import safe_next
from console.session import ConsoleSecretMissing, ConsoleSession, Signer, secret_of

HOURS = timedelta(hours=8)


class TestSigner:
    def test_a_session_reads_back_until_it_expires(self) -> None:
        signer = Signer(b"s" * 32)
        session = ConsoleSession.anonymous(TEST_NOW, HOURS).signed_in(7, TEST_NOW, HOURS)
        cookie = signer.dumps(session)
        assert signer.loads(cookie, TEST_NOW + HOURS - timedelta(seconds=1)) == session
        assert signer.loads(cookie, TEST_NOW + HOURS) is None

    def test_a_tampered_or_foreign_cookie_reads_as_no_session(self) -> None:
        signer = Signer(b"s" * 32)
        cookie = signer.dumps(ConsoleSession.anonymous(TEST_NOW, HOURS).signed_in(7, TEST_NOW, HOURS))
        payload, mac = cookie.split(".")
        forged = Signer(b"s" * 32).dumps(ConsoleSession(csrf="x", expires=2**40, key_id=1)).split(".")[0]
        assert signer.loads(f"{forged}.{mac}", TEST_NOW) is None
        assert Signer(b"t" * 32).loads(cookie, TEST_NOW) is None
        for junk in ("", ".", "a.b.c", f"{payload}.", "%%%.%%%"):
            assert signer.loads(junk, TEST_NOW) is None

    def test_signing_in_renews_the_csrf_token(self) -> None:
        before = ConsoleSession.anonymous(TEST_NOW, HOURS)
        after = before.signed_in(3, TEST_NOW, HOURS)
        assert after.key_id == 3
        assert after.csrf != before.csrf
        assert after.csrf_matches(after.csrf)
        assert not after.csrf_matches(before.csrf)
        assert not after.csrf_matches(None)


class TestSecret:
    def test_a_production_like_temporal_needs_a_configured_secret(self, tmp_path: Path) -> None:
        settings = Settings(temporal_tls=True, console_dev_secret_path=str(tmp_path / "k"))
        with pytest.raises(ConsoleSecretMissing):
            secret_of(settings)
        assert not (tmp_path / "k").exists()

    def test_a_local_temporal_gets_one_development_secret_per_folder(self, tmp_path: Path) -> None:
        settings = Settings(console_dev_secret_path=str(tmp_path / "k"))
        assert secret_of(settings) == secret_of(settings)
        assert (tmp_path / "k").exists()

    def test_a_short_secret_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least 32"):
            Settings(console_secret=SecretStr("short"))


class TestLanguage:
    @pytest.mark.parametrize(
        ("cookie", "header", "lang"),
        [
            ("es", "en-US", "es"),
            (None, "es-CL,es;q=0.9,en;q=0.8", "es"),
            (None, "fr-FR, en;q=0.5, es;q=0.7", "es"),
            (None, "fr-FR", "en"),
            (None, None, "en"),
            ("xx", "es", "es"),
            (None, "es;q=0", "en"),
        ],
    )
    def test_the_switch_then_the_browser_then_english(self, cookie: str | None, header: str | None, lang: str) -> None:
        assert choose(cookie, header) == lang

    def test_money_follows_the_accounts_locale_and_times_the_debtors_zone(self) -> None:
        formats = Formats("en", money_locale="es-CL", zone_name="America/Santiago")
        assert formats.money(150_000, "CLP") == "$150.000"
        assert Formats("en", money_locale="en-US").money(150_000, "USD") == "$1,500.00"
        local = TEST_NOW.astimezone(ZoneInfo("America/Santiago"))
        assert f"{local.hour % 12 or 12}:00:00" in formats.when(TEST_NOW)
        assert Formats("es").percent("0.25") == "25,0%"
        assert Formats("en").percent(None) == "—"


def test_only_console_paths_are_returned_to() -> None:
    assert safe_next("/console/accounts?stage=contact") == "/console/accounts?stage=contact"
    for target in ("https://evil.example/", "//evil.example", "/console//evil", "/docs", "/console\\x", None, ""):
        assert safe_next(target) is None
