"""strategies/examples/: published dunning configurations (Kill Bill's overdue tutorial, OCA
credit-control's demo policies) and two new strategies (Mexico WhatsApp-first, US B2B dunning)
written in the language. Each compiles without warnings, and each main path is simulated the way
its original describes it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from spread_times import spread_of

from domain.interpreter import choose_variant
from domain.strategy import CompiledStrategy
from domain.types import Resolution
from simulator.engine import Entry, Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = ROOT / "strategies"
EXAMPLES = STRATEGIES / "examples"
FILES = sorted(EXAMPLES.glob("*.yaml"))
# The features other branches of issue 13 bring; an example marks where it needs one of them.
FEATURES = {"dues", "interest", "routing", "notify", "outcomes"}


def compiled(name: str) -> CompiledStrategy:
    return compile_file(str(EXAMPLES / f"{name}.yaml")).strategy


def run(
    strategy: CompiledStrategy,
    account: dict[str, Any],
    start: datetime,
    *,
    days: int = 120,
    calls: Iterable[Any] = (),
    events: Iterable[dict[str, Any]] = (),
    approvals: str = "approve",
) -> Run:
    doc = ScenarioDoc.model_validate(
        {"account": account, "calls": list(calls), "events": list(events), "approvals": approvals, "days": days}
    )
    acc = default_account(strategy, start.date(), doc.account)
    begin = start.astimezone(UTC)
    return simulate(strategy, acc, begin, days, to_events(doc, acc, begin), ScriptedResponder(doc.calls, doc.approvals))


def of(run_: Run, *kinds: str) -> list[Entry]:
    return [e for e in run_.timeline if e.kind in kinds]


def sends(run_: Run, zone: ZoneInfo) -> list[tuple[datetime, str]]:
    """(local time, "channel template") of every message sent."""
    return [(e.at.astimezone(zone), e.detail) for e in of(run_, "send")]


def fees(run_: Run) -> list[tuple[str, int]]:
    return [(e.step, e.amounts[0]) for e in of(run_, "fee")]


def steps_taken(run_: Run) -> list[str]:
    out: list[str] = []
    for e in run_.timeline:
        if e.step and (not out or out[-1] != e.step):
            out.append(e.step)
    return out


# ---- every example -----------------------------------------------------------------------------


def test_the_four_examples_are_shipped() -> None:
    assert [p.name for p in FILES] == [
        "killbill-overdue.yaml",
        "mx-whatsapp-first.yaml",
        "oca-credit-control.yaml",
        "us-b2b-dunning.yaml",
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_compiles_without_warnings_and_points_editors_at_the_schema(path: Path) -> None:
    result = compile_file(str(path), compiled_on=date(2026, 11, 30))
    assert result.warnings == ()
    assert result.strategy.id == path.stem
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../../strategy.schema.json"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_needs_marker_names_a_feature_of_issue_13(path: Path) -> None:
    """`# needs: <feature>` marks where an example waits for a feature being built on another
    branch; the integrator fills them in. A marker must name one of those features."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if marker := re.search(r"#\s*needs:\s*([a-z_]+)", line):
            assert marker[1] in FEATURES, f"{path.name}:{number}: needs {marker[1]!r}"


def test_examples_stay_out_of_the_shipped_strategies() -> None:
    """The shipped listing (the API's demo seeding, `collect up`, the benchmarks) reads
    strategies/*.yaml, not the examples under it; and no example takes a shipped strategy's id."""
    shipped = sorted(STRATEGIES.glob("*.yaml"))
    assert shipped
    assert set(shipped).isdisjoint(FILES)
    shipped_ids = {compile_file(str(p)).strategy.id for p in shipped}
    assert shipped_ids.isdisjoint({compile_file(str(p)).strategy.id for p in FILES})


# ---- Kill Bill's overdue tutorial --------------------------------------------------------------

KB_UTC = ZoneInfo("UTC")
KB_START = datetime(2026, 9, 6, 12, 0, tzinfo=KB_UTC)  # the $10.00 invoice falls due unpaid
KB_ACCOUNT = {"account_id": "arthur", "debtor_name": "Arthur", "balance": 1000, "due_date": "2026-09-06"}


@pytest.fixture(scope="module")
def killbill() -> CompiledStrategy:
    return compiled("killbill-overdue")


def kb(day: int) -> datetime:
    """09:00 UTC, `day` days after the invoice's due date."""
    return datetime(2026, 9, 6, 9, 0, tzinfo=KB_UTC) + timedelta(days=day)


def test_killbill_unpaid_goes_warning_blocked_cancellation(killbill: CompiledStrategy) -> None:
    r = run(killbill, KB_ACCOUNT, KB_START, days=90)
    assert sends(r, KB_UTC) == [
        (kb(10), "email warning"),
        (kb(14), "email blocked"),
        (kb(21), "email cancellation"),
    ]
    assert steps_taken(r) == ["warning", "blocked", "cancellation"]
    assert r.state.resolution == Resolution.WRITTEN_OFF
    assert r.closed_at == kb(51)


def test_killbill_payment_in_full_clears_the_state(killbill: CompiledStrategy) -> None:
    # Paid in BLOCKED (day 16): no cancellation; the clear-state email, closed as paid.
    r = run(killbill, KB_ACCOUNT, KB_START, days=90, events=[{"day": 16, "at": "10:00", "payment": 1000}])
    assert [d for _, d in sends(r, KB_UTC)] == ["email warning", "email blocked", "email cleared"]
    assert r.state.resolution == Resolution.PAID
    assert r.closed_at == datetime(2026, 9, 22, 10, 0, tzinfo=KB_UTC)


def test_killbill_partial_payment_leaves_the_invoice_unpaid_and_the_state_as_it_was(
    killbill: CompiledStrategy,
) -> None:
    r = run(killbill, KB_ACCOUNT, KB_START, days=90, events=[{"day": 11, "payment": 400}])
    assert [d for _, d in sends(r, KB_UTC)] == ["email warning", "email blocked", "email cancellation"]
    assert r.state.balance == 600


@pytest.mark.parametrize(
    ("days_past_due", "first"),
    [(5, "email warning"), (10, "email warning"), (15, "email blocked"), (30, "email cancellation")],
)
def test_killbill_an_account_arriving_overdue_starts_in_the_most_severe_state_it_reached(
    killbill: CompiledStrategy, days_past_due: int, first: str
) -> None:
    due = KB_START.date() - timedelta(days=days_past_due)
    r = run(killbill, {**KB_ACCOUNT, "due_date": due.isoformat()}, KB_START, days=60)
    assert sends(r, KB_UTC)[0][1] == first
    states = ["email warning", "email blocked", "email cancellation"]
    assert [d for _, d in sends(r, KB_UTC)] == states[states.index(first) :]


def test_killbill_templates_carry_the_external_messages(killbill: CompiledStrategy) -> None:
    subjects = {name: t["en-US"].subject or "" for name, t in killbill.templates.items()}
    assert subjects["warning"].startswith("Reached WARNING")
    assert subjects["blocked"].startswith("Reached BLOCKED")
    assert subjects["cancellation"].startswith("Reached CANCELLATION")


# ---- OCA credit-control's demo policies --------------------------------------------------------

BRU = ZoneInfo("Europe/Brussels")
OCA_START = datetime(2026, 11, 2, 9, 0, tzinfo=BRU)
OCA_INVOICE = {
    "account_id": "INV-2026-0042",
    "debtor_name": "Deco Addict",
    "balance": 120_000,
    "due_date": "2026-11-02",
    "email": "ap@decoaddict.example",
    "postal_address": "Rue de la Loi 1, 1000 Brussels",
}


@pytest.fixture(scope="module")
def oca() -> CompiledStrategy:
    return compiled("oca-credit-control")


def bru(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=BRU)


def test_oca_three_time_policy_levels_by_their_delays(oca: CompiledStrategy) -> None:
    r = run(oca, OCA_INVOICE, OCA_START)
    assert sends(r, BRU) == [
        (bru(11, 12), "email three_time_1"),  # net_days 10
        (bru(12, 31), "email three_time_2"),  # end_of_month 30: the due date + 30 is Dec 2
        (bru(1, 10, year=2027), "letter last_reminder_after_two"),  # previous_date 10
    ]
    # a dunning fee with levels 2 and 3, each once, when the level is reached
    assert fees(r) == [("three_time_2", 500), ("three_time_3", 500)]
    assert [e.at.astimezone(BRU) for e in of(r, "fee")] == [bru(12, 31), bru(1, 10, year=2027)]
    (legal,) = of(r, "legal")
    assert legal.at.astimezone(BRU) == bru(1, 15, 10, year=2027)  # 5 days on, approved within the hour
    assert r.state.resolution == Resolution.LEGAL
    assert r.state.balance == 121_000


def test_oca_two_time_policy_by_tag(oca: CompiledStrategy) -> None:
    r = run(oca, {**OCA_INVOICE, "tags": ["2_time_policy"]}, OCA_START)
    assert sends(r, BRU) == [
        (bru(12, 31), "email two_time_1"),  # end_of_month 30
        (bru(3, 1, year=2027), "letter last_reminder_after_one"),  # previous_date 60
    ]
    assert fees(r) == [("two_time_2", 500)]


def test_oca_the_agency_refused_closes_written_off(oca: CompiledStrategy) -> None:
    r = run(oca, OCA_INVOICE, OCA_START, approvals="reject")
    assert of(r, "legal") == []
    assert r.state.resolution == Resolution.WRITTEN_OFF


def test_oca_an_old_invoice_climbs_one_level_per_run(oca: CompiledStrategy) -> None:
    # 45 days overdue on arrival: level 1 at once; level 2 (end_of_month 30, October 31, already
    # past) then waits for the end of the month the account is in, where OCA's next daily run
    # would send it the next day (README "Examples"); level 3 ten days after level 2.
    r = run(oca, {**OCA_INVOICE, "due_date": "2026-09-18"}, OCA_START)
    assert sends(r, BRU) == [
        (OCA_START, "email three_time_1"),
        (bru(11, 30), "email three_time_2"),
        (bru(12, 10), "letter last_reminder_after_two"),
    ]


def test_oca_no_follow_sends_nothing_until_paid(oca: CompiledStrategy) -> None:
    r = run(oca, {**OCA_INVOICE, "tags": ["no_follow"]}, OCA_START, events=[{"day": 100, "payment": 120_000}])
    assert of(r, "send", "task", "fee", "legal") == []
    assert r.state.resolution == Resolution.PAID


def test_oca_payment_in_full_stops_the_reminders(oca: CompiledStrategy) -> None:
    r = run(oca, OCA_INVOICE, OCA_START, events=[{"day": 20, "payment": 120_000}])
    assert [d for _, d in sends(r, BRU)] == ["email three_time_1"]
    assert r.state.resolution == Resolution.PAID


# ---- Mexico: WhatsApp first, a settlement offer, a challenger -----------------------------------

CDMX = ZoneInfo("America/Mexico_City")
MX_START = datetime(2026, 11, 2, 9, 0, tzinfo=CDMX)  # Monday
MX_BALANCE = 1_250_000  # $12,500.00 MXN
MX_ACCOUNT = {
    "debtor_name": "Ana Pérez",
    "balance": MX_BALANCE,
    "phone": "+525512345678",
    "email": "ana.perez@example.mx",
}


@pytest.fixture(scope="module")
def mx() -> CompiledStrategy:
    return compiled("mx-whatsapp-first")


def mx_account(strategy: CompiledStrategy, variant: str, **extra: Any) -> dict[str, Any]:
    account_id = next(f"MX-{n:05d}" for n in range(1000) if choose_variant(strategy, f"MX-{n:05d}") == variant)
    return {**MX_ACCOUNT, "account_id": account_id, **extra}


def cdmx(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=CDMX)


def assert_mexican_contact_rules(r: Run) -> None:
    """MX-T1: Mon-Fri 07:00-22:00 in the debtor's zone, no official holidays."""
    mx_holidays = holidays.country_holidays("MX", years=[2026, 2027])
    for e in of(r, "send", "task"):
        when = e.at.astimezone(CDMX)
        assert when.weekday() < 5, f"{e.detail} on a {when:%A}"
        assert 7 <= when.hour < 22, f"{e.detail} at {when:%H:%M}"
        assert when.date() not in mx_holidays, f"{e.detail} on {when.date()}"


def test_mx_champion_whatsapp_call_offer_then_agency(mx: CompiledStrategy) -> None:
    r = run(mx, mx_account(mx, "champion"), MX_START, days=90)
    assert sends(r, CDMX) == [
        (cdmx(11, 2), "whatsapp recordatorio"),
        (cdmx(11, 5), "whatsapp segundo_recordatorio"),
        (cdmx(11, 13), "whatsapp aviso_oferta"),  # two unanswered call attempts in between
        (cdmx(11, 13), "email oferta_liquidacion"),
        (cdmx(11, 20), "whatsapp ultimo_aviso"),
    ]
    assert len(of(r, "task")) == 2
    assert r.state.resolution == Resolution.LEGAL
    assert_mexican_contact_rules(r)


def test_mx_settlement_paid_within_its_term_closes_settled(mx: CompiledStrategy) -> None:
    offered = MX_BALANCE * 70 // 100  # 30% off
    r = run(mx, mx_account(mx, "champion"), MX_START, events=[{"day": 15, "payment": offered}])
    assert r.state.resolution == Resolution.SETTLED
    assert r.state.paid_total == offered
    assert "whatsapp ultimo_aviso" not in [d for _, d in sends(r, CDMX)]


def test_mx_settlement_paid_after_it_expired_does_not_settle(mx: CompiledStrategy) -> None:
    offered = MX_BALANCE * 70 // 100
    r = run(mx, mx_account(mx, "champion"), MX_START, days=25, events=[{"day": 21, "payment": offered}])
    assert r.state.resolution is None
    assert r.state.balance == MX_BALANCE - offered


def test_mx_whatsapp_opt_out_falls_back_to_sms_and_keeps_the_offer(mx: CompiledStrategy) -> None:
    r = run(mx, mx_account(mx, "champion"), MX_START, days=15, events=[{"day": 1, "opt_out": "whatsapp"}])
    assert [d for _, d in sends(r, CDMX)] == [
        "whatsapp recordatorio",
        "sms segundo_recordatorio",
        "sms aviso_oferta",
        "email oferta_liquidacion",
    ]
    assert r.state.resolution is None  # an opt-out of one channel closes nothing


def test_mx_without_a_phone_everything_goes_by_email(mx: CompiledStrategy) -> None:
    r = run(mx, mx_account(mx, "champion", phone=None), MX_START, days=20)
    assert {d.split()[0] for _, d in sends(r, CDMX)} == {"email"}


def test_mx_opt_out_of_everything_closes_the_account(mx: CompiledStrategy) -> None:
    r = run(mx, mx_account(mx, "champion"), MX_START, events=[{"day": 4, "opt_out": "all"}])
    assert r.state.resolution == Resolution.OPTED_OUT
    assert [d for _, d in sends(r, CDMX)] == ["whatsapp recordatorio", "whatsapp segundo_recordatorio"]


def test_mx_challenger_offers_first_with_a_smaller_discount(mx: CompiledStrategy) -> None:
    account = mx_account(mx, "challenger")
    r = run(mx, account, MX_START, days=60)
    assert [d for _, d in sends(r, CDMX)][:4] == [
        "whatsapp aviso_oferta",
        "email oferta_liquidacion",
        "whatsapp recordatorio",  # the offer expired after 10 days: the champion's chain
        "whatsapp segundo_recordatorio",
    ]
    assert sends(r, CDMX)[2][0] == cdmx(11, 12)
    offered = MX_BALANCE * 80 // 100  # 20% off
    paid = run(mx, account, MX_START, events=[{"day": 6, "payment": offered}])
    assert paid.state.resolution == Resolution.SETTLED
    assert_mexican_contact_rules(r)


def test_mx_variants_split_about_evenly(mx: CompiledStrategy) -> None:
    challengers = sum(choose_variant(mx, f"MX-{n:05d}") == "challenger" for n in range(2000))
    assert 850 <= challengers <= 1150


def test_mx_promise_on_the_call_is_confirmed_and_a_payment_closes_paid(mx: CompiledStrategy) -> None:
    r = run(
        mx,
        mx_account(mx, "champion"),
        MX_START,
        calls=[{"code": "promise_to_pay", "in_days": 4}],
        events=[{"day": 10, "payment": MX_BALANCE}],
    )
    assert [d for _, d in sends(r, CDMX)][-2:] == ["whatsapp promesa_confirmada", "whatsapp gracias"]
    assert r.state.resolution == Resolution.PAID


# ---- US B2B: escalating late fees, capped, and a statement --------------------------------------

CHI = ZoneInfo("America/Chicago")
US_START = datetime(2026, 11, 2, 9, 0, tzinfo=CHI)  # invoice issued Monday, net 30
US_INVOICE = {
    "account_id": "INV-7781",
    "debtor_name": "Acme Tooling LLC",
    "balance": 60_000,  # $600.00: the 10% cap ($60.00) stops the fees after the first
    "due_date": "2026-12-02",
    "email": "ap@acmetooling.example",
    "phone": "+13125550100",
}


@pytest.fixture(scope="module")
def b2b() -> CompiledStrategy:
    return compiled("us-b2b-dunning")


def chi(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=CHI)


def assert_business_hours(r: Run) -> None:
    """The strategy's tightening: Mon-Fri 08:00-18:00 at the customer's office, no US holidays."""
    us_holidays = holidays.country_holidays("US", years=[2026, 2027])
    for e in of(r, "send", "task"):
        when = e.at.astimezone(CHI)
        assert when.weekday() < 5, f"{e.detail} on a {when:%A}"
        assert 8 <= when.hour < 18, f"{e.detail} at {when:%H:%M}"
        assert when.date() not in us_holidays, f"{e.detail} on {when.date()}"


def test_us_b2b_fees_escalate_on_a_large_invoice(b2b: CompiledStrategy) -> None:
    r = run(b2b, {**US_INVOICE, "balance": 480_000}, US_START)
    assert fees(r) == [("first_late_fee", 2_500), ("second_late_fee", 5_000), ("third_late_fee", 7_500)]
    assert [e.at.astimezone(CHI).date() for e in of(r, "fee")] == [
        date(2026, 12, 17),  # due + 15
        date(2027, 1, 16),  # due + 45
        date(2027, 1, 31),  # due + 60
    ]
    # and a month of the 1.5% finance charge, on the principal only, from 30 days past due
    assert [e.amounts[0] for e in of(r, "interest")] == [7_200]
    assert r.state.balance == 480_000 + 15_000 + 7_200
    assert r.state.resolution == Resolution.LEGAL
    assert_business_hours(r)


def test_us_b2b_fees_stop_at_ten_percent_of_the_invoice(b2b: CompiledStrategy) -> None:
    r = run(b2b, US_INVOICE, US_START)
    assert fees(r) == [("first_late_fee", 2_500)]  # $50.00 more would pass the $60.00 cap
    assert [e.amounts[0] for e in of(r, "legal")] == [60_000 + 2_500 + 900]  # fee, a month's interest


def test_us_b2b_cap_counts_fees_not_payments(b2b: CompiledStrategy) -> None:
    # $2,000.00 invoice (cap $200.00), half paid between the first and the second fee: the fees
    # charged count, not what is left to pay; $25 + $50 + $75 = $150 fit.
    r = run(b2b, {**US_INVOICE, "balance": 200_000}, US_START, events=[{"day": 50, "payment": 100_000}])
    assert [amount for _, amount in fees(r)] == [2_500, 5_000, 7_500]


def test_us_b2b_partial_payment_before_the_first_fee_keeps_every_fee(b2b: CompiledStrategy) -> None:
    r = run(b2b, {**US_INVOICE, "balance": 200_000}, US_START, events=[{"day": 40, "payment": 100_000}])
    assert fees(r) == [("first_late_fee", 2_500), ("second_late_fee", 5_000), ("third_late_fee", 7_500)]


def test_us_b2b_main_path_with_statements(b2b: CompiledStrategy) -> None:
    r = run(b2b, US_INVOICE, US_START)
    later = spread_of(b2b, US_INVOICE["account_id"])
    assert sends(r, CHI) == [
        (chi(11, 30, 8) + later, "email due_soon"),  # due - 3 is a Sunday: Monday at the opening
        (chi(12, 3), "email past_due"),
        (chi(12, 17), "email statement"),
        (chi(1, 19, 8, 2027) + later, "email statement"),  # Sat, then Martin Luther King Jr. Day
        (chi(2, 1, 8, 2027) + later, "email final_notice"),
    ]
    assert [e.detail for e in of(r, "task")] == [
        "agent task in accounts_receivable (attempt 1)",
        "agent task in accounts_receivable (attempt 2)",
    ]
    assert_business_hours(r)


def test_us_b2b_statement_shows_fees_payments_and_balance(b2b: CompiledStrategy) -> None:
    body = b2b.templates["statement"]["en-US"].body
    needed_ = ("account.original_amount | money", "fees.total | money", "interest.total | money", "for due in dues")
    for needed in (*needed_, "account.balance | money"):
        assert needed in body


def test_us_b2b_partial_payment_sends_an_updated_statement(b2b: CompiledStrategy) -> None:
    r = run(b2b, US_INVOICE, US_START, days=50, events=[{"day": 35, "at": "10:00", "payment": 20_000}])
    partial = [(when, d) for when, d in sends(r, CHI) if when.date() == date(2026, 12, 7)]
    assert partial == [(chi(12, 7, 10), "email statement")]
    # back to the first fee's date: still charged on day 15 past due
    assert fees(r) == [("first_late_fee", 2_500)]
    assert r.state.balance == 60_000 - 20_000 + 2_500


def test_us_b2b_payment_in_full_sends_a_receipt(b2b: CompiledStrategy) -> None:
    r = run(b2b, US_INVOICE, US_START, events=[{"day": 50, "at": "11:00", "payment": 62_500}])
    assert sends(r, CHI)[-1] == (chi(12, 22, 11), "email receipt")
    assert r.state.resolution == Resolution.PAID


def test_us_b2b_agency_refused_writes_off_with_a_letter_of_withdrawn_terms(b2b: CompiledStrategy) -> None:
    r = run(b2b, US_INVOICE, US_START, approvals="reject")
    assert sends(r, CHI)[-1][1] == "email write_off"
    assert r.state.resolution == Resolution.WRITTEN_OFF


def test_mx_without_a_usable_email_the_offer_goes_by_whatsapp(mx: CompiledStrategy) -> None:
    r = run(mx, mx_account(mx, "champion"), MX_START, days=15, events=[{"day": 1, "opt_out": "email"}])
    assert [d for _, d in sends(r, CDMX)][-2:] == ["whatsapp aviso_oferta", "whatsapp oferta_liquidacion"]
    assert r.state.offer is not None
    assert r.state.offer.kind == "settlement"


def test_killbill_a_partial_payment_re_evaluates_and_a_state_that_holds_is_not_entered_again(
    killbill: CompiledStrategy,
) -> None:
    assert killbill.handlers.partial_payment == "reevaluate"
    r = run(killbill, KB_ACCOUNT, KB_START, days=90, events=[{"day": 15, "payment": 400}])
    assert steps_taken(r) == ["warning", "blocked", "cancellation"]  # blocked once, not again on day 15
