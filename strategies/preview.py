"""Message previews for timelines: what a person scanning an account's history reads of a message,
its subject (on channels that carry one) and its first line.

The simulator renders the template with the simulated account, exactly as the send activity
renders it (`strategies.rendering.render`, bounded by `strategies.sandbox`); the live timeline
previews what was really sent (the communications log keeps the rendered subject and body).
A message sent through a fallback channel is previewed on that channel: the template rendered
for the channel actually used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.state import AccountState
from domain.strategy import CompiledStrategy
from domain.types import Channel
from strategies.message_context import template_context
from strategies.rendering import EXAMPLE_CONTEXT, render
from strategies.sandbox import RenderTookTooLong, TemplateTooCostly

# Channels whose messages show a subject to the debtor.
SUBJECT_CHANNELS = (Channel.EMAIL, Channel.LETTER)
# A preview is one line of a table: longer first lines are cut, marked with an ellipsis.
PREVIEW_CHARS = 120


def preview_of(channel: str, subject: str | None, body: str | None) -> str:
    """'Subject — first line' of a rendered message; the first line alone where the channel shows
    no subject (SMS, WhatsApp) or the message has none."""
    first = next((line.strip() for line in (body or "").splitlines() if line.strip()), "")
    if len(first) > PREVIEW_CHARS:
        first = first[: PREVIEW_CHARS - 1].rstrip() + "…"
    title = (subject or "").strip() if channel in SUBJECT_CHANNELS else ""
    if title and first:
        return f"{title} — {first}"
    return title or first


def simulated_context(
    state: AccountState, edition: int, currency: str, offer: dict[str, str], now: datetime
) -> dict[str, Any]:
    """The variables a template sees for a simulated account: what the send activity gives it
    (`strategies.message_context`, from the same state), with the example creditor and payment
    link (a simulation runs outside any campaign)."""
    return template_context(
        state.account,
        balance=state.balance,
        paid_total=state.paid_total,
        currency=currency,
        edition=edition,
        offer=offer,
        promise=(state.promise.amount, state.promise.due) if state.promise is not None else None,
        fees_total=state.fees_total,
        interest_total=state.interest_total,
        creditor=EXAMPLE_CONTEXT["creditor"],
        payment_link_base="https://pay.example",
        now=now,
    )


def render_preview(
    strategy: CompiledStrategy, template: str, locale: str, channel: str, context: dict[str, Any]
) -> str:
    """The preview of template `template` rendered for `channel` with `context`; a template the
    sandbox stops (too costly) or that fails to render says so instead of failing the timeline."""
    source = strategy.template_for(template, locale)
    try:
        subject = render(source.subject, locale, strategy.currency, context) if source.subject else None
        body = render(source.body, locale, strategy.currency, context)
    except (TemplateTooCostly, RenderTookTooLong) as exc:
        return f"(not rendered: {exc})"
    except Exception as exc:  # a render error is the template's defect: the send would fail the same way
        return f"(not rendered: {type(exc).__name__}: {exc})"
    return preview_of(channel, subject, body)
