"""A statement attached as a PDF (`send: {attach: <template>}`): the debtor workflow sends an email
through the real SendGrid SDK to the local fake, and a letter to the print outbox; both carry the
statement rendered from the strategy's template, with the account's dues (one paid, one not)."""

from __future__ import annotations

import base64
from datetime import timedelta

from fakes.pdf_text import pdf_text
from fakes.providers import FakeSendGrid
from journey import communications, run_journey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from test_debtor_journeys import ZONE, account, next_monday_9

from db.models import OutboxMessage
from simulator.scenario import ScriptedResponder
from strategies.compiler import compile_text

STRATEGY = """
id: statement
name: Statement
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {preset: CL, spread: 0min}
segments: [{name: all, start: summary}]
steps:
  summary:
    stage: contact
    do:
      - send: {channel: email, template: resumen, attach: estado}
      - wait: 3d
      - send: {channel: letter, template: carta, attach: estado}
      - wait: 30d
      - end: written_off
templates:
  resumen:
    es-CL:
      subject: "Acme: resumen de deuda"
      body: "Hola {{ debtor.first_name }}, adjuntamos su estado de cuenta ({{ account.unpaid_dues }} impaga)."
  carta:
    es-CL:
      body: "Estimada {{ debtor.name }}: adjuntamos su estado de cuenta."
  estado:
    es-CL:
      subject: "Estado de cuenta {{ account.id }}"
      body: |
        Cliente: {{ debtor.name }}
        {% set state = {true: "pagada", false: "impaga"} %}
        {%- for due in dues %}
        Cuota {{ due.number }}  {{ due.due_date | date("dd-MM-yyyy") }}  {{ due.amount | money }}  {{ state[due.paid] }}
        {%- endfor %}

        Saldo pendiente: {{ account.balance | money }}
"""


async def test_email_and_letter_carry_the_statement_with_the_dues(
    env: WorkflowEnvironment,
    provider_worker: Worker,
    sessions: sessionmaker[Session],
    fake_sendgrid: FakeSendGrid,
) -> None:
    strategy = compile_text(STRATEGY, "statement.yaml").strategy
    start = next_monday_9()
    today = start.astimezone(ZONE).date()
    first, second = today - timedelta(days=45), today - timedelta(days=15)
    # The first invoice was paid before the account entered the campaign.
    acct = account(
        strategy,
        start,
        account_id="ACC-1",
        balance=100_000,
        original_amount=200_000,
        due_date=first,
        dues=[{"due_date": first, "amount": 100_000}, {"due_date": second, "amount": 100_000}],
    )
    journey = await run_journey(env, strategy, acct, start, 5, [], ScriptedResponder([]))
    log = communications(sessions, journey.handle.id)
    assert [(c.channel, c.template, c.status) for c in log] == [
        ("email", "resumen", "sent"),
        ("letter", "carta", "sent"),
    ]

    [mail] = fake_sendgrid.mails
    assert "(1 impaga)" in mail["content"][0]["value"]
    [attached] = mail["attachments"]
    assert (attached["filename"], attached["type"]) == ("estado.pdf", "application/pdf")
    emailed = base64.b64decode(attached["content"])
    text = pdf_text(emailed)
    assert f"Estado de cuenta {acct.account_id}" in text
    assert f"Cuota 1  {first:%d-%m-%Y}  $100.000  pagada" in text
    assert f"Cuota 2  {second:%d-%m-%Y}  $100.000  impaga" in text
    assert "Saldo pendiente: $100.000" in text

    with sessions() as session:
        letter = session.scalars(select(OutboxMessage).where(OutboxMessage.communication_id == log[1].id)).one()
    assert letter.attachment_name == "estado.pdf"
    assert letter.attachment is not None
    assert f"Cuota 2  {second:%d-%m-%Y}  $100.000  impaga" in pdf_text(letter.attachment)
