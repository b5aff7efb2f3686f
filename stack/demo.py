"""The demo a local stack seeds on its first start, through the product's own HTTP API with the
admin key, so every rule of the API applies: publish every shipped strategy, create the demo
campaign on strategies/demo.yaml, import a generated portfolio of synthetic Chilean accounts and
launch it.

Each step first asks the API what is already there, so a second start resumes instead of
repeating: the campaign is created once (under a fixed id), accounts are imported only into an
empty campaign, and a launch is asked for only while accounts wait to be launched and no launch
runs (the campaign's workflow launches each account once). The data folder's state file records
what the demo was seeded with, so a resume keeps it even if the defaults change, and the hash
strategies/demo.yaml had then, so a resume tells a changed file from a campaign moved on purpose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from stack import portfolio
from stack.data_dir import DataDir

CAMPAIGN_ID = "demo"
STRATEGY_ID = "demo"
COUNTRY = "CL"
SEED = 11
CREDITOR = {
    "creditor_name": "Tienda Demo",
    "creditor_phone": "+56223456789",
    "creditor_email": "cobranza@example.com",
    "payment_link_base": "https://pagos.example.com/p/",
}
LAUNCH_WAIT_S = 120.0


class DemoFailed(RuntimeError):
    """The API refused a step of the demo; the message says which and why."""


@dataclass
class DemoReport:
    campaign_id: str
    strategy_hash: str  # the version the campaign runs now (a supervisor may have moved it)
    file_hash: str  # strategies/demo.yaml's version as the file is now
    strategy_id: str = STRATEGY_ID  # the id of the version the campaign runs now
    published: list[tuple[str, str, bool]] = field(default_factory=list)  # (file, hash, new)
    created: bool = False
    imported: int | None = None  # accounts accepted now; None when the campaign had them already
    rejected: int = 0
    launch_asked: bool = False
    launched: int = 0
    total: int = 0
    launch_status: str = ""
    stale_strategy: bool = False  # demo.yaml changed since the campaign was created, and it does not run it


def seed(
    base_url: str,
    admin_key: str,
    data: DataDir,
    strategies: Path,
    *,
    accounts: int,
    today: date,
    progress: Callable[[str], None] = lambda _line: None,
    check: Callable[[], None] = lambda: None,
) -> DemoReport:
    """Seed the demo, or resume it; `today` dates the portfolio's arrears. `check` runs while
    the launch is awaited and raises to stop waiting (a part of the stack died)."""
    state = data.read_state().get("demo") or {}
    campaign_id = str(state.get("campaign_id", CAMPAIGN_ID))
    with httpx.Client(base_url=base_url, headers={"X-API-Key": admin_key}, timeout=120) as api:
        published = [_publish(api, path) for path in sorted(strategies.glob("*.yaml"))]
        demo_hash = next((h for name, h, _ in published if Path(name).stem == STRATEGY_ID), None)
        if demo_hash is None:
            raise DemoFailed(f"{strategies} has no {STRATEGY_ID}.yaml to run the demo on")
        report = DemoReport(campaign_id=campaign_id, strategy_hash=demo_hash, file_hash=demo_hash, published=published)
        campaign = _get(api, f"/campaigns/{campaign_id}")
        if campaign is None:
            _call(api, "post", "/campaigns", "create the demo campaign", json=_campaign_body(campaign_id, demo_hash))
            report.created = True
            campaign = _get(api, f"/campaigns/{campaign_id}")
            assert campaign is not None
        report.strategy_hash = campaign["strategy_hash"]
        # Compared with the file as it was at the campaign's creation, not with the version the
        # campaign runs: moving the campaign to another version is a choice, not a stale file.
        # (A data folder from before this record counts its file as unchanged.)
        seeded_with = str(state.get("strategy_file_hash") or demo_hash)
        report.stale_strategy = demo_hash != seeded_with and campaign["strategy_hash"] != demo_hash
        version = _get(api, f"/strategies/{campaign['strategy_hash']}")
        report.strategy_id = str(version["strategy_id"]) if version else STRATEGY_ID
        if campaign["launch"]["total"] == 0:
            count, seed_value = int(state.get("accounts", accounts)), int(state.get("seed", SEED))
            data.update_state(demo={"campaign_id": campaign_id, "accounts": count, "seed": seed_value})
            rows = portfolio.generate(count, COUNTRY, seed_value, today)
            progress(f"importing {count} synthetic {COUNTRY} accounts (seed {seed_value})")
            answer = _call(
                api,
                "post",
                f"/campaigns/{campaign_id}/accounts",
                "import the demo portfolio",
                content=portfolio.to_csv(rows).encode(),
                headers={"Content-Type": "text/csv"},
            )
            report.imported, report.rejected = answer["accepted"], len(answer["rejected"])
            campaign = _get(api, f"/campaigns/{campaign_id}")
            assert campaign is not None
        launch = campaign["launch"]
        if launch["not_launched"] > 0 and launch["status"] != "running" and campaign["status"] in ("draft", "running"):
            progress(f"launching {launch['not_launched']} accounts")
            _call(api, "post", f"/campaigns/{campaign_id}/launch", "launch the demo campaign")
            report.launch_asked = True
        campaign = _await_launch(api, campaign_id, progress, check)
        report.launched, report.total = campaign["launch"]["launched"], campaign["launch"]["total"]
        report.launch_status = campaign["launch"]["status"]
    seeded = {"campaign_id": campaign_id, "seeded": True, "strategy_file_hash": seeded_with}
    data.update_state(demo={**(data.read_state().get("demo") or {}), **seeded})
    return report


def _campaign_body(campaign_id: str, strategy_hash: str) -> dict[str, Any]:
    return {"id": campaign_id, "name": "Demo: cartera sintética chilena", "strategy_hash": strategy_hash, **CREDITOR}


def _publish(api: httpx.Client, path: Path) -> tuple[str, str, bool]:
    response = api.post("/strategies", content=path.read_bytes(), headers={"Content-Type": "application/yaml"})
    body = _checked(response, f"publish {path.name}")
    return path.name, str(body["hash"]), response.status_code == 201


def _await_launch(
    api: httpx.Client, campaign_id: str, progress: Callable[[str], None], check: Callable[[], None]
) -> dict[str, Any]:
    """The campaign once its launch has finished, or as it is after LAUNCH_WAIT_S."""
    deadline = time.monotonic() + LAUNCH_WAIT_S
    shown = -1
    while True:
        check()
        campaign = _get(api, f"/campaigns/{campaign_id}")
        assert campaign is not None
        launch = campaign["launch"]
        if launch["status"] != "running" or time.monotonic() > deadline:
            return campaign
        if launch["launched"] != shown:
            shown = launch["launched"]
            progress(f"launched {shown} of {launch['total']}")
        time.sleep(0.5)


def _get(api: httpx.Client, path: str) -> dict[str, Any] | None:
    response = api.get(path)
    if response.status_code == 404:
        return None
    return _checked(response, f"read {path}")


def _call(api: httpx.Client, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
    return _checked(api.request(method.upper(), path, **kwargs), what)


def _checked(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    try:
        problem = response.json()
        detail = problem.get("detail") or problem
    except ValueError:
        detail = response.text[:500]
    raise DemoFailed(f"could not {what}: the API answered {response.status_code}: {detail}")
