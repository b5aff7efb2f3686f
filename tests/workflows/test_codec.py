"""Personal data never reaches Temporal in plain text: a real account's history, read raw from the
server, holds no debtor name, email or phone, and every payload in it (search attributes aside,
which Temporal must read) is sealed; the codec opens them again. Keys rotate: a history sealed
partly with an old key reads and replays while that key is still listed; a payload naming a key
that is not configured fails with a message naming it. Histories recorded before the codec replay
(tests/workflows/test_debtor_history.py and test_campaign_workflow.py, with the same converter)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from clock import skip
from google.protobuf.message import Message
from journey import result_of
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from test_debtor_journeys import account, cl, journey, next_monday_9  # noqa: F401
from workers import PAYLOAD_KEY_ID, PAYLOAD_KEYS, TASK_QUEUE, running_worker, settle

from domain import events as ev
from domain.strategy import CompiledStrategy
from workflows.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadKeyError
from workflows.contracts import CampaignInfo, DebtorInput, debtor_workflow_id
from workflows.converter import converter_for
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner

NAME = "Ximena Quispe Rotondo"
EMAIL = "ximena.quispe@privado.example"
PHONE = "+56987650123"
# Each also in the shortest form that would still give the debtor away.
SECRETS = (NAME, "Quispe", EMAIL, "ximena.quispe", PHONE, "987650123")

KEY_A = base64.b64decode(PAYLOAD_KEYS[PAYLOAD_KEY_ID])
KEY_B = b"another-32-byte-key-for-rotation"


def codec(keys: dict[str, bytes], current: str) -> EncryptionCodec:
    return EncryptionCodec(keys, current)


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload anywhere inside a protobuf message, with the field path that leads to it."""
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        where = f"{path}.{field.name}"
        if isinstance(value, Message):
            yield from payloads_in(value, where)
        elif hasattr(value, "items"):  # a map field
            for key, item in value.items():
                if isinstance(item, Message):
                    yield from payloads_in(item, f"{where}[{key}]")
        else:  # a repeated message field
            for n, item in enumerate(value):
                yield from payloads_in(item, f"{where}[{n}]")


# The SDK core's own bookkeeping in its markers, which the core itself reads back on replay (so
# no codec of ours may seal it): a patch's id, and a local activity's sequence, type and times.
# Its result, the only part the workflow wrote, is a payload of ours and is sealed.
CORE_MARKER_FIELDS = {
    "marker_recorded_event_attributes.details[patch-data]": {"id", "deprecated"},
    "marker_recorded_event_attributes.details[data]": {
        "seq",
        "attempt",
        "activity_id",
        "activity_type",
        "complete_time",
        "backoff",
        "original_schedule_time",
        "activation_index",
    },
}


def core_bookkeeping(path: str, payload: Payload) -> bool:
    """A core marker's plain details, checked to hold nothing but the core's known fields."""
    for where, fields in CORE_MARKER_FIELDS.items():
        if where in path:
            assert set(json.loads(payload.data)) <= fields, f"{path} holds more than the core's bookkeeping"
            return True
    return False


def history_payloads(history: WorkflowHistory) -> list[tuple[str, Payload]]:
    return [
        (f"event {event.event_id}{path}", payload)
        for event in history.events
        for path, payload in payloads_in(event)
        if "search_attributes" not in path  # indexed by the server: must stay readable (no personal data)
        and not core_bookkeeping(path, payload)
    ]


def raw_bytes(history: WorkflowHistory) -> bytes:
    return b"".join(event.SerializeToString() for event in history.events)


async def test_a_history_holds_no_personal_data_in_plain_text(
    env: WorkflowEnvironment,
    worker: Worker,
    cl: CompiledStrategy,  # noqa: F811
) -> None:
    start = next_monday_9()
    acct = account(cl, start, debtor_name=NAME, email=EMAIL, phone=PHONE)
    real, _ = await journey(env, cl, acct, start, {"days": 20, "calls": ["no_answer"]})
    history = await real.handle.fetch_history()  # raw events: the client does not decode history

    everything = raw_bytes(history)
    found = [secret for secret in SECRETS if secret.encode() in everything]
    assert found == [], f"plain text in the raw history: {found}"
    payloads = history_payloads(history)
    assert len(payloads) > 10
    plain = [path for path, p in payloads if p.metadata.get("encoding") != ENCODING]
    assert plain == [], f"payloads not sealed: {plain}"
    assert {p.metadata[KEY_ID].decode() for _, p in payloads} == {PAYLOAD_KEY_ID}

    opened = b"".join(codec({PAYLOAD_KEY_ID: KEY_A}, PAYLOAD_KEY_ID).open(p).data for _, p in payloads)
    assert all(secret.encode() in opened for secret in (NAME, EMAIL, PHONE))


def rotated(keys: dict[str, bytes], current: str) -> DataConverter:
    return converter_for(codec(keys, current))


async def test_keys_rotate_a_history_sealed_with_the_old_key_still_reads_and_replays(
    env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    cl: CompiledStrategy,  # noqa: F811
) -> None:
    """The account starts under key A (the suite's key); then every process moves to key B with A
    still listed; the workflow carries on, finishes, and its mixed history replays."""
    start = await env.get_current_time()
    acct = account(cl, start, debtor_name=NAME, email=EMAIL, phone=PHONE)
    workflow_id = debtor_workflow_id("rotation", acct.account_id)
    async with running_worker(env, sessions, {}, cached=False):
        handle = await env.client.start_workflow(
            DebtorWorkflow.run,
            DebtorInput(campaign=CampaignInfo(id="rotation", creditor_name="Acme"), account=acct, strategy=cl),
            id=workflow_id,
            task_queue=TASK_QUEUE,
        )
        await settle(handle)

    both = {PAYLOAD_KEY_ID: KEY_A, "test-b": KEY_B}
    # The environment's client with the rotated converter (and its time-skipping interceptor).
    client_b = Client(**{**env.client.config(), "data_converter": rotated(both, "test-b")})
    handle_b = client_b.get_workflow_handle_for(DebtorWorkflow.run, workflow_id)
    async with running_worker(env, sessions, {}, client=client_b, cached=False):
        await skip(env, timedelta(days=2))  # a timer or two fire under the new key
        await handle_b.signal(DebtorWorkflow.close, ev.Close(reason="rotation test"))
        result = await result_of(handle_b)
    assert result.resolution is not None

    history = await handle_b.fetch_history()
    used = {p.metadata[KEY_ID].decode() for _, p in history_payloads(history)}
    assert used == {PAYLOAD_KEY_ID, "test-b"}
    replayer = Replayer(
        workflows=[DebtorWorkflow], workflow_runner=workflow_runner(), data_converter=rotated(both, "test-b")
    )
    await replayer.replay_workflow(history)

    only_b = codec({"test-b": KEY_B}, "test-b")
    old = next(p for _, p in history_payloads(history) if p.metadata[KEY_ID] == PAYLOAD_KEY_ID.encode())
    with pytest.raises(PayloadKeyError, match=f"key id '{PAYLOAD_KEY_ID}', which is not configured"):
        only_b.open(old)


class TestEncryptionCodec:
    async def test_round_trip_seals_with_the_current_key_and_opens_with_the_named_one(self) -> None:
        plain = Payload(metadata={"encoding": b"json/plain"}, data=f'"{NAME}"'.encode())
        [sealed] = await codec({"a": KEY_A}, "a").encode([plain])
        assert NAME.encode() not in sealed.SerializeToString()
        assert sealed.metadata[KEY_ID] == b"a"
        [opened] = await codec({"a": KEY_A, "b": KEY_B}, "b").decode([sealed])
        assert opened == plain

    async def test_payloads_written_before_the_codec_pass_through(self) -> None:
        plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"debtor_name": "old"}')
        assert await codec({"a": KEY_A}, "a").decode([plain]) == [plain]

    async def test_an_unknown_key_id_fails_naming_it_and_the_configured_ones(self) -> None:
        [sealed] = await codec({"retired": KEY_A}, "retired").encode([Payload(data=b"x")])
        with pytest.raises(PayloadKeyError, match=r"key id 'retired', which is not configured \(configured: a, b\)"):
            await codec({"a": KEY_A, "b": KEY_B}, "a").decode([sealed])

    async def test_a_different_key_under_the_same_id_or_an_altered_payload_fails_clearly(self) -> None:
        [sealed] = await codec({"a": KEY_A}, "a").encode([Payload(data=b"x")])
        with pytest.raises(PayloadKeyError, match="does not open with the key configured under that id"):
            await codec({"a": KEY_B}, "a").decode([sealed])
        altered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
        with pytest.raises(PayloadKeyError, match="does not open"):
            await codec({"a": KEY_A}, "a").decode([altered])
        with pytest.raises(PayloadKeyError, match="too short"):
            await codec({"a": KEY_A}, "a").decode([Payload(metadata=sealed.metadata, data=b"short")])

    def test_the_current_key_must_be_listed(self) -> None:
        with pytest.raises(ValueError, match="current payload key 'b'"):
            codec({"a": KEY_A}, "b")
