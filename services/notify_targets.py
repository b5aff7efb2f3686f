"""Where a campaign's `notify` webhooks may go: an http(s) URL with no credentials in it, and, unless
the deployment allows private addresses (`COLLECT_NOTIFY_ALLOW_PRIVATE_ADDRESSES`, for tests and
creditors on the same private network), never a loopback, private, link-local or otherwise
non-public address: the worker must not become a way to reach the machines around it (SSRF).

The URL is checked when it is set (a literal address or `localhost`) and again before each
delivery, on the addresses its host name resolves to then (a name may point anywhere later). The
delivery connects to those very addresses (`check_resolved` returns them): resolving the name
again to connect would let a hostile DNS answer a public address to the check and a private one
to the connection (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Literal
from urllib.parse import urlsplit

MAX_URL_CHARS = 2000
URL_HELP = "an http(s) URL such as https://hooks.example.com/collect"


# Why a URL is refused, as a code each door can word in its own language (the console's catalogs).
Reason = Literal["format", "credentials", "fragment", "this_machine", "not_public", "unresolved"]


class TargetRefused(ValueError):
    """A notify URL that webhooks may not go to; the message says why, `reason` names it."""

    def __init__(self, message: str, reason: Reason = "format") -> None:
        super().__init__(message)
        self.reason: Reason = reason


class TargetUnresolved(TargetRefused):
    """A host name that did not resolve now (DNS down, say): worth trying again later."""


def check_url(url: str, *, allow_private: bool) -> str:
    """`url` when it is a usable notify URL; TargetRefused otherwise. Names are not resolved here."""
    if len(url) > MAX_URL_CHARS or not url.isprintable() or any(c.isspace() for c in url):
        raise TargetRefused(f"must be {URL_HELP}, at most {MAX_URL_CHARS} characters with no spaces")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise TargetRefused(f"must be {URL_HELP}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused(f"must be {URL_HELP}")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            "must not carry credentials (user:password@); receivers verify the signature instead", "credentials"
        )
    if parts.fragment:
        raise TargetRefused("must not have a #fragment (it is never sent)", "fragment")
    host = parts.hostname
    if not allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise TargetRefused(f"{host} is this machine; webhooks go to the creditor's public systems", "this_machine")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None  # a name: its addresses are checked before each delivery
        if address is not None:
            _check_address(address)
    return url


def check_resolved(url: str, *, allow_private: bool) -> tuple[str, ...]:
    """Before a delivery: the addresses the URL's host resolves to now, in the resolver's order,
    which the delivery must connect to and to no other; TargetRefused when any is an address
    webhooks may not go to (or the name does not resolve). Resolved with `allow_private` too, so
    every delivery connects the same way."""
    check_url(url, allow_private=allow_private)
    parts = urlsplit(url)
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolved(f"{parts.hostname} does not resolve: {exc}", "unresolved") from None
    addresses = tuple(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
    if not addresses:
        raise TargetUnresolved(f"{parts.hostname} resolves to no address", "unresolved")
    if not allow_private:
        for address in addresses:
            _check_address(ipaddress.ip_address(address))
    return addresses


def _check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if mapped is not None:
        address = mapped
    if not address.is_global or address.is_multicast:
        raise TargetRefused(
            f"{address} is not a public address (loopback, private, link-local or reserved); set "
            "COLLECT_NOTIFY_ALLOW_PRIVATE_ADDRESSES=true only where the receiver is on a trusted private network",
            "not_public",
        )
