"""The spread of moved contacts: when a window opens, the accounts that waited for it land at
stable per-account offsets within the policy's spread instead of all at the opening, never
outside the allowed time, and strategies compiled before the spread existed move as they did."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import actions as act
from domain import events as ev
from domain.account import AccountSnapshot
from domain.frozen import omit_added_defaults
from domain.interpreter import Result, choose_variant, start, step
from domain.policy import (
    MAX_SPREAD_S,
    ContactPolicy,
    ContactRecord,
    Window,
    check_contact,
    next_allowed,
    spread_moved,
    spread_offset,
)
from domain.policy_presets import PRESETS
from domain.strategy import CompiledStrategy
from domain.types import Channel, Weekday
from strategies.compiler import DEFAULT_SPREAD_S, compile_file, compile_text, content_hash

ROOT = Path(__file__).resolve().parents[2]

ZONES = {
    "US_REG_F": "America/New_York",
    "CL": "America/Santiago",
    "CO": "America/Bogota",
    "MX": "America/Mexico_City",
    "PE": "America/Lima",
    "AR": "America/Argentina/Buenos_Aires",
    "BR": "America/Sao_Paulo",
}
SCL = ZoneInfo("America/Santiago")
# Tuesday 2026-11-03 07:50 in Santiago, ten minutes before CL-T1 opens: the eve of a wave.
EVE = datetime(2026, 11, 3, 7, 50, tzinfo=SCL).astimezone(UTC)
OPENING = datetime(2026, 11, 3, 8, 0, tzinfo=SCL).astimezone(UTC)

ONE_SEND = """
id: wave
name: Wave
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: CL
{policy}
segments: [{{name: all, start: remind}}]
steps:
  remind:
    stage: outreach
    do:
      - send: {{channel: email, template: t}}
      - wait: 3d
      - end: written_off
templates:
  t:
    es-CL:
      body: "{{{{ account.balance | money }}}}"
"""


def wave_strategy(policy: str = "") -> CompiledStrategy:
    return compile_text(ONE_SEND.format(policy=policy), "wave.yaml", compiled_on=date(2026, 11, 30)).strategy


def account(account_id: str) -> AccountSnapshot:
    return AccountSnapshot(
        account_id=account_id,
        country="CL",
        timezone="America/Santiago",
        currency="CLP",
        balance=100_000,
        original_amount=100_000,
        due_date=date(2026, 10, 1),
        email="ana@example.com",
    )


def first_send_at(strategy: CompiledStrategy, account_id: str) -> datetime:
    """When the account's first message goes out if it starts on the eve of the opening: where
    the interpreter parks it, and then the send it makes when the timer wakes it there."""
    parked = start(strategy, account(account_id), EVE)
    (blocked,) = [a for a in parked.actions if isinstance(a, act.ContactBlocked)]
    wake = parked.state.wake_at()
    assert wake is not None
    assert blocked.moved_to == wake
    woken: Result = step(strategy, parked.state, ev.Tick(), wake)
    assert [a.channel for a in woken.actions if isinstance(a, act.SendMessage)] == [Channel.EMAIL]
    return wake


# ---- the offset ------------------------------------------------------------------------------------


@given(key=st.text(min_size=1, max_size=40), span=st.integers(0, MAX_SPREAD_S))
def test_the_offset_is_stable_and_inside_the_span(key: str, span: int) -> None:
    offset = spread_offset(key, span)
    assert offset == spread_offset(key, span)
    assert offset == 0 if span == 0 else 0 <= offset < span


def test_the_offset_is_the_same_in_every_process() -> None:
    """sha256, not Python's `hash`, which another process salts differently: a workflow replayed
    on another worker, or the simulator, must land where the first run landed."""
    keys = ["B-000000", "CL-00001", "ñandú-7", "x" * 64]
    code = "import sys; from domain.policy import spread_offset; print([spread_offset(k, 1800) for k in sys.argv[1:]])"
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, *keys],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out) == [spread_offset(k, 1800) for k in keys]


def test_ten_thousand_accounts_fill_every_minute_of_the_spread_evenly() -> None:
    minutes = Counter(spread_offset(f"B-{n:06d}", 1800) // 60 for n in range(10_000))
    assert sorted(minutes) == list(range(30))
    mean = 10_000 / 30
    assert all(0.8 * mean < count < 1.2 * mean for count in minutes.values()), minutes.most_common(3)


def test_the_offset_does_not_follow_the_variant_split() -> None:
    """The champion/challenger split hashes the same id; the spread hashes it apart, so neither arm
    lands in one end of the spread."""
    strategy = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    ids = [f"ACC-{n}" for n in range(4000)]
    for arm in ("champion", "challenger"):
        offsets = [spread_offset(i, 1800) for i in ids if choose_variant(strategy, i) == arm]
        assert 800 < sum(offsets) / len(offsets) < 1000, arm  # the whole spread's mean is 900 s


# ---- where a moved contact lands -----------------------------------------------------------------------


@st.composite
def policies(draw: st.DrawFn) -> tuple[ContactPolicy, str]:
    """A preset, sometimes narrowed to one short window (shorter than the spread), with a spread."""
    preset = draw(st.sampled_from(sorted(PRESETS)))
    policy = PRESETS[preset]
    if draw(st.booleans()):
        start_minute = draw(st.integers(0, 23 * 60))
        length = draw(st.integers(1, 180))
        days = tuple(draw(st.sets(st.sampled_from(list(Weekday)), min_size=1)))
        window = Window(days=days, start=start_minute, end=min(1440, start_minute + length))
        policy = policy.model_copy(update={"windows": (window,)})
    spread = draw(st.sampled_from([None, 0, 60, 1800, 4 * 3600]))
    return policy.model_copy(update={"spread_s": spread}), ZONES[preset]


@settings(max_examples=200, deadline=None)
@given(
    case=policies(),
    channel=st.sampled_from(list(Channel)),
    after=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),  # noqa: DTZ001
    past=st.lists(st.tuples(st.integers(1, 10 * 1440), st.sampled_from(list(Channel)), st.booleans()), max_size=6),
    key=st.text(min_size=1, max_size=12),
)
def test_a_moved_contact_lands_inside_the_allowed_time_it_was_moved_to(
    case: tuple[ContactPolicy, str],
    channel: Channel,
    after: datetime,
    past: list[tuple[int, Channel, bool]],
    key: str,
) -> None:
    policy, tz = case
    now = after.replace(tzinfo=UTC)
    history = [ContactRecord(channel=ch, at=now - timedelta(minutes=m), conversation=c) for m, ch, c in past]
    moment, _ = next_allowed(policy, channel, now, tz, history)
    assert moment is not None
    landing = spread_moved(policy, channel, moment, tz, history, key)
    assert landing == spread_moved(policy, channel, moment, tz, history, key)  # deterministic
    assert moment <= landing < moment + timedelta(seconds=max(1, policy.spread_s or 0))
    # Allowed at every minute from the opening to the landing, so inside the window it opened
    # (never past its end) and on the same local day; and allowed at the landing itself.
    probe = moment
    while probe < landing:
        assert check_contact(policy, channel, probe, tz, history).allowed, f"{probe} between {moment} and {landing}"
        probe += timedelta(minutes=1)
    assert check_contact(policy, channel, landing, tz, history).allowed
    zone = ZoneInfo(tz)
    assert landing.astimezone(zone).date() == moment.astimezone(zone).date()


@settings(max_examples=100, deadline=None)
@given(key=st.text(min_size=1, max_size=12), day=st.integers(0, 300))
def test_at_a_long_window_s_opening_the_offset_is_the_whole_spread_s(key: str, day: int) -> None:
    policy = PRESETS["CL"].model_copy(update={"spread_s": 1800})
    opening = datetime(2026, 1, 5, 8, 0, tzinfo=SCL) + timedelta(days=day)
    if not check_contact(policy, Channel.SMS, opening.astimezone(UTC), "America/Santiago", []).allowed:
        return  # a Sunday or a holiday: nothing opens
    landing = spread_moved(policy, Channel.SMS, opening.astimezone(UTC), "America/Santiago", [], key)
    assert landing - opening == timedelta(seconds=spread_offset(key, 1800))


def test_a_move_to_a_time_of_the_account_s_own_is_not_spread() -> None:
    """A gap or rolling cap counted from the account's last contact ends at a time as spread as
    that contact was: only shared instants (openings, midnights) are spread."""
    policy = PRESETS["CL"].model_copy(update={"spread_s": 1800})
    last = datetime(2026, 11, 2, 10, 3, 27, tzinfo=SCL).astimezone(UTC)
    history = [ContactRecord(channel=Channel.SMS, at=last)]
    moment, met = next_allowed(policy, Channel.EMAIL, last + timedelta(hours=1), "America/Santiago", history)
    assert moment == last + timedelta(days=2)
    assert met[0].rule == "CL-F2"
    assert spread_moved(policy, Channel.EMAIL, moment, "America/Santiago", history, "A-1") == moment


def test_a_window_shorter_than_the_spread_keeps_every_landing_inside_it() -> None:
    strategy = wave_strategy(
        '  windows: [{days: [mon, tue, wed, thu, fri, sat], from: "08:00", to: "08:10"}]\n  spread: 1h'
    )
    landings = [first_send_at(strategy, f"B-{n:03d}") for n in range(200)]
    assert all(OPENING <= t < OPENING + timedelta(minutes=10) for t in landings)
    assert len({t.minute for t in (x.astimezone(SCL) for x in landings)}) == 10


# ---- a wave through the interpreter ------------------------------------------------------------------


def test_accounts_waiting_for_the_same_opening_land_spread_over_the_default_half_hour() -> None:
    strategy = wave_strategy()
    assert strategy.policy.spread_s == DEFAULT_SPREAD_S
    ids = [f"B-{n:03d}" for n in range(300)]
    landings = {i: first_send_at(strategy, i) for i in ids}
    assert all(t == OPENING + timedelta(seconds=spread_offset(i, DEFAULT_SPREAD_S)) for i, t in landings.items())
    assert len({t.astimezone(SCL).minute for t in landings.values()}) == 30


def test_a_spread_of_zero_lands_every_account_at_the_opening() -> None:
    strategy = wave_strategy("  spread: 0min")
    assert strategy.policy.spread_s == 0
    assert {first_send_at(strategy, f"B-{n:03d}") for n in range(50)} == {OPENING}


def test_a_strategy_compiled_before_the_spread_moves_as_it_did_and_keeps_its_hash() -> None:
    """Stored versions and the inputs of running workflows carry no `spread_s`: absent means none,
    so every account waiting for an opening still lands on it, and the version's content hash is
    computed over the very body it was published with."""
    strategy = wave_strategy()
    # Every field added since that holds its default is absent from such a body (the recorded
    # histories' test checks real ones: tests/workflows/test_debtor_history.py) ...
    stored = omit_added_defaults(strategy, strategy.model_dump(mode="json"))
    # ... and so are those the compiler now fills: the spread, the strategy's own rules, holiday names.
    del stored["policy"]["spread_s"]
    stored["policy"].pop("own_rules", None)
    if stored["policy"].get("calendar"):
        stored["policy"]["calendar"].pop("names", None)
    stored.pop("edition", None)
    body = {k: v for k, v in stored.items() if k != "hash"}
    stored["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    old = CompiledStrategy.model_validate(stored)
    assert old.policy.spread_s is None
    assert content_hash(old) == old.hash
    assert {first_send_at(old, f"B-{n:03d}") for n in range(50)} == {OPENING}
