"""The webhook post connects to the address the SSRF check approved, never to a second answer of
the DNS (rebinding), and still speaks to the host name: Host header, TLS server name and the
certificate checked against the name. A fake resolver stands in for the DNS (socket.getaddrinfo,
the one call both the check and a connection by name make); connections and servers are real and
local: nothing here connects beyond this machine (`Connections` sends a connection to the public
address to a local server standing in for it)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fakes.serving import serving

from activities.notify import post_checked
from services.notify_targets import TargetRefused

PUBLIC = "8.8.8.8"  # passes the check; never connected to (Connections stands a local server in for it)
BODY = b'{"event":"suspend_service"}'


@dataclass
class Server:
    port: int
    hosts: list[str] = field(default_factory=list)  # the Host header of each request
    names: list[str | None] = field(default_factory=list)  # the TLS server name of each handshake


def serve(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Server(port=server.server_address[1])
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: state.names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield state


@pytest.fixture
def receiver() -> Iterator[Server]:
    yield from serve()


@pytest.fixture
def public() -> Iterator[Server]:
    """A local server standing in for the public address (Connections sends it there)."""
    yield from serve()


class FakeDNS:
    """Answers the given names (each call takes the next answer, the last repeats); every other
    name or literal address goes to the real resolver. Records what was asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> None:
        self.asked: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host)
            self.asked.append(name)
            if name not in answers:
                return real(host, port, *args, **kwargs)
            turn = answers[name].pop(0) if len(answers[name]) > 1 else answers[name][0]
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
                for a in turn
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Connections:
    """socket.create_connection (how httpx opens every connection) recorded: a connection to an
    address of `standins` goes to the local port given instead, to a loopback address or a name as
    asked (a name through the fake resolver), and to any other address is refused, so nothing
    leaves this machine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, standins: dict[str, int]) -> None:
        self.asked: list[tuple[str, int]] = []
        real = socket.create_connection

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            host, port = address
            self.asked.append((host, port))
            if host in standins:
                return real(("127.0.0.1", standins[host]), *args, **kwargs)
            try:
                literal = ipaddress.ip_address(host)
            except ValueError:
                return real(address, *args, **kwargs)  # a name: resolved by the fake DNS
            if not literal.is_loopback:
                raise ConnectionRefusedError(f"{host}: this test connects to nothing beyond this machine")
            return real(address, *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", create_connection)


def test_a_second_dns_answer_never_takes_the_webhook_to_a_private_address(
    receiver: Server, public: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is answered a public address, a later lookup 127.0.0.1 (where `receiver` stands
    in for an internal service): the post goes to the public address (a local server standing in
    for it), never to the second answer. Connecting to the name instead would ask the resolver
    again and reach `receiver`."""
    dns = FakeDNS(monkeypatch, {"hooks.rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    connections = Connections(monkeypatch, {PUBLIC: public.port})
    response = post_checked(f"http://hooks.rebind.test:{receiver.port}/hooks", BODY, {}, allow_private=False)
    assert response.status_code == 200
    assert connections.asked == [(PUBLIC, receiver.port)]  # the address the check approved
    assert public.hosts == [f"hooks.rebind.test:{receiver.port}"]  # still addressed by name
    assert receiver.hosts == []
    assert dns.asked.count("hooks.rebind.test") == 1  # resolved once, by the check


def test_a_private_first_answer_is_refused(receiver: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeDNS(monkeypatch, {"hooks.rebind.test": [[PUBLIC, "127.0.0.1"]]})
    with pytest.raises(TargetRefused, match="not a public address"):
        post_checked(f"http://hooks.rebind.test:{receiver.port}/hooks", BODY, {}, allow_private=False)
    assert receiver.hosts == []


def test_a_name_is_posted_to_its_address_with_its_host_header_trying_each_address(
    receiver: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Private addresses allowed (a receiver on the same network): the first address refuses the
    connection (nothing listens on ::1 at that port), the next one takes it."""
    dns = FakeDNS(monkeypatch, {"hooks.local.test": [["::1", "127.0.0.1"]]})
    response = post_checked(f"http://hooks.local.test:{receiver.port}/hooks", BODY, {}, allow_private=True)
    assert response.status_code == 200
    assert receiver.hosts == [f"hooks.local.test:{receiver.port}"]
    assert dns.asked.count("hooks.local.test") == 1


def test_a_literal_address_as_the_tests_receivers_use(receiver: Server) -> None:
    response = post_checked(f"http://127.0.0.1:{receiver.port}/hooks", BODY, {}, allow_private=True)
    assert response.status_code == 200
    assert receiver.hosts == [f"127.0.0.1:{receiver.port}"]


# ---- https: the certificate is checked against the host name, not the address ---------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.tls.test (and no other name)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.tls.test")])
    # Valid on any day the test runs (TLS checks the validity against the machine's real clock).
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.tls.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Server]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    yield from serve(context)


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_https_names_the_host_in_the_handshake_and_verifies_its_certificate(
    tls_receiver: Server, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeDNS(monkeypatch, {"hooks.tls.test": [["127.0.0.1"]]})
    url = f"https://hooks.tls.test:{tls_receiver.port}/hooks"
    response = post_checked(url, BODY, {}, allow_private=True, verify=trusting(certificate))
    assert response.status_code == 200
    assert tls_receiver.names == ["hooks.tls.test"]
    assert tls_receiver.hosts == [f"hooks.tls.test:{tls_receiver.port}"]


def test_https_refuses_a_certificate_for_another_name(
    tls_receiver: Server, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same server and address under another name: its certificate does not name it."""
    FakeDNS(monkeypatch, {"other.tls.test": [["127.0.0.1"]]})
    url = f"https://other.tls.test:{tls_receiver.port}/hooks"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        post_checked(url, BODY, {}, allow_private=True, verify=trusting(certificate))
    assert tls_receiver.hosts == []
