"""A simulated timeline that reads right (issue 13): each row carries the stage of the step that
acted, promises kept or broken, tasks and offers that expired have rows of their own, every
message shows its subject and first line rendered for the account (a fallback's on the channel it
used), and a blocked contact names the strategy's own rule as such and a holiday by its name."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest

from domain.account import Due
from domain.frozen import omit_added_defaults
from domain.policy import blocking_rule
from domain.strategy import CompiledStrategy
from simulator.engine import Entry, Run, simulate
from simulator.report import timeline_rows
from simulator.scenario import CallDoc, ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import compile_file, compile_text, content_hash

SCL = ZoneInfo("America/Santiago")
START = datetime(2026, 11, 2, 10, tzinfo=SCL)  # a Monday

HEAD = """
id: timeline
name: Timeline
locale: es-CL
currency: CLP
timezone: America/Santiago
queues: [calls]
"""
TEMPLATES = """
templates:
  aviso:
    es-CL:
      subject: "Su deuda de {{ account.balance | money }}"
      body: |

        Hola {{ debtor.first_name }}, su saldo es {{ account.balance | money }}.
        Pague en {{ payment_link }}
  oferta:
    es-CL:
      body: "{{ debtor.first_name }}: pague {{ offer.amount_due | money }} y cierre su deuda"
"""


def compiled(body: str, policy: str = "{preset: NONE, spread: 0min}") -> CompiledStrategy:
    text = HEAD + f"policy: {policy}\n" + body + TEMPLATES
    return compile_text(text, "timeline.yaml", compiled_on=date(2026, 11, 1)).strategy


def run(
    strategy: CompiledStrategy,
    *,
    days: int = 30,
    account: dict[str, object] | None = None,
    events: list[dict[str, object]] | None = None,
    calls: list[CallDoc] | None = None,
    start: datetime = START,
) -> Run:
    doc = ScenarioDoc.model_validate({"days": days, "events": events or []})
    acct = default_account(strategy, start.date(), {"debtor_name": "Ana Pérez", **(account or {})})
    begin = start.astimezone(UTC)
    return simulate(strategy, acct, begin, doc.days, to_events(doc, acct, begin), ScriptedResponder(calls or []))


def rows(r: Run, kind: str) -> list[Entry]:
    return [e for e in r.timeline if e.kind == kind]


class TestStage:
    def test_a_send_before_a_goto_to_legal_shows_the_stage_of_its_own_step(self) -> None:
        s = compiled("""
segments: [{name: all, start: remind}]
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: email, template: aviso}
      - goto: legal
  legal:
    stage: legal
    do:
      - escalate_legal
      - end: legal
""")
        r = run(s)
        (send,) = rows(r, "send")
        (legal,) = rows(r, "legal")
        assert (send.step, send.stage) == ("remind", "outreach")
        assert (legal.step, legal.stage) == ("legal", "legal")
        shown = {kind: stage for _, stage, _, kind, _ in timeline_rows(r, "America/Santiago")}
        assert shown["send"] == "outreach"


CALLS = """
promises: {step: promised, on_broken: broken, on_kept: kept}
segments: [{name: all, start: call}]
steps:
  call:
    stage: contact
    do:
      - agent_task:
          queue: calls
          due_within: 1d
          attempts: 1
          outcomes: {no_answer: after, promise_to_pay: promised}
  after:
    stage: outreach
    do:
      - wait: 30d
      - end: written_off
  promised:
    stage: commitment
    do:
      - wait: 30d
      - end: written_off
  broken:
    stage: contact
    do:
      - wait: 30d
      - end: written_off
  kept:
    stage: commitment
    do:
      - wait: 30d
      - end: written_off
"""


class TestRowsForWhatTheInterpreterDecided:
    def test_a_task_nobody_works_expires_in_a_row_of_its_own(self) -> None:
        r = run(compiled(CALLS))
        (expired,) = rows(r, "expired")
        assert expired.detail == "agent task expired unworked (attempt 1)"
        assert (expired.step, expired.stage) == ("call", "contact")
        (task,) = rows(r, "task")
        assert expired.at == task.at + timedelta(days=1)

    def test_a_broken_promise_reads_as_broken_with_its_amount_as_money(self) -> None:
        r = run(compiled(CALLS), calls=[CallDoc(code="promise_to_pay", amount=50_000, in_days=3)])
        (promise,) = rows(r, "promise")
        due = (START + timedelta(days=3)).date().isoformat()
        assert promise.detail == f"promise of 50000 by {due} broken"
        assert (promise.step, promise.stage) == ("promised", "commitment")
        shown = {kind: detail for _, _, _, kind, detail in timeline_rows(r, "America/Santiago")}
        assert shown["promise"] == f"promise of $50.000 by {due} broken"

    def test_a_kept_promise_reads_as_kept(self) -> None:
        r = run(
            compiled(CALLS),
            calls=[CallDoc(code="promise_to_pay", amount=50_000, in_days=3)],
            events=[{"day": 2, "payment": 50_000}],
        )
        (promise,) = rows(r, "promise")
        assert promise.detail.endswith(" kept")

    def test_an_offer_nobody_takes_expires_in_a_row_of_its_own(self) -> None:
        s = compiled("""
segments: [{name: all, start: offer}]
steps:
  offer:
    stage: commitment
    do:
      - offer_settlement: {channel: email, template: oferta, max_discount: 20%, expires_in: 5d}
      - wait: 10d
      - end: written_off
""")
        r = run(s)
        (expired,) = rows(r, "expired")
        assert expired.detail == "settlement offer expired"
        assert expired.stage == "commitment"
        assert expired.at == START.astimezone(UTC) + timedelta(days=5)


class TestOverpayment:
    def test_a_payment_beyond_the_balance_has_a_row_saying_a_refund_or_credit_is_due(self) -> None:
        r = run(compiled(SEND), account={"balance": 100_000}, events=[{"day": 2, "payment": 125_000}])
        (row,) = rows(r, "overpaid")
        assert row.detail == "overpayment of 25000: refund or credit due"
        assert (r.state.balance, r.state.overpaid, r.state.resolution) == (0, 25_000, "paid")
        shown = [(kind, detail) for _, _, _, kind, detail in timeline_rows(r, "America/Santiago")]
        assert ("overpaid", "overpayment of $25.000: refund or credit due") in shown
        assert [kind for kind, _ in shown][-2:] == ["overpaid", "closed"]


SEND = """
segments: [{name: all, start: remind}]
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: sms, template: aviso, fallback: [email]}
      - wait: 30d
      - end: written_off
"""


class TestPreview:
    def test_a_message_shows_its_first_line_rendered_for_the_account(self) -> None:
        r = run(compiled(SEND), account={"balance": 1_280_000})
        (send,) = rows(r, "send")
        # SMS carries no subject: its first line (blank lines skipped), money in the locale's way.
        assert send.preview == "Hola Ana, su saldo es $1.280.000."
        (_, _, _, _, detail) = next(row for row in timeline_rows(r, "America/Santiago") if row[3] == "send")
        assert detail == 'sms aviso: "Hola Ana, su saldo es $1.280.000."'

    def test_a_fallback_shows_the_template_rendered_for_the_channel_it_used(self) -> None:
        r = run(compiled(SEND), account={"balance": 1_280_000, "phone": None})
        (blocked,) = rows(r, "blocked")
        assert blocked.channel == "sms"
        (send,) = rows(r, "send")
        assert send.channel == "email"
        assert (send.detail, send.fallback_for) == ("email aviso", "sms")
        (_, _, _, _, detail) = next(row for row in timeline_rows(r, "America/Santiago") if row[3] == "send")
        assert detail.startswith('email aviso (fallback for sms): "Su deuda de $1.280.000 — ')
        assert send.preview == "Su deuda de $1.280.000 — Hola Ana, su saldo es $1.280.000."

    def test_an_offer_shows_its_terms(self) -> None:
        s = compiled("""
segments: [{name: all, start: offer}]
steps:
  offer:
    stage: commitment
    do:
      - offer_settlement: {channel: email, template: oferta, max_discount: 20%, expires_in: 5d}
      - wait: 10d
      - end: written_off
""")
        (send,) = rows(run(s, account={"balance": 100_000}), "send")
        assert send.preview == "Ana: pague $80.000 y cierre su deuda"


class TestBlockedWording:
    def test_the_strategys_own_rule_is_named_as_such(self) -> None:
        policy = "{preset: CL, spread: 0min, caps: [{id: one-email-a-week, channels: [email], max: 1, per: 7d}]}"
        s = compiled(
            """
segments: [{name: all, start: remind}]
steps:
  remind:
    stage: outreach
    do:
      - send: {channel: email, template: aviso}
      - wait: 3d
      - send: {channel: email, template: aviso}
      - wait: 30d
      - end: written_off
""",
            policy,
        )
        blocked = rows(run(s), "blocked")
        assert blocked
        assert blocked[0].detail.startswith("email blocked by your strategy's rule `one-email-a-week`: ")

    def test_the_strategys_own_hours_are_named_as_such_and_the_presets_rules_by_id(self) -> None:
        own = "{preset: CL, spread: 0min, windows: [{days: [mon, tue, wed, thu, fri], from: '11:00', to: '18:00'}]}"
        s = compiled(SEND.replace("sms", "email").replace(", fallback: [email]", ""), own)
        (blocked,) = rows(run(s), "blocked")
        assert blocked.detail.startswith("email blocked by your strategy's contact hours (inside CL-T1): outside")
        preset_only = compiled(SEND.replace("sms", "email").replace(", fallback: [email]", ""), "{preset: CL}")
        sunday = datetime(2026, 11, 8, 10, tzinfo=SCL)
        (blocked,) = rows(run(preset_only, start=sunday), "blocked")
        assert blocked.detail.startswith("email blocked by CL-T1: ")

    def test_a_holiday_is_named(self) -> None:
        independence = date(2026, 9, 18)
        name = holidays.country_holidays("CL", years=2026)[independence]
        s = compiled(SEND.replace("sms", "email").replace(", fallback: [email]", ""), "{preset: CL, spread: 0min}")
        start = datetime.combine(independence, datetime.min.time().replace(hour=10), tzinfo=SCL)
        (blocked,) = rows(run(s, start=start), "blocked")
        assert f"2026-09-18 is a public holiday in CL ({name})" in blocked.detail

    def test_a_strategy_compiled_before_names_and_origins_keeps_its_hash_and_its_wording(self) -> None:
        """Stored versions and running workflows' inputs carry no holiday names nor own rules:
        they keep the hash they were published with and read as they always did."""
        independence = date(2026, 9, 18)
        policy = "{preset: CL, spread: 0min, caps: [{id: one-email-a-week, channels: [email], max: 1, per: 7d}]}"
        new = compiled(SEND.replace("sms", "email").replace(", fallback: [email]", ""), policy)
        assert new.policy.own_rules == ("one-email-a-week",)
        # The body as published before names and origins existed (fields added earlier still left
        # out at their defaults, as the hash leaves them out).
        body = omit_added_defaults(new, new.model_dump(mode="json", exclude={"hash"}))
        del body["policy"]["own_rules"]
        del body["policy"]["calendar"]["names"]
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        old = CompiledStrategy.model_validate({**body, "hash": digest})
        assert content_hash(old) == old.hash
        start = datetime.combine(independence, datetime.min.time().replace(hour=10), tzinfo=SCL)
        (blocked,) = rows(run(old, start=start), "blocked")
        assert blocked.detail.startswith("email blocked by holiday: 2026-09-18 is a public holiday in CL: ")
        assert blocking_rule(old.policy, "one-email-a-week") == "one-email-a-week"


SHIPPED = sorted(Path("strategies").glob("*.yaml")) + sorted(Path("strategies/examples").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_template_previews_with_what_the_send_would_render(path: Path) -> None:
    """The preview renders from the very context the send activity builds
    (strategies/message_context.py): a variable a template uses (dues, interest...) that the
    preview's context lacked would read "(not rendered: ...)" here."""
    strategy = compile_file(str(path), compiled_on=date(2026, 11, 1)).strategy
    account = default_account(strategy, START.date(), {})
    dues = [{"due_date": account.due_date, "amount": 100000}, {"due_date": START.date(), "amount": 50000}]
    account = account.model_copy(update={"dues": tuple(Due.model_validate(d) for d in dues), "phone": "+56912345678"})
    r = simulate(strategy, account, START.astimezone(UTC), 120, [], ScriptedResponder([]))
    previews = [f"{e.detail}: {e.preview}" for e in r.timeline if e.kind == "send"]
    assert previews, f"{path.name}: nothing was sent in 120 days"
    assert not [p for p in previews if "not rendered" in p]
