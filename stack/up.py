"""`collect up`: from a checkout to a running product in one command.

On a laptop it starts Temporal's dev server (state in the data folder), migrates the SQLite
database in the data folder, starts the worker and the API, waits until each answers, hands out
one API key per role and seeds the demo (stack/demo.py); then it prints where everything is and
watches. When COLLECT_TEMPORAL_ADDRESS or COLLECT_DATABASE_URL names infrastructure of its own,
only the worker and the API are started there, and the demo only when asked for. Ctrl-C or
SIGTERM stops every part; a part that dies is reported with the end of its log, and the others
are stopped.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from channels.configured import build_senders
from config import Settings
from db.migrate import current_revision, upgrade
from db.session import make_engine, make_session_factory
from domain.types import Channel
from stack import demo, parts
from stack.data_dir import DataDir
from stack.keys import StackKey, ensure_keys, key_for
from stack.supervisor import PartFailed, Supervisor, group_alive

DEMO_ZONE = ZoneInfo("America/Santiago")  # the demo portfolio is Chilean: its arrears count in Chile's days


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path
    strategies: Path  # the shipped strategies the demo publishes
    host: str = parts.LOCALHOST
    api_port: int = 8000
    temporal_port: int = 7233
    ui_port: int = 8233
    demo: bool | None = None  # None: seed the demo on a local stack only
    demo_accounts: int = 300


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


@dataclass(frozen=True)
class Plan:
    """What this start runs, from the settings and the options."""

    local_temporal: bool
    local_database: bool
    database_url: str
    temporal_address: str
    demo: bool
    demo_refused: str | None  # why the demo is not seeded although it would be

    @property
    def external(self) -> list[str]:
        return [
            what for what, local in (("Temporal", self.local_temporal), ("database", self.local_database)) if not local
        ]


def plan(settings: Settings, options: UpOptions, data: DataDir) -> Plan:
    """Infrastructure named in the environment is used as it is; anything not named runs here."""
    local_temporal = "temporal_address" not in settings.model_fields_set
    local_database = "database_url" not in settings.model_fields_set
    wanted = options.demo if options.demo is not None else (local_temporal and local_database)
    real = sorted(channel.value for channel in build_senders(settings))
    refused = None
    if wanted and real:
        refused = (
            f"real channels are configured ({', '.join(real)}) and the demo's synthetic phone numbers are valid "
            "numbers that may belong to real people: unset the channel credentials to run the demo"
        )
    return Plan(
        local_temporal=local_temporal,
        local_database=local_database,
        database_url=data.database_url if local_database else settings.database_url,
        temporal_address=f"{parts.reachable(options.host)}:{options.temporal_port}"
        if local_temporal
        else settings.temporal_address,
        demo=wanted and refused is None,
        demo_refused=refused,
    )


def demo_payments(settings: Settings, the_plan: Plan) -> bool:
    """Whether the API takes the data folder's `demo` payment provider: with no provider
    configured, a local database gets it, so a person can pay an account (`collect payment
    simulate`) as the tour shows; an external database keeps to its configured providers."""
    return not settings.payment_webhook_secrets and the_plan.local_database


def child_environment(settings: Settings, options: UpOptions, data: DataDir, the_plan: Plan) -> dict[str, str]:
    """The COLLECT_* variables every part shares, over this process's environment."""
    ui = [f"http://{host}:{options.ui_port}" for host in ("localhost", "127.0.0.1")]
    payments = {}
    if demo_payments(settings, the_plan):
        payments = {"COLLECT_PAYMENT_WEBHOOK_SECRETS": json.dumps(data.payment_secrets())}
    return {
        **os.environ,
        **payments,
        "COLLECT_DATABASE_URL": the_plan.database_url,
        "COLLECT_TEMPORAL_ADDRESS": the_plan.temporal_address,
        "COLLECT_PAYLOAD_DEV_KEY_PATH": str(data.payload_key),
        "COLLECT_CONSOLE_DEV_SECRET_PATH": str(data.console_secret),
        # Temporal's UI on its port may call the API's codec endpoint from the browser.
        "COLLECT_CODEC_CORS_ORIGINS": json.dumps(sorted({*settings.codec_cors_origins, *ui})),
    }


def seal_clear_secrets(settings: Settings, out: Console) -> None:
    """Seal the webhook signing secrets an earlier version stored in clear (or under a retired
    key), under the key every part of this stack uses, as `collect db seal-secrets` does. A key
    that is missing is reported, not fatal: the secrets keep working, and the command can run once
    the key is configured."""
    from services.campaign_notify import seal_secrets
    from services.secrets_at_rest import SealedSecretError, SecretBox
    from workflows.converter import PayloadKeysMissing

    engine = make_engine(settings.database_url)
    try:
        box = SecretBox.from_settings(settings)
        with make_session_factory(engine).begin() as session:
            report = seal_secrets(session, box)
    except (SealedSecretError, PayloadKeysMissing) as exc:
        out.print(f"Secrets   not sealed: {escape(str(exc))}; run collect db seal-secrets once the key is configured")
        return
    finally:
        engine.dispose()
    if report.sealed or report.resealed:
        count = report.sealed + report.resealed
        out.print(f"Secrets   {count} webhook signing secrets sealed under key {box.current_key_id}", highlight=False)


def run(settings: Settings, options: UpOptions, out: Console) -> int:
    """Start, report, watch, stop; the exit code: 0 after a requested stop, 1 when a part failed."""
    began = time.monotonic()
    data = DataDir.at(options.data_dir)
    the_plan = plan(settings, options, data)
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor()
    child_settings = settings.model_copy(
        update={
            "temporal_address": the_plan.temporal_address,
            "database_url": the_plan.database_url,
            "payload_dev_key_path": str(data.payload_key),
        }
    )
    probe = parts.TemporalProbe(child_settings)
    code = 0
    try:
        with data.locked():
            _start(settings, options, data, the_plan, supervisor, probe, out)
            seal_clear_secrets(child_settings, out)
            keys = _keys(data, the_plan, out)
            report = _demo(options, data, the_plan, keys, supervisor, out)
            data.update_state(
                processes=supervisor.pids,
                api_url=_api_url(options),
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            _ready(
                options, data, the_plan, keys, report, time.monotonic() - began, out, demo_payments(settings, the_plan)
            )
            supervisor.watch()
    except Interrupted as stop:
        out.print(f"\n{stop.signal_name}: stopping (again to stop at once)")
    except PartFailed as failure:
        out.print(f"[bold red]{escape(str(failure))}[/]", highlight=False)
        out.print("stopping the other parts")
        code = 1
    except (parts.PortTaken, demo.DemoFailed, RuntimeError, OSError) as failure:
        out.print(f"[bold red]cannot start:[/] {escape(str(failure))}", highlight=False)
        code = 1
    finally:
        for sig in previous:
            signal.signal(sig, lambda _signum, _frame: supervisor.hurry())
        pids = supervisor.pids
        stopping = time.monotonic()
        supervisor.stop()
        probe.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    left = [f"{name} ({pid})" for name, pid in pids.items() if group_alive(pid)]
    if pids and data.state_file.exists():
        data.update_state(processes={})  # the state file lists what runs
    stopped = f"stopped {', '.join(reversed(pids))} in {time.monotonic() - stopping:.1f} s"
    if pids:
        out.print(f"{stopped}; still running: {', '.join(left)}" if left else f"{stopped}; no process left")
    return code


def _api_url(options: UpOptions) -> str:
    return f"http://{parts.reachable(options.host)}:{options.api_port}"


def _start(
    settings: Settings,
    options: UpOptions,
    data: DataDir,
    the_plan: Plan,
    supervisor: Supervisor,
    probe: parts.TemporalProbe,
    out: Console,
) -> None:
    ports = {"the API": options.api_port}
    if the_plan.local_temporal:
        ports |= {"Temporal": options.temporal_port, "Temporal's Web UI": options.ui_port}
    parts.check_ports(ports, options.host)
    env = child_environment(settings, options, data, the_plan)
    if the_plan.external:
        out.print(f"Using the {' and the '.join(the_plan.external)} named in the environment; starting the rest here.")
    _report_channels(settings, out)

    where = make_url(the_plan.database_url).render_as_string(hide_password=True)
    before = current_revision(the_plan.database_url)
    upgrade(the_plan.database_url)
    after = current_revision(the_plan.database_url)
    migrated = f"migrated from {before or 'empty'} to {after}" if before != after else f"at {after}"
    out.print(f"Database  {where} ({migrated})", highlight=False)

    if the_plan.local_temporal:
        step = time.monotonic()
        supervisor.start(
            parts.temporal_dev_server(
                port=options.temporal_port,
                ui_port=options.ui_port,
                db_file=data.temporal_db,
                host=options.host,
                log=data.log("temporal"),
                env=env,
                probe=probe,
            )
        )
        out.print(f"Temporal  answers on {the_plan.temporal_address} ({time.monotonic() - step:.1f} s)")
    elif not probe.healthy():
        raise RuntimeError(f"Temporal at {the_plan.temporal_address} does not answer (COLLECT_TEMPORAL_ADDRESS)")
    step = time.monotonic()
    supervisor.start(
        parts.worker(log=data.log("worker"), env=env, probe=probe, task_queue=settings.temporal_task_queue),
        parts.api(port=options.api_port, host=options.host, log=data.log("api"), env=env, access_log=True),
    )
    out.print(f"Worker and API answer ({time.monotonic() - step:.1f} s)")


def _report_channels(settings: Settings, out: Console) -> None:
    real = build_senders(settings)
    sandbox = [channel.value for channel in Channel if channel not in real]
    if sandbox:
        out.print(
            f"Channels  sandbox for {', '.join(sandbox)}: messages are recorded in the database, not sent "
            "(no credentials configured: COLLECT_SENDGRID_API_KEY, COLLECT_TWILIO_*)",
            highlight=False,
        )
    if real:
        out.print(f"Channels  [bold]sending for real[/] on {', '.join(sorted(c.value for c in real))}")


def _keys(data: DataDir, the_plan: Plan, out: Console) -> list[StackKey]:
    """One key per role on a local stack or for a demo; none in someone else's database unasked."""
    if the_plan.external and not the_plan.demo:
        return []
    keys, issued = ensure_keys(data, make_session_factory(make_engine(the_plan.database_url)))
    out.print(f"API keys  {'issued' if issued else 'kept'} ({data.keys_file}, mode 0600)")
    return keys


def _demo(
    options: UpOptions, data: DataDir, the_plan: Plan, keys: list[StackKey], supervisor: Supervisor, out: Console
) -> demo.DemoReport | None:
    if the_plan.demo_refused is not None:
        out.print(f"Demo      not seeded: {the_plan.demo_refused}", markup=False)
    if not the_plan.demo:
        return None
    step = time.monotonic()
    report = demo.seed(
        _api_url(options),
        key_for(keys, "admin"),
        data,
        options.strategies,
        accounts=options.demo_accounts,
        today=datetime.now(DEMO_ZONE).date(),
        progress=lambda line: out.print(f"Demo      {line}", highlight=False),
        check=supervisor.check,
    )
    done = "seeded" if report.created else "resumed (nothing started again)"
    out.print(f"Demo      {done} ({time.monotonic() - step:.1f} s)")
    return report


def _ready(
    options: UpOptions,
    data: DataDir,
    the_plan: Plan,
    keys: list[StackKey],
    report: demo.DemoReport | None,
    elapsed: float,
    out: Console,
    demo_paying: bool,
) -> None:
    api = _api_url(options)
    out.print(f"\n[bold green]Ready[/] in {elapsed:.1f} s.\n")
    where = Table.grid(padding=(0, 2))
    where.add_row("API", api, f"docs: {api}/docs")
    where.add_row("Console", f"{api}/console", "sign in with an API key")
    if the_plan.local_temporal:
        ui = f"http://{parts.reachable(options.host)}:{options.ui_port}"
        where.add_row("Temporal UI", ui, f"gRPC {the_plan.temporal_address}, namespace default")
    else:
        where.add_row("Temporal", the_plan.temporal_address, "")
    where.add_row("Data", str(data.root), escape("logs: collect logs [temporal|worker|api] [-f]"))
    out.print(where)
    if not keys:
        out.print(
            "\nNo API keys issued in a database this command does not own: create them with "
            "collect api-key create SUBJECT --role ROLE (with the same COLLECT_DATABASE_URL).",
            markup=False,
        )
    else:
        # Plain lines, never wrapped: a key is copied from here.
        out.print(f"\nAPI keys (send as X-API-Key; kept in {data.keys_file}):")
        for key in keys:
            who = f"{key.role} {key.subject}" + (f" ({', '.join(key.queues)})" if key.queues else "")
            out.print(f"  {who:<30} {key.key}", soft_wrap=True, markup=False)
    if report is not None:
        out.print(
            f"Demo campaign [bold]{report.campaign_id}[/] on strategy {report.strategy_id} "
            f"({report.strategy_hash[:12]}): {report.launched} of {report.total} accounts launched"
            + (f" (launch {report.launch_status})" if report.launch_status != "done" else "")
            + f"; {len(report.published)} strategies published.",
            highlight=False,
        )
        if report.strategy_id == demo.STRATEGY_ID:
            out.print(
                "The demo strategy waits minutes, not days, under policy NONE: it contacts at any hour, "
                "night included, with no caps. A demo, not Chilean law (cl-consumer follows preset CL).",
                highlight=False,
            )
        if report.stale_strategy:
            out.print(
                f"strategies/{demo.STRATEGY_ID}.yaml changed since the campaign was created; to run it, "
                f"move the campaign as a supervisor: collect campaign move {report.campaign_id} "
                f"--to {report.file_hash[:12]}",
                highlight=False,
            )
        out.print(
            f"\nCommand line: collect login --url {api} --key <a key above> (--profile NAME keeps several);\n"
            + (
                f"payments: collect payment simulate ACCOUNT AMOUNT signs as provider `demo` (secret in "
                f"{data.payments_file})."
                if demo_paying
                else "payments: the providers in COLLECT_PAYMENT_WEBHOOK_SECRETS (no demo provider here)."
            ),
            soft_wrap=True,
            markup=False,
        )
        supervisor_key = key_for(keys, "supervisor")
        out.print(
            f'\nTry: curl -H "X-API-Key: {supervisor_key}" {api}/campaigns/{report.campaign_id}',
            soft_wrap=True,
            markup=False,
        )
    out.print("\nCtrl-C stops everything.")
