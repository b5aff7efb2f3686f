"""Where the payload keys come from: settings (checked at start: base64, 32 bytes, the current id
listed), or, with none configured, a development key kept in a file on a local Temporal; a
production-like connection without keys refuses to start."""

from __future__ import annotations

import ast
import base64
import re
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes

from config import Settings
from workflows.codec import ENCODING, EncryptionCodec
from workflows.converter import PayloadKeysMissing, data_converter, payload_codec

KEY = base64.b64encode(b"k" * 32).decode()
OTHER = base64.b64encode(b"o" * 32).decode()


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(payload_dev_key_path=str(tmp_path / "dev.key"), **values)  # type: ignore[arg-type]


class TestConfiguredKeys:
    def test_the_converter_is_pydantic_with_the_codec_of_the_current_key(self, tmp_path: Path) -> None:
        converter = data_converter(settings(tmp_path, payload_keys={"old": OTHER, "new": KEY}, payload_key_id="new"))
        assert converter.payload_converter_class is PydanticPayloadConverter
        assert isinstance(converter.failure_converter, DefaultFailureConverterWithEncodedAttributes)
        assert isinstance(converter.payload_codec, EncryptionCodec)
        assert converter.payload_codec.current == "new"
        assert converter.payload_codec.key_ids == ("old", "new")
        assert not (tmp_path / "dev.key").exists()

    def test_keys_from_the_environment_as_json(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("COLLECT_PAYLOAD_KEYS", f'{{"2026-11": "{KEY}"}}')
        monkeypatch.setenv("COLLECT_PAYLOAD_KEY_ID", "2026-11")
        assert payload_codec(settings(tmp_path)).current == "2026-11"

    @pytest.mark.parametrize(
        ("keys", "current", "message"),
        [
            ({"a": "not base64!"}, "a", "payload key 'a' is not valid base64"),
            ({"a": base64.b64encode(b"short").decode()}, "a", "payload key 'a' must be 32 bytes, got 5"),
            ({"a": KEY}, "b", "payload_key_id 'b' must name one of payload_keys: a"),
            ({"a": KEY}, None, "payload_key_id None must name one of payload_keys: a"),
            ({}, "a", "payload_key_id is set but payload_keys is empty"),
            ({"a b": KEY}, "a b", "payload key id 'a b'"),
        ],
    )
    def test_bad_keys_refuse_to_start_without_showing_the_key(
        self, tmp_path: Path, keys: dict[str, str], current: str | None, message: str
    ) -> None:
        with pytest.raises(ValidationError, match=message) as refused:
            settings(tmp_path, payload_keys=keys, payload_key_id=current)
        assert KEY not in str(refused.value)


class TestNoKeysConfigured:
    async def test_a_local_temporal_gets_one_development_key_kept_private_and_shared(self, tmp_path: Path) -> None:
        first = payload_codec(settings(tmp_path))
        path = tmp_path / "dev.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert first.current.startswith("dev-")
        again = payload_codec(settings(tmp_path))  # another process started from the same folder
        assert again.current == first.current
        [sealed] = await first.encode([Payload(data=b"x")])
        assert sealed.metadata["encoding"] == ENCODING
        assert await again.decode([sealed]) == [Payload(data=b"x")]
        assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind

    @pytest.mark.parametrize(
        "production",
        [{"temporal_tls": True}, {"temporal_api_key": "cloud-key"}, {"temporal_tls_cert_path": "/etc/cert.pem"}],
    )
    def test_a_production_like_temporal_without_keys_refuses_to_start(
        self, tmp_path: Path, production: dict[str, object]
    ) -> None:
        with pytest.raises(PayloadKeysMissing, match="COLLECT_PAYLOAD_KEYS"):
            payload_codec(settings(tmp_path, **production))
        assert not (tmp_path / "dev.key").exists()

    def test_a_damaged_development_key_file_says_so(self, tmp_path: Path) -> None:
        (tmp_path / "dev.key").write_text(base64.b64encode(b"short").decode())
        with pytest.raises(PayloadKeysMissing, match="holds no 32-byte base64 key"):
            payload_codec(settings(tmp_path))


ROOT = Path(__file__).resolve().parents[2]
TEMPORAL_CLIENT = re.compile(r"from temporalio\.client import [^\n]*\bClient\b")
HERE = Path(__file__).resolve().relative_to(ROOT)
# Calls that talk to Temporal with a data converter of their own choosing (the SDK's default, without
# the codec, when none is passed).
DOORS = {"connect", "start_time_skipping", "start_local", "Replayer", "Client"}
CODEC_BEARING = {"data_converter", "product_converter", "converter_for", "rotated"}
# A benchmark's baseline is bare Temporal: it talks to the server with the SDK's default converter
# on purpose, and says so on the line.
BARE_BASELINE = "# bare Temporal"


def _called_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def test_nothing_reaches_temporal_without_the_codec() -> None:
    """Every client, test server, dev server and replayer in the product and its tests gets the
    codec-bearing converter; the plain pydantic converter appears only where that one is built."""
    wrong = []
    for path in sorted(ROOT.glob("**/*.py")):
        if ".venv" in path.parts or path.name.startswith("."):
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        where = path.relative_to(ROOT)
        if "pydantic_data_converter" in text and where not in (Path("workflows/converter.py"), HERE):
            wrong.append(f"{where}: uses pydantic_data_converter directly")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call) or _called_name(node.func) not in DOORS:
                continue
            if _called_name(node.func) == "Client" and (
                isinstance(node.func, ast.Attribute)
                or not re.search(r"from temporalio\.client import [^\n]*\bClient\b", text)
            ):
                continue  # another library's Client (Twilio's, httpx.Client)
            if _called_name(node.func) == "connect" and not (
                isinstance(node.func, ast.Attribute) and _called_name(node.func.value) == "Client"
            ):
                continue  # engine.connect(), our own workflows.connect.connect(settings)
            if where.parts[0] == "benchmarks" and lines[node.lineno - 1].rstrip().endswith(BARE_BASELINE):
                continue
            given = {k.arg: k.value for k in node.keywords}
            if any(k.arg is None for k in node.keywords):
                continue  # Client(**config): checked where the config's converter is chosen
            value = given.get("data_converter")
            if not (isinstance(value, ast.Call) and _called_name(value.func) in CODEC_BEARING):
                wrong.append(
                    f"{where}:{node.lineno}: {_called_name(node.func)}(...) without the codec-bearing converter"
                )
    assert wrong == []
