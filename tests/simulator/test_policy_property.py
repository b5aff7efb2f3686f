"""Property: whatever the account, time zone and events, a simulated schedule never contacts a
debtor outside the policy's hours, on a holiday, over a cap, below a minimum gap, after an
opt-out, or during a dispute.

The strategy under test is deliberately aggressive (every channel every 30 minutes), so the
policy is the only thing standing between the debtor and a flood. Its policy spreads the contacts
it moves over a drawn spread (none, the default, hours), for a drawn account id: the spread must
never carry a contact out of what the policy allows. The checks below re-derive
each rule from the preset's figures with their own arithmetic instead of calling
`domain.policy`, so a bug there cannot hide itself.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from domain import events as ev
from domain.account import AccountSnapshot
from domain.policy import ContactPolicy
from domain.types import Channel, Outcome
from simulator.engine import Run, simulate
from simulator.scenario import ScriptedResponder
from strategies.compiler import compile_text

ZONES = {
    "CL": ["America/Santiago", "America/Punta_Arenas"],
    "CO": ["America/Bogota"],
    "MX": ["America/Mexico_City", "America/Tijuana", "America/Cancun"],
    "US_REG_F": ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu"],
}
CURRENCY = {"CL": "CLP", "CO": "COP", "MX": "MXN", "US_REG_F": "USD"}
LOCALE = {"CL": "es-CL", "CO": "es-CO", "MX": "es-MX", "US_REG_F": "en-US"}

AGGRESSIVE = """
id: flood
name: Flood
locale: {locale}
currency: {currency}
timezone: {zone}
policy: {{preset: {preset}, spread: {spread}}}
queues: [calls]
segments: [{{name: all, start: blast}}]
steps:
  blast:
    stage: outreach
    do:
      - send: {{channel: email, template: t}}
      - send: {{channel: sms, template: t}}
      - send: {{channel: whatsapp, template: t}}
      - send: {{channel: letter, template: t}}
      - agent_task:
          queue: calls
          due_within: 2h
          attempts: 2
          retry_after: 30min
          outcomes: {{no_answer: pause, right_party_contact: pause, refusal: pause, wrong_party: pause}}
  pause:
    stage: outreach
    do:
      - wait: 30min
      - goto: blast
templates:
  t:
    {locale}:
      body: "{{{{ account.balance | money }}}}"
"""

CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.VOICE, Channel.LETTER]


Case = tuple[str, str, str, str, datetime, list[tuple[float, ev.Event]], list[Outcome]]


@hs.composite
def scenarios(draw: hs.DrawFn) -> Case:
    preset = draw(hs.sampled_from(sorted(ZONES)))
    zone = draw(hs.sampled_from(ZONES[preset]))
    spread = draw(hs.sampled_from(["0min", "30min", "4h"]))
    account_id = draw(hs.text(alphabet="ABCXYZ0123456789-", min_size=1, max_size=10))
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(hs.integers(0, 365 * 24 * 60)))
    events: list[tuple[float, ev.Event]] = []
    for _ in range(draw(hs.integers(0, 4))):
        when = draw(hs.floats(0, 25))
        kind = draw(hs.sampled_from(["opt_out", "payment", "dispute"]))
        if kind == "opt_out":
            events.append((when, ev.OptOut(channel=draw(hs.sampled_from(CHANNELS)))))
        elif kind == "payment":
            events.append(
                (
                    when,
                    ev.PaymentReceived(
                        payment_id=f"p{when}", amount=draw(hs.integers(1, 500)), currency=CURRENCY[preset]
                    ),
                )
            )
        else:
            length = draw(hs.floats(0.5, 5))
            events.append((when, ev.DisputeOpened()))
            events.append((when + length, ev.DisputeResolved(upheld=False)))
    calls = draw(
        hs.lists(hs.sampled_from([Outcome.NO_ANSWER, Outcome.RIGHT_PARTY_CONTACT, Outcome.REFUSAL]), max_size=30)
    )
    return preset, zone, spread, account_id, start, events, calls


def run_scenario(
    preset: str,
    zone: str,
    spread: str,
    account_id: str,
    start: datetime,
    events: list[tuple[float, ev.Event]],
    calls: list[Outcome],
) -> Run:
    strategy = compile_text(flood(preset, zone, spread), "flood.yaml").strategy
    account = AccountSnapshot(
        account_id=account_id,
        country=preset[:2],
        timezone=zone,
        currency=CURRENCY[preset],
        balance=1_000_000,
        original_amount=1_000_000,
        due_date=(start - timedelta(days=30)).date(),
        email="a@example.com",
        phone="+10000000000",
        postal_address="x",
    )
    scripted = [(start + timedelta(days=d), e) for d, e in events]
    return simulate(strategy, account, start, 30, scripted, ScriptedResponder(list(calls)))


def check(policy: ContactPolicy, zone: str, run: Run, events: list[tuple[float, ev.Event]], start: datetime) -> None:
    tz = ZoneInfo(zone)
    contacts = sorted(run.contacts)
    assert contacts, "the flood strategy must contact the debtor at least once in 30 days"
    calendar = holidays.country_holidays(policy.holidays) if policy.holidays else {}
    for at, channel in contacts:
        local = at.astimezone(tz)
        minute = local.hour * 60 + local.minute
        if Channel(channel) in policy.window_channels:
            day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][local.weekday()]
            inside = any(day in w.days and w.start <= minute < w.end for w in policy.windows)
            assert inside, f"{channel} at {local:%a %Y-%m-%d %H:%M} {zone} is outside {policy.window_rule}"
            assert local.date() not in calendar, f"{channel} on holiday {local.date()} ({calendar.get(local.date())})"
    for cap in policy.caps:
        counted = [(at, ch) for at, ch in contacts if cap.channels is None or Channel(ch) in cap.channels]
        for at, _ in counted:
            if cap.period == "rolling":
                n = sum(1 for other, _ in counted if at - timedelta(days=cap.days) < other <= at)
            elif cap.period == "calendar_day":
                n = sum(1 for other, _ in counted if other.astimezone(tz).date() == at.astimezone(tz).date())
            else:
                n = sum(
                    1
                    for other, _ in counted
                    if other.astimezone(tz).isocalendar()[:2] == at.astimezone(tz).isocalendar()[:2]
                )
            assert n <= cap.max, f"{cap.id}: {n} contacts in the period ending {at}"
    for gap in policy.min_gaps:
        times = [at for at, ch in contacts if gap.channels is None or Channel(ch) in gap.channels]
        for earlier, later in itertools.pairwise(times):
            assert later - earlier >= timedelta(minutes=gap.minutes), f"{gap.id}: {earlier} then {later}"
    for offset, event in events:
        at = start + timedelta(days=offset)
        if isinstance(event, ev.OptOut):
            late = [c for c in contacts if c[0] > at and c[1] == event.channel]
            assert not late, f"{event.channel} after opt-out at {at}: {late[0]}"
    # A dispute holds the account from the first opening until the first resolution after it;
    # a resolution with no open dispute is rejected.
    held_since = None
    holds = []
    for offset, event in sorted(events, key=lambda item: item[0]):
        at = start + timedelta(days=offset)
        if isinstance(event, ev.DisputeOpened) and held_since is None:
            held_since = at
        elif isinstance(event, ev.DisputeResolved) and held_since is not None:
            holds.append((held_since, at))
            held_since = None
    for opened, resolved in holds:
        inside = [c for c in contacts if opened < c[0] < resolved]
        assert not inside, f"contact during dispute {opened}..{resolved}: {inside[0]}"


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_schedule_breaks_the_policy(case: Case) -> None:
    preset, zone, spread, account_id, start, events, calls = case
    run = run_scenario(preset, zone, spread, account_id, start, events, calls)
    check(compile_policy(preset, zone, spread), zone, run, events, start)


def flood(preset: str, zone: str, spread: str) -> str:
    return AGGRESSIVE.format(preset=preset, zone=zone, currency=CURRENCY[preset], locale=LOCALE[preset], spread=spread)


def compile_policy(preset: str, zone: str, spread: str) -> ContactPolicy:
    return compile_text(flood(preset, zone, spread), "flood.yaml").strategy.policy
