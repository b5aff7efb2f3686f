"""Where notify webhooks may go, checked before each delivery: a name that does not resolve is
worth retrying (not a refusal for good), and the setting lets loopback receivers in."""

from __future__ import annotations

import pytest

from services.notify_targets import TargetRefused, TargetUnresolved, check_resolved, check_url


def test_a_name_that_does_not_resolve_is_retried_later() -> None:
    with pytest.raises(TargetUnresolved, match="does not resolve"):
        check_resolved("https://hooks.example.invalid/collect", allow_private=False)


def test_loopback_only_with_the_setting() -> None:
    check_resolved("http://127.0.0.1:8080/hook", allow_private=True)
    with pytest.raises(TargetRefused, match="not a public address") as caught:
        check_resolved("http://127.0.0.1:8080/hook", allow_private=False)
    assert not isinstance(caught.value, TargetUnresolved)


@pytest.mark.parametrize(
    "url", ["http://0.0.0.0/", "http://100.64.0.1/", "http://[fe80::1]/", "http://224.0.0.1/", "http://[fd00::1]/"]
)
def test_other_non_public_addresses(url: str) -> None:
    with pytest.raises(TargetRefused, match="not a public address"):
        check_url(url, allow_private=False)


def test_a_public_address_passes() -> None:
    assert check_url("https://8.8.8.8/hook", allow_private=False) == "https://8.8.8.8/hook"
