"""Temporal worker: the debtor workflow and every activity, configured from the environment
(COLLECT_* variables, see config.py and the README), with structured JSON logs and a graceful
stop on SIGTERM or SIGINT (in-flight activities finish, then the process exits). Beside it runs
the payment reconciler (reconciler.py), which delivers payments recorded while Temporal was down."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Worker

from activities import build_activities
from channels.configured import build_senders
from config import Settings, get_settings
from db.session import make_engine, make_session_factory
from domain.zone_rules import use_pinned_zone_rules, zone_rules_version
from reconciler import PaymentReconciler
from services import campaign_notify
from services.secrets_at_rest import SecretBox
from workflows import search_attributes
from workflows.campaign import CampaignWorkflow
from workflows.connect import connect
from workflows.converter import current_key_id
from workflows.debtor import DebtorWorkflow
from workflows.sandbox import workflow_runner

log = logging.getLogger("collect.worker")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors parse without configuration."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# Every workflow type this product runs; the API's tests run a worker with the same list.
WORKFLOWS: list[type] = [DebtorWorkflow, CampaignWorkflow]


def build_worker(
    client: Client, settings: Settings, executor: ThreadPoolExecutor, sessions: sessionmaker[Session] | None = None
) -> Worker:
    sessions = sessions or make_session_factory(make_engine(settings.database_url))
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        # The same sandbox configuration as the tests: the domain passed through, holiday
        # calendars preloaded. (Before issue 4 the worker used the SDK's default runner here.)
        workflow_runner=workflow_runner(),
        activities=build_activities(
            sessions,
            build_senders(settings),
            account_task_queue=settings.temporal_account_task_queue,
            notify_private_addresses=settings.notify_allow_private_addresses,
            secrets=SecretBox.from_settings(settings),
        ),
        activity_executor=executor,
        max_cached_workflows=settings.worker_max_cached_workflows,
    )


async def start(settings: Settings) -> tuple[Client, sessionmaker[Session]]:
    """Before the worker runs: Temporal connected (search attributes registered), the database's
    session factory, and a warning for webhook secrets left to seal (the worker signs with them)."""
    client = await connect(settings)
    if settings.temporal_api_key is None:  # Temporal Cloud manages search attributes in its UI
        await search_attributes.ensure_registered(client, settings.temporal_namespace)
    sessions = make_session_factory(make_engine(settings.database_url))
    # After connecting: the client's converter made the development key, if one is used.
    await asyncio.to_thread(campaign_notify.warn_unsealed, sessions, current_key_id(settings), log)
    return client, sessions


async def run(settings: Settings) -> None:
    client, sessions = await start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(client, settings, executor, sessions)
        log.info(
            "worker started on %s, queue %s, zone rules %s",
            settings.temporal_address,
            settings.temporal_task_queue,
            zone_rules_version(),
        )
        async with worker:
            reconciling = None
            if settings.payment_reconcile_interval_s > 0:
                reconciler = PaymentReconciler(client, sessions, batch=settings.payment_reconcile_batch)
                reconciling = asyncio.create_task(reconciler.run(stop, settings.payment_reconcile_interval_s))
            await stop.wait()
            log.info("stopping: waiting for in-flight activities")
            if reconciling is not None:
                await reconciling
    log.info("worker stopped")


def main() -> int:
    use_pinned_zone_rules()  # before any ZoneInfo: workflow decisions follow the locked tzdata
    settings = get_settings()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    logging.captureWarnings(True)  # Python warnings become JSON lines too
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every header at INFO
    # Temporal's core (Rust) writes its own plain-text lines to stderr unless its logs are handed
    # to Python's logging: then every line the worker writes is one JSON object.
    Runtime.set_default(
        Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="WARN"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger("temporal.core")),
                )
            )
        )
    )
    try:
        asyncio.run(run(settings))
    except Exception:
        # One JSON line with the traceback inside, not a bare traceback on stderr.
        log.exception("worker stopped on an error (Temporal at %s)", settings.temporal_address)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
