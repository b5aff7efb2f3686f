"""Routing by channel and by the account's facts (issue 13): offers that fall back to another
channel, opt-out handlers that match a channel, the channels CEL sees, re-evaluation of the
account's segment, and what a strategy does with the contacts that fell due while it was held."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain import actions as act
from domain import events as ev
from domain.account import AccountSnapshot
from domain.interpreter import Result, start, step
from domain.strategy import CompiledStrategy
from domain.types import Channel, Resolution
from strategies.compiler import compile_text

HEADER = """
id: routing
name: Routing
locale: es-MX
currency: MXN
timezone: America/Mexico_City
policy: {preset: NONE, spread: 0min}
templates:
  t:
    es-MX:
      body: "Hola {{ debtor.first_name }}"
"""

# Monday 2026-11-02 10:00 in Mexico City (UTC-6).
T0 = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)


def compile_steps(body: str, policy: str | None = None) -> CompiledStrategy:
    header = HEADER if policy is None else HEADER.replace("policy: {preset: NONE, spread: 0min}", policy)
    return compile_text(header + body, "routing.yaml", compiled_on=date(2026, 11, 1)).strategy


def account(**over: object) -> AccountSnapshot:
    data: dict[str, object] = {
        "account_id": "MX-1",
        "debtor_name": "Ana Pérez",
        "country": "MX",
        "timezone": "America/Mexico_City",
        "currency": "MXN",
        "balance": 500_000,
        "original_amount": 500_000,
        "due_date": date(2026, 10, 1),
        "email": "ana@example.com",
        "phone": "+525512345678",
        "whatsapp": "+525512345678",
    }
    data.update(over)
    return AccountSnapshot.model_validate(data)


def sends(result: Result) -> list[act.SendMessage]:
    return [a for a in result.actions if isinstance(a, act.SendMessage)]


def blocked(result: Result) -> list[act.ContactBlocked]:
    return [a for a in result.actions if isinstance(a, act.ContactBlocked)]


def tick(strategy: CompiledStrategy, result: Result) -> tuple[Result, datetime]:
    wake = result.state.wake_at()
    assert wake is not None
    return step(strategy, result.state, ev.Tick(), wake), wake


# The Mexican WhatsApp-first flow of the issue: a reminder, then a settlement offer, on WhatsApp.
WHATSAPP_FIRST = """
segments: [{{name: all, start: remind}}]
{on}
steps:
  remind:
    stage: outreach
    do:
      - send: {{channel: whatsapp, template: t, fallback: [sms, email]}}
      - wait: 3d
      - offer_settlement: {{channel: whatsapp, template: t, max_discount: 20%, expires_in: 7d{fallback}}}
      - wait: 10d
      - goto: write_off
  write_off:
    stage: closed
    do:
      - end: written_off
"""


def whatsapp_first(on: str = "", fallback: str = "") -> CompiledStrategy:
    return compile_steps(WHATSAPP_FIRST.format(on=on, fallback=fallback))


class TestTheBugOfTheIssue:
    """A WhatsApp-only opt-out, as it ran before offers took fallbacks and handlers matched a channel."""

    def test_without_a_fallback_the_settlement_offer_is_dropped(self) -> None:
        s = whatsapp_first()
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=Channel.WHATSAPP), T0 + timedelta(hours=1))
        r, _ = tick(s, r)
        assert sends(r) == []  # no offer on any channel, though email and SMS are allowed
        assert [(b.channel, b.rule) for b in blocked(r)] == [(Channel.WHATSAPP, "opt-out")]
        assert r.state.offer is None

    def test_a_scalar_opt_out_handler_writes_the_debtor_off_on_a_whatsapp_opt_out(self) -> None:
        s = whatsapp_first(on="on: {opt_out: write_off}")
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=Channel.WHATSAPP), T0 + timedelta(hours=1))
        # The scalar form keeps its meaning (any opt-out): this is what the strategy says.
        assert r.state.resolution == Resolution.WRITTEN_OFF


class TestOffersAndOptOutsByChannel:
    def test_the_offer_falls_back_to_the_next_usable_channel(self) -> None:
        s = whatsapp_first(fallback=", fallback: [sms, email]")
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=Channel.WHATSAPP), T0 + timedelta(hours=1))
        r, _ = tick(s, r)
        [offer] = sends(r)
        assert offer.channel == Channel.SMS
        assert offer.offer["discount_pct"] == "20"
        assert r.state.offer is not None
        assert r.state.offer.kind == "settlement"

    def test_a_plan_offer_falls_back_too(self) -> None:
        s = compile_steps("""
plans: {step: on_plan, on_broken: done}
segments: [{name: all, start: offer}]
steps:
  offer:
    stage: commitment
    do:
      - offer_plan: {channel: whatsapp, template: t, fallback: [email]}
      - wait: 10d
      - goto: done
  on_plan:
    stage: payment
    do:
      - wait: 30d
      - goto: done
  done:
    stage: closed
    do:
      - end: written_off
""")
        r = start(s, account(opted_out=(Channel.WHATSAPP,)), T0)
        assert [m.channel for m in sends(r)] == [Channel.EMAIL]
        assert r.state.offer is not None
        assert r.state.offer.kind == "plan"

    def test_an_opt_out_of_everything_routes_by_all_and_a_channel_one_goes_on(self) -> None:
        s = whatsapp_first(on="on: {opt_out: {all: write_off}}", fallback=", fallback: [sms, email]")
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=Channel.WHATSAPP), T0 + timedelta(hours=1))
        assert r.state.resolution is None
        assert r.state.step == "remind"
        r, _ = tick(s, r)
        assert [m.channel for m in sends(r)] == [Channel.SMS]
        r = step(s, r.state, ev.OptOut(channel=None), T0 + timedelta(days=4))
        assert r.state.resolution == Resolution.WRITTEN_OFF

    def test_a_channel_key_wins_over_any(self) -> None:
        s = compile_steps("""
segments: [{name: all, start: remind}]
on:
  opt_out: {whatsapp: by_email, any: write_off}
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: whatsapp, template: t}
      - wait: 30d
      - goto: write_off
  by_email:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 30d
      - goto: write_off
  write_off:
    stage: closed
    do:
      - end: written_off
""")
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=Channel.WHATSAPP), T0 + timedelta(hours=1))
        assert [m.channel for m in sends(r)] == [Channel.EMAIL]
        r = step(s, r.state, ev.OptOut(channel=Channel.SMS), T0 + timedelta(hours=2))
        assert r.state.resolution == Resolution.WRITTEN_OFF

    def test_without_an_all_key_an_opt_out_of_everything_still_closes_as_opted_out(self) -> None:
        s = whatsapp_first(on="on: {opt_out: {whatsapp: write_off}}")
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=None), T0 + timedelta(hours=1))
        assert r.state.resolution == Resolution.OPTED_OUT

    def test_the_handler_decides_with_the_channels_left(self) -> None:
        s = compile_steps("""
segments: [{name: all, start: remind}]
on:
  opt_out: reconsider
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: whatsapp, template: t, fallback: [sms, email]}
      - wait: 30d
      - goto: write_off
  reconsider:
    stage: outreach
    do:
      - branch:
          - if: 'has_email || has_sms'
            goto: by_email
          - else: write_off
  by_email:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 30d
      - goto: write_off
  write_off:
    stage: closed
    do:
      - end: written_off
""")
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=Channel.WHATSAPP), T0 + timedelta(hours=1))
        assert [m.channel for m in sends(r)] == [Channel.EMAIL]
        r = step(s, r.state, ev.OptOut(channel=Channel.EMAIL), T0 + timedelta(hours=2))
        r = step(s, r.state, ev.OptOut(channel=Channel.SMS), T0 + timedelta(hours=3))
        assert r.state.resolution == Resolution.WRITTEN_OFF


# Three emails anchored on the due date (October 1st): on the 5th, 8th and 11th of November.
ANCHORED = """
segments: [{{name: all, start: remind}}]
{top}
steps:
  remind:
    stage: outreach
    do:
      - wait: {{for: 35d, from: due_date, until: "10:00"}}
      - send: {{channel: email, template: t}}
      - wait: {{for: 38d, from: due_date, until: "10:00"}}
      - send: {{channel: email, template: t}}
      - wait: {{for: 41d, from: due_date, until: "10:00"}}
      - send: {{channel: email, template: t}}
      - wait: {{for: 60d, from: due_date}}
      - end: written_off
"""
RESUMED = T0 + timedelta(days=12)  # Saturday November 14th, after all three


def held_across_the_three(catch_up: str | None, hold: str = "pause") -> tuple[CompiledStrategy, Result]:
    s = compile_steps(ANCHORED.format(top=f"catch_up: {catch_up}" if catch_up else ""))
    r = start(s, account(), T0)
    assert sends(r) == []
    if hold == "pause":
        r = step(s, r.state, ev.Pause(), T0 + timedelta(hours=1))
        assert r.state.held_since == T0 + timedelta(hours=1)
        return s, step(s, r.state, ev.Resume(), RESUMED)
    r = step(s, r.state, ev.DisputeOpened(), T0 + timedelta(hours=1))
    return s, step(s, r.state, ev.DisputeResolved(), RESUMED)


class TestCatchUp:
    def test_all_replays_every_passed_anchor_at_once_as_before(self) -> None:
        for written in (None, "all"):
            s, r = held_across_the_three(written)
            assert [m.channel for m in sends(r)] == [Channel.EMAIL] * 3  # the same minute, preset NONE
            assert r.state.held_since is None
            assert s.catch_up == "all"

    def test_all_is_the_default_and_leaves_the_hash_as_it_was(self) -> None:
        default, _ = held_across_the_three(None)
        written, _ = held_across_the_three("all")
        assert default.hash == written.hash
        assert "catch_up" not in default.model_dump(exclude_defaults=True)

    def test_skip_missed_skips_the_contacts_that_fell_due_while_held(self) -> None:
        _, r = held_across_the_three("skip_missed")
        assert sends(r) == []
        skipped = blocked(r)
        assert [b.rule for b in skipped] == ["catch-up"] * 3
        assert "skip_missed" in skipped[0].reason
        assert r.state.wake_at() == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # the 60d wait, not a send
        assert r.state.counters.contacts == 0

    def test_latest_runs_only_the_last_of_them(self) -> None:
        _, r = held_across_the_three("latest")
        assert len(sends(r)) == 1
        assert len(blocked(r)) == 2
        assert r.state.pc == 6  # after the third send: the 60d wait

    def test_a_dispute_is_a_hold_too(self) -> None:
        _, r = held_across_the_three("skip_missed", hold="dispute")
        assert sends(r) == []
        assert len(blocked(r)) == 3

    def test_contacts_due_after_the_hold_run_as_usual(self) -> None:
        s = compile_steps(ANCHORED.format(top="catch_up: skip_missed"))
        r = start(s, account(), T0)
        r = step(s, r.state, ev.Pause(), T0 + timedelta(hours=1))
        r = step(s, r.state, ev.Resume(), T0 + timedelta(days=4))  # after the 5th's, before the 8th's
        assert len(blocked(r)) == 1
        r, _ = tick(s, r)
        assert len(sends(r)) == 1  # the 8th's
        assert blocked(r) == []

    def test_a_contact_the_policy_moved_into_the_hold_is_missed_too(self) -> None:
        s = compile_steps(
            """
catch_up: skip_missed
segments: [{name: all, start: remind}]
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 30d
      - end: written_off
""",
            POLICY_WEEKDAYS,
        )
        evening = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # Monday 20:00 in Mexico City
        r = start(s, account(), evening)
        assert [b.moved_to for b in blocked(r)] == [datetime(2026, 11, 3, 15, 0, tzinfo=UTC)]  # Tuesday 09:00
        r = step(s, r.state, ev.Pause(), evening + timedelta(hours=1))
        r = step(s, r.state, ev.Resume(), datetime(2026, 11, 4, 18, 0, tzinfo=UTC))  # Wednesday noon
        assert sends(r) == []
        assert [b.rule for b in blocked(r)] == ["catch-up"]


POLICY_WEEKDAYS = """policy:
  preset: NONE
  spread: 0min
  windows: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00"}]"""


LEVELS = """
segments:
  - name: severe
    when: balance >= money("4,000")
    start: call_level
  - name: mild
    start: email_level
on:
  partial_payment: recheck
  dispute_resolved: recheck
  resumed: recheck
steps:
  call_level:
    stage: contact
    do:
      - send: {channel: sms, template: t}
      - wait: 30d
      - goto: done
  email_level:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 30d
      - goto: done
  recheck:
    stage: outreach
    do:
      - reevaluate
  done:
    stage: closed
    do:
      - end: written_off
"""


class TestReevaluation:
    def test_a_partial_payment_places_the_account_at_its_new_level(self) -> None:
        s = compile_steps(LEVELS)
        r = start(s, account(), T0)
        assert (r.state.segment, r.state.step) == ("severe", "call_level")
        payment = ev.PaymentReceived(payment_id="p1", amount=200_000, currency="MXN")
        r = step(s, r.state, payment, T0 + timedelta(days=1))
        assert (r.state.segment, r.state.step) == ("mild", "email_level")
        assert [m.channel for m in sends(r)] == [Channel.EMAIL]

    def test_the_most_severe_matching_segment_wins(self) -> None:
        s = compile_steps(LEVELS)
        r = start(s, account(balance=300_000), T0)
        assert r.state.segment == "mild"
        r = step(s, r.state, ev.Pause(), T0 + timedelta(hours=1))
        bigger = r.state.model_copy(update={"balance": 450_000})  # a fee, say
        r = step(s, bigger, ev.Resume(), T0 + timedelta(days=2))
        assert (r.state.segment, r.state.step) == ("severe", "call_level")

    def test_after_a_dispute_is_resolved(self) -> None:
        s = compile_steps(LEVELS)
        r = start(s, account(), T0)
        r = step(s, r.state, ev.DisputeOpened(), T0 + timedelta(hours=1))
        r = step(s, r.state, ev.DisputeResolved(), T0 + timedelta(days=3))
        assert r.state.step == "call_level"
        assert [m.channel for m in sends(r)] == [Channel.SMS]

    def test_a_variant_enters_at_its_own_start(self) -> None:
        text = LEVELS.replace("    start: email_level\n", "    start: email_level\n    variants: {b: call_level}\n")
        s = compile_steps("variants: [{name: a, weight: 1}, {name: b, weight: 1}]\n" + text)
        ids = [f"MX-{n}" for n in range(40)]
        from domain.interpreter import choose_variant

        in_b = next(i for i in ids if choose_variant(s, i) == "b")
        r = start(s, account(account_id=in_b), T0)
        payment = ev.PaymentReceived(payment_id="p1", amount=200_000, currency="MXN")
        r = step(s, r.state, payment, T0 + timedelta(days=1))
        assert (r.state.segment, r.state.step) == ("mild", "call_level")

    def test_with_no_segment_matching_the_step_goes_on(self) -> None:
        s = compile_steps("""
segments:
  - name: big
    when: balance >= money("4,000")
    start: big
on:
  partial_payment: recheck
steps:
  big:
    stage: contact
    do:
      - send: {channel: sms, template: t}
      - wait: 30d
      - goto: done
  recheck:
    stage: outreach
    do:
      - reevaluate
      - send: {channel: email, template: t}
      - wait: 30d
      - goto: done
  done:
    stage: closed
    do:
      - end: written_off
""")
        r = start(s, account(), T0)
        payment = ev.PaymentReceived(payment_id="p1", amount=200_000, currency="MXN")
        r = step(s, r.state, payment, T0 + timedelta(days=1))
        assert (r.state.segment, r.state.step) == ("big", "recheck")
        assert [m.channel for m in sends(r)] == [Channel.EMAIL]


class TestReevaluationByAHandler:
    """`on: {partial_payment: reevaluate}`: Kill Bill's overdue states, where a payment moves the
    account only when its level changes."""

    def strategy(self) -> CompiledStrategy:
        return compile_steps(LEVELS.replace("  partial_payment: recheck\n", "  partial_payment: reevaluate\n"))

    def test_the_same_level_leaves_the_account_where_it_was(self) -> None:
        s = self.strategy()
        r = start(s, account(), T0)
        before = r.state
        payment = ev.PaymentReceived(payment_id="p1", amount=50_000, currency="MXN")
        r = step(s, before, payment, T0 + timedelta(days=1))
        assert sends(r) == []
        assert (r.state.segment, r.state.step, r.state.pc, r.state.waiting) == (
            before.segment,
            before.step,
            before.pc,
            before.waiting,
        )

    def test_a_new_level_enters_its_start(self) -> None:
        s = self.strategy()
        r = start(s, account(), T0)
        payment = ev.PaymentReceived(payment_id="p1", amount=200_000, currency="MXN")
        r = step(s, r.state, payment, T0 + timedelta(days=1))
        assert (r.state.segment, r.state.step) == ("mild", "email_level")
        assert [m.channel for m in sends(r)] == [Channel.EMAIL]
