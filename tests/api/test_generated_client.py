"""A client generated from the committed openapi.json by a standard generator, as anyone would run
it (`openapi-python-client generate --path openapi.json --meta none`), works for every audience
against the API: a strategist validates and publishes a strategy as JSON, simulates it (the answer
parses into the generated SimulationResult), creates a campaign, imports typed account rows and
reads the campaign; an agent takes the next task; a supervisor lists accounts and reads KPIs.

The generator once refused two schemas named TimelineEntry and left SimulationResult out of the
client; whatever it cannot read now fails here. The API is the real app on a real database with
Temporal's time-skipping server and a worker (tests/api/conftest.py)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from accounts_fixture import CALLS, start_accounts
from api_harness import Api

ROOT = Path(__file__).resolve().parents[2]
CL_TEXT = (ROOT / "strategies" / "cl-consumer.yaml").read_text(encoding="utf-8")
PACKAGE = "collect_client"
# The generator writes clients for JSON, form and binary bodies. The YAML and CSV forms of the
# strategy and import bodies are left out (their JSON forms are in), and it says so: the only
# notes it may print.
LEFT_OUT = ("text/csv", "application/yaml", "text/plain")
NOTES = (
    re.compile(r"Generating .*"),
    re.compile(r"Warning\(s\) encountered while generating\. Client was generated, but some pieces may be missing"),
    re.compile(r"WARNING parsing (POST|PUT|PATCH) \S+ within \w+\."),
    re.compile(r"Unsupported content type (" + "|".join(re.escape(media) for media in LEFT_OUT) + ")"),
    re.compile(r"If you believe this was a mistake or this tool is missing a feature you need, .*"),
)


def complaints(output: str) -> list[str]:
    """What the generator said beyond the expected notes (it also dumps the JSON it read: skipped)."""
    said = [line for line in output.splitlines() if line.strip() and not line.startswith((" ", "{", "}"))]
    return [line for line in said if not any(note.fullmatch(line) for note in NOTES)]


@pytest.fixture(scope="module")
def collect_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    where = tmp_path_factory.mktemp("generated")
    config = where / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatting: the code is imported, not read
    source = ["--path", str(ROOT / "openapi.json"), "--output-path", str(where / PACKAGE)]
    generated = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", *source, "--meta", "none", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert complaints(generated.stdout + generated.stderr) == []
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def operation(tag: str, operation_id: str) -> Any:
    """The generated module of one operation: `collect_client.api.<tag>.<operation id>`."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation_id}")


async def test_every_audience_works_through_the_generated_client(api: Api, collect_client: ModuleType) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")

    def client(who: str) -> Any:
        return collect_client.AuthenticatedClient(
            base_url="http://testserver",
            token=api.keys[who],
            prefix="",
            auth_header_name="X-API-Key",
            httpx_args={"transport": api.transport},
            raise_on_unexpected_status=True,  # an answer the description does not declare fails here
        )

    strategist, agent, supervisor = client("strategist"), client("agent"), client("supervisor")

    # Strategist: the shipped Chilean strategy, as JSON.
    source = models.StrategySource(yaml=CL_TEXT)
    checked = await operation("strategies", "validate_strategy").asyncio_detailed(client=strategist, body=source)
    assert checked.status_code == 200, checked.content
    assert isinstance(checked.parsed, models.ValidationResult)
    published = await operation("strategies", "publish_strategy").asyncio_detailed(client=strategist, body=source)
    assert published.status_code == 201, published.content
    version = published.parsed
    assert isinstance(version, models.StrategyVersionDetail)
    assert version.hash_ == checked.parsed.hash_
    assert version.source_yaml == CL_TEXT

    simulated = await operation("strategies", "simulate_strategy").asyncio_detailed(
        version.hash_, client=strategist, body=models.SimulateRequest(days=30, start="2026-11-02 09:00")
    )
    assert simulated.status_code == 200, simulated.content
    run = simulated.parsed
    assert isinstance(run, models.SimulationResult)
    assert run.timeline, "a month of the Chilean strategy contacts the debtor"
    assert all(isinstance(entry, models.SimulationTimelineEntry) for entry in run.timeline)
    assert run.timeline[0].at_local.utcoffset() is not None

    created = await operation("campaigns", "create_campaign").asyncio_detailed(
        client=strategist,
        body=models.CampaignCreate(
            id="generated", name="Consumo generado", strategy_hash=version.hash_, creditor_name="Financiera Andes"
        ),
    )
    assert created.status_code == 201, created.content
    rows = [
        models.AccountRow(
            account_id=f"CL-{n}",
            country="CL",
            currency="CLP",
            balance=150_000 + n,
            due_date=date(2026, 10, 15),
            debtor_name=f"Deudor {n}",
            phone=f"9 8{n:07d}",
            consent=True,
            tags=["generated"],
        )
        for n in (1, 2)
    ]
    rows.append(  # a negative balance: reported in its row, as in a CSV file
        models.AccountRow(
            account_id="CL-3",
            country="CL",
            currency="CLP",
            balance="-5",
            due_date=date(2026, 10, 15),
            timezone="America/Santiago",
        )
    )
    imported = await operation("campaigns", "import_accounts").asyncio_detailed(
        "generated", client=strategist, body=rows
    )
    assert imported.status_code == 200, imported.content
    report = imported.parsed
    assert isinstance(report, models.ImportReport)
    assert (report.rows, report.accepted) == (3, 2)
    assert [(r.row, r.external_id, r.field) for r in report.rejected] == [(3, "CL-3", "balance")]
    campaign = await operation("campaigns", "get_campaign").asyncio_detailed("generated", client=strategist)
    assert campaign.status_code == 200, campaign.content
    assert isinstance(campaign.parsed, models.CampaignPublic)
    assert (campaign.parsed.status, campaign.parsed.launch.total) == ("draft", 2)

    # Agent: the next call of their queue (an account of another campaign, already running).
    (account,) = await start_accounts(api, CALLS, 1)
    task = await operation("agents", "next_task").asyncio_detailed(client=agent)
    assert task.status_code == 200, task.content
    assert isinstance(task.parsed, models.NextTask)
    assert (task.parsed.account_id, task.parsed.queue) == (account.id, "calls")

    # Supervisor: the accounts, and the KPIs of the imported campaign.
    listed = await operation("supervisors", "list_accounts").asyncio_detailed(client=supervisor)
    assert listed.status_code == 200, listed.content
    assert isinstance(listed.parsed, models.AccountPage)
    assert account.id in {item.id for item in listed.parsed.items}
    kpis = await operation("kpis", "campaign_kpis").asyncio_detailed("generated", client=supervisor)
    assert kpis.status_code == 200, kpis.content
    assert isinstance(kpis.parsed, models.CampaignKpis)
    assert (kpis.parsed.overall.accounts, kpis.parsed.overall.placed_amount) == (2, 300_003)
