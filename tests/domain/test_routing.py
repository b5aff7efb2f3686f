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


def compile_steps(body: str) -> CompiledStrategy:
    return compile_text(HEADER + body, "routing.yaml", compiled_on=date(2026, 11, 1)).strategy


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
