"""The payment reconciler: delivers to their account workflows the payments that are recorded but
that no workflow has yet (received while Temporal was down, or before the account was launched).

The API records a payment, commits, then signals its workflow; when the signal cannot be sent the
payment stays `pending` in the ledger and the provider still gets a 2xx. The worker process runs
this loop beside its Temporal worker: every `interval_s` it signals each pending payment of a
launched account and marks it `delivered` (or `closed` when its workflow has finished).

Safe to run in every worker at once and to repeat: the workflow counts a payment by its ledger
id once (`domain.interpreter`, `payment_ids`, carried across continue-as-new), and the mark is a
conditional update from `pending`. A payment is marked only after Temporal accepted its signal,
so a crash in between means one more (harmless) signal, never a lost payment. Nothing depends on
timing: when Temporal is unreachable a round stops at the first failure and the next one retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.payments import ledger_payment_id
from db.repositories import payments as ledger
from db.session import session_scope
from domain.events import PaymentReceived

log = logging.getLogger("collect.reconciler")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Round:
    """What one round did: payments delivered, found closed, and left pending (Temporal unreachable)."""

    delivered: int = 0
    closed: int = 0
    pending: int = 0


@dataclass(frozen=True)
class _Pending:
    id: int
    workflow_id: str
    event: PaymentReceived


class PaymentReconciler:
    """Delivers pending payments in batches of `batch`, oldest first."""

    def __init__(
        self,
        client: Client,
        sessions: sessionmaker[Session],
        *,
        batch: int = 200,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._batch = batch
        self._clock = clock

    async def run_once(self) -> Round:
        """Deliver every payment pending now; stop at the first sign that Temporal is unreachable."""
        delivered = closed = 0
        after = 0
        while True:
            batch = await asyncio.to_thread(self._pending, after)
            for payment in batch:
                outcome = await self._deliver(payment)
                if outcome is None:
                    left = await asyncio.to_thread(self._count_pending)
                    return Round(delivered=delivered, closed=closed, pending=left)
                if await asyncio.to_thread(self._mark, payment.id, outcome):
                    delivered += outcome == ledger.DELIVERED
                    closed += outcome == ledger.CLOSED
                after = payment.id
            if len(batch) < self._batch:
                return Round(delivered=delivered, closed=closed, pending=0)

    async def run(self, stop: asyncio.Event, interval_s: float) -> None:
        """Run rounds every `interval_s` until `stop` is set; a failed round is logged and retried."""
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:  # a database hiccup must not end the loop (or the worker)
                log.exception("payment reconciliation failed; retrying in %.0f s", interval_s)
            else:
                if done.delivered or done.closed or done.pending:
                    log.info(
                        "payments delivered: %d, workflow closed: %d, still pending: %d",
                        done.delivered,
                        done.closed,
                        done.pending,
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)

    async def _deliver(self, payment: _Pending) -> str | None:
        """`delivered`, `closed`, or None when Temporal could not be reached."""
        handle = self._client.get_workflow_handle(payment.workflow_id)
        try:
            await handle.signal("payment_received", payment.event)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return ledger.CLOSED
            log.warning("payment %d not delivered to %s: %s", payment.id, payment.workflow_id, exc.message)
            return None
        return ledger.DELIVERED

    def _pending(self, after: int) -> list[_Pending]:
        with session_scope(self._sessions) as session:
            return [
                _Pending(
                    id=p.id,
                    workflow_id=workflow_id,
                    event=PaymentReceived(
                        payment_id=ledger_payment_id(p.provider, p.provider_payment_id),
                        amount=p.amount,
                        currency=p.currency,
                    ),
                )
                for p, workflow_id in ledger.pending_delivery(session, after, self._batch)
            ]

    def _mark(self, payment_id: int, outcome: str) -> bool:
        with session_scope(self._sessions) as session:
            return ledger.mark_delivery(session, payment_id, outcome, self._clock())

    def _count_pending(self) -> int:
        with session_scope(self._sessions) as session:
            return ledger.count_pending(session)
