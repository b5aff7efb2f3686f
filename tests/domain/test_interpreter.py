"""The pure interpreter: semantics a strategist relies on, one behaviour per test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain import actions as act
from domain import events as ev
from domain.account import AccountSnapshot, Due
from domain.errors import EventRejected
from domain.interpreter import Result, choose_variant, start, step
from domain.state import AccountState
from domain.strategy import CompiledStrategy, Variant
from domain.types import Channel, Outcome, Resolution, Stage
from strategies.compiler import compile_text

HEADER = """
id: unit
name: Unit
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: CL
queues: [calls]
templates:
  t:
    es-CL:
      body: "Hola {{ debtor.first_name }}, saldo {{ account.balance | money }}"
"""

# Monday 2026-11-02 10:00 in Santiago (UTC-3).
T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def compile_steps(body: str) -> CompiledStrategy:
    return compile_text(HEADER + body, "unit.yaml").strategy


def account(**over: object) -> AccountSnapshot:
    data: dict[str, object] = {
        "account_id": "A-1",
        "debtor_name": "Ana Pérez",
        "country": "CL",
        "timezone": "America/Santiago",
        "currency": "CLP",
        "balance": 100_000,
        "original_amount": 100_000,
        "due_date": date(2026, 10, 1),
        "email": "ana@example.com",
        "phone": "+56912345678",
        "postal_address": "Av. Siempre Viva 742",
    }
    data.update(over)
    return AccountSnapshot.model_validate(data)


def sends(result: Result) -> list[act.SendMessage]:
    return [a for a in result.actions if isinstance(a, act.SendMessage)]


def tick(strategy: CompiledStrategy, state: AccountState) -> tuple[Result, datetime]:
    wake = state.wake_at()
    assert wake is not None
    return step(strategy, state, ev.Tick(), wake), wake


CADENCE = """
segments: [{name: all, start: s1}]
steps:
  s1:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: 3d
      - send: {channel: sms, template: t}
      - wait: 1h
      - send: {channel: email, template: t}
      - wait: 30d
      - end: written_off
"""


class TestCadence:
    def test_first_send_goes_out_at_start_and_the_account_waits(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        assert [m.channel for m in sends(r)] == [Channel.EMAIL]
        assert r.state.wake_at() == T0 + timedelta(days=3)

    def test_late_wakeup_runs_steps_in_order_and_the_policy_spaces_them(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        late = T0 + timedelta(days=10)  # the worker was down for a week
        r2 = step(s, r.state, ev.Tick(), late)
        assert [m.channel for m in sends(r2)] == [Channel.SMS]  # not skipped
        # `wait: 1h` counts from the SMS that really went out, not from the missed plan.
        assert r2.state.wake_at() == late + timedelta(hours=1)
        # The next email is only 1 hour later in the strategy, but CL-F2 wants 2 days between
        # messages: catching up never bursts.
        r3, _ = tick(s, r2.state)
        assert sends(r3) == []
        blocked = [a for a in r3.actions if isinstance(a, act.ContactBlocked)]
        assert blocked
        assert blocked[0].rule == "CL-F2"
        assert blocked[0].moved_to is not None
        assert blocked[0].moved_to >= late + timedelta(days=2)

    def test_step_does_not_mutate_its_input(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        before = r.state.model_dump()
        step(s, r.state, ev.Tick(), T0 + timedelta(days=3))
        assert r.state.model_dump() == before

    def test_state_round_trips_through_json(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        again = AccountState.model_validate_json(r.state.model_dump_json())
        assert again == r.state


ANCHORS = """
segments: [{name: all, start: s1}]
steps:
  s1:
    stage: outreach
    do:
      - send: {channel: email, template: t}
      - wait: {for: 5d, from: oldest_unpaid_due_date}
      - send: {channel: email, template: t}
      - wait: 60d
      - end: written_off
"""


class TestAnchors:
    def test_payment_that_covers_the_oldest_due_moves_the_wait(self) -> None:
        s = compile_steps(ANCHORS)
        acct = account(
            balance=100_000,
            due_date=date(2026, 10, 30),
            dues=[Due(due_date=date(2026, 10, 30), amount=50_000), Due(due_date=date(2026, 11, 30), amount=50_000)],
        )
        r = start(s, acct, T0)
        first = r.state.wake_at()
        assert first is not None
        assert first.astimezone(UTC).date() == date(2026, 11, 4)  # Oct 30 + 5 days, local midnight
        paid = step(
            s, r.state, ev.PaymentReceived(payment_id="p1", amount=50_000, currency="CLP"), T0 + timedelta(hours=1)
        )
        moved = paid.state.wake_at()
        assert moved is not None
        assert moved.astimezone(UTC).date() == date(2026, 12, 5)  # now anchored on Nov 30
        assert sends(paid) == []


PROMISES = """
segments: [{name: all, start: call}]
promises: {grace_days: 1, kept_threshold: 90%, max_days_ahead: 15, step: promised, on_kept: kept, on_broken: broken}
steps:
  call:
    stage: contact
    do:
      - agent_task:
          queue: calls
          due_within: 1d
          outcomes: {no_answer: broken, promise_to_pay: promised, right_party_contact: broken}
  promised:
    stage: commitment
    do:
      - wait: {for: 10d, from: promise_date}
      - goto: broken
  kept:
    stage: payment
    do:
      - wait: 30d
      - end: written_off
  broken:
    stage: outreach
    do:
      - wait: 30d
      - end: written_off
"""


class TestPromises:
    def open_task(self) -> tuple[CompiledStrategy, Result]:
        s = compile_steps(PROMISES)
        r = start(s, account(), T0)
        assert isinstance(r.actions[0], act.CreateAgentTask)
        return s, r

    def test_promise_through_an_outcome_then_kept_by_a_payment_over_the_threshold(self) -> None:
        s, r = self.open_task()
        seq = r.actions[0].seq  # type: ignore[union-attr]
        promise = ev.PromiseTerms(amount=100_000, due=date(2026, 11, 9))
        r = step(s, r.state, ev.AgentOutcome(code=Outcome.PROMISE_TO_PAY, task_seq=seq, promise=promise), T0)
        assert r.state.step == "promised"
        assert r.state.stage == Stage.COMMITMENT
        assert r.state.promise is not None
        # 90% kept threshold: 90,000 of 100,000 keeps the promise.
        r = step(s, r.state, ev.PaymentReceived(payment_id="p", amount=90_000, currency="CLP"), T0 + timedelta(days=3))
        assert r.state.step == "kept"
        assert r.state.counters.promises_kept == 1

    def test_a_kept_promise_takes_its_route_even_with_a_partial_payment_handler(self) -> None:
        s = compile_steps(PROMISES + "on: {partial_payment: broken}\n")
        r = start(s, account(), T0)
        promise = ev.PromiseTerms(amount=40_000, due=date(2026, 11, 9))
        r = step(s, r.state, ev.AgentOutcome(code=Outcome.PROMISE_TO_PAY, promise=promise), T0)
        r = step(s, r.state, ev.PaymentReceived(payment_id="p", amount=40_000, currency="CLP"), T0 + timedelta(days=1))
        assert r.state.step == "kept"
        assert r.state.balance == 60_000

    def test_promise_broken_at_date_plus_grace(self) -> None:
        s, r = self.open_task()
        promise = ev.PromiseTerms(amount=100_000, due=date(2026, 11, 9))
        r = step(s, r.state, ev.AgentOutcome(code=Outcome.PROMISE_TO_PAY, promise=promise), T0)
        r, at = tick(s, r.state)
        # due Nov 9 + 1 grace day: broken when Nov 10 ends in Santiago (Nov 11 03:00 UTC).
        assert at == datetime(2026, 11, 11, 3, 0, tzinfo=UTC)
        assert r.state.step == "broken"
        assert r.state.counters.promises_broken == 1

    @pytest.mark.parametrize(
        ("terms", "message"),
        [
            (ev.PromiseTerms(amount=10_000, due=date(2026, 11, 2)), "must be after today"),
            (ev.PromiseTerms(amount=10_000, due=date(2026, 12, 31)), "more than 15 days ahead"),
            (ev.PromiseTerms(amount=500_000, due=date(2026, 11, 9)), "exceeds the balance"),
        ],
    )
    def test_bad_promises_are_rejected_and_change_nothing(self, terms: ev.PromiseTerms, message: str) -> None:
        s, r = self.open_task()
        before = r.state.model_dump()
        with pytest.raises(EventRejected, match=message):
            step(s, r.state, ev.PromiseMade(terms=terms), T0)
        assert r.state.model_dump() == before

    def test_outcome_not_allowed_at_the_step_is_rejected(self) -> None:
        s, r = self.open_task()
        with pytest.raises(EventRejected, match="not allowed at step call"):
            step(s, r.state, ev.AgentOutcome(code=Outcome.HARDSHIP), T0)


class TestPayments:
    def test_same_provider_payment_twice_counts_once(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        pay = ev.PaymentReceived(payment_id="prov-1", amount=30_000, currency="CLP")
        r = step(s, r.state, pay, T0 + timedelta(hours=1))
        r = step(s, r.state, pay, T0 + timedelta(hours=2))
        assert r.state.balance == 70_000
        assert r.state.counters.payments == 1

    def test_payment_in_another_currency_is_rejected(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        with pytest.raises(EventRejected, match="USD"):
            step(s, r.state, ev.PaymentReceived(payment_id="x", amount=1, currency="USD"), T0)

    def test_payment_in_full_closes_the_account(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        r = step(s, r.state, ev.PaymentReceived(payment_id="x", amount=100_000, currency="CLP"), T0)
        assert r.state.resolution == Resolution.PAID
        assert r.state.wake_at() is None


class TestHoldsAndConsent:
    def test_dispute_stops_every_contact_until_resolved(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        r = step(s, r.state, ev.DisputeOpened(reason="not mine"), T0 + timedelta(hours=1))
        assert r.state.wake_at() is None
        assert r.state.stage == Stage.HOLD
        r = step(s, r.state, ev.Tick(), T0 + timedelta(days=20))
        assert sends(r) == []
        r = step(s, r.state, ev.DisputeResolved(upheld=False), T0 + timedelta(days=21))
        assert [m.channel for m in sends(r)] == [Channel.SMS]
        assert r.state.stage == Stage.OUTREACH

    def test_upheld_dispute_writes_the_debt_off(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        r = step(s, r.state, ev.DisputeOpened(), T0)
        r = step(s, r.state, ev.DisputeResolved(upheld=True), T0 + timedelta(days=1))
        assert r.state.resolution == Resolution.WRITTEN_OFF

    def test_opt_out_of_everything_closes_as_opted_out(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=None), T0)
        assert r.state.resolution == Resolution.OPTED_OUT

    def test_sms_opt_out_blocks_sms_and_logs_why(self) -> None:
        s = compile_steps(CADENCE)
        r = start(s, account(), T0)
        r = step(s, r.state, ev.OptOut(channel=Channel.SMS), T0 + timedelta(hours=1))
        r, _ = tick(s, r.state)
        assert sends(r) == []
        blocked = [a for a in r.actions if isinstance(a, act.ContactBlocked)]
        assert blocked[0].rule == "opt-out"
        assert blocked[0].channel == Channel.SMS


FALLBACK = """
segments: [{name: all, start: s1}]
steps:
  s1:
    stage: outreach
    do:
      - send: {channel: email, template: t, fallback: [letter]}
      - wait: 3d
      - send: {channel: email, template: t, fallback: [letter]}
      - wait: 30d
      - end: written_off
"""


class TestFallback:
    def test_no_email_address_sends_a_letter(self) -> None:
        s = compile_steps(FALLBACK)
        r = start(s, account(email=None), T0)
        assert [m.channel for m in sends(r)] == [Channel.LETTER]

    def test_after_a_bounce_the_next_email_becomes_a_letter(self) -> None:
        s = compile_steps(FALLBACK)
        r = start(s, account(), T0)
        r = step(s, r.state, ev.MessageEvent(channel=Channel.EMAIL, event="bounced", seq=1), T0 + timedelta(minutes=5))
        r, _ = tick(s, r.state)
        assert [m.channel for m in sends(r)] == [Channel.LETTER]


FEES = """
segments: [{name: all, start: s1}]
steps:
  s1:
    stage: outreach
    fees: [{percent: 8%}]
    do:
      - wait: 1d
      - branch:
          - if: balance > 0
            goto: s1
          - else: done
  done:
    stage: closed
    do:
      - end: paid
"""


class TestFees:
    def test_fee_applied_once_per_step_and_capped_by_chilean_law(self) -> None:
        s = compile_steps(FEES)
        debt = 5_000_000  # about 126 UF: the cap's rate has fallen below 8% (validate warns so)
        r = start(s, account(balance=debt, original_amount=debt, due_date=date(2026, 9, 1)), T0)
        fees = [a for a in r.actions if isinstance(a, act.ApplyFee)]
        # 8% asked; Chile caps collection fees at 9% up to 10 UF, 6% up to 50 UF and 3% above.
        assert fees[0].requested == 400_000
        assert fees[0].amount == 9 * 3_970 + 6 * 15_880 + 3 * 30_150 == 221_460
        assert fees[0].rule == "CL-$1"
        r, _ = tick(s, r.state)  # the step is entered again
        assert [a for a in r.actions if isinstance(a, act.ApplyFee)] == []
        assert r.state.balance == debt + 221_460

    def test_no_fee_in_the_first_20_days_of_delay(self) -> None:
        s = compile_steps(FEES)
        r = start(s, account(due_date=date(2026, 10, 25)), T0)
        fees = [a for a in r.actions if isinstance(a, act.ApplyFee)]
        assert fees[0].amount == 0
        assert r.state.balance == 100_000


class TestVariants:
    def test_assignment_is_stable_and_follows_the_weights(self) -> None:
        s = compile_steps(CADENCE).model_copy(
            update={"variants": (Variant(name="champion", weight=90), Variant(name="challenger", weight=10))}
        )
        picks = [choose_variant(s, f"acct-{i}") for i in range(10_000)]
        assert picks == [choose_variant(s, f"acct-{i}") for i in range(10_000)]
        share = picks.count("challenger") / len(picks)
        assert 0.08 < share < 0.12
