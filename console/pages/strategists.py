"""The strategists' pages: published strategy versions, an editor that validates pasted or
uploaded YAML and shows every error beside its line, a simulation of one scripted account as a
timeline table (of the draft being edited or of a published version), a diff between two versions,
and publishing; campaigns: create one, import its accounts and read the row report, launch it and
watch the progress bar fill as workflows start, pause, resume, stop, and move it to a new version;
where its `notify` webhooks go (the URL, checked as the API checks it) and a new signing secret,
shown on the answer that made it and never again.

Every rule is the API's: pages call services/strategies.py and services/campaigns.py as the
API's routers do, admit the same roles (console/auth.py) and show the same refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.auth import STEERERS, STRATEGISTS, Principal, admits
from api.deps import NowDep, SecretsDep, SessionDep, SettingsDep, TemporalDep
from api.errors import ProblemError
from api.pagination import decode_cursor, encode_cursor
from api.schemas.campaigns import CAMPAIGN_ID_PATTERN, CampaignCreate, LaunchRequest
from console import labels
from console.auth import Planner, Steerer, Strategist
from console.i18n import Formats
from console.templating import language, render
from db.models import Campaign, StrategyVersion
from db.repositories import campaigns as campaign_repo
from db.repositories import strategies as versions
from domain.strategy import CompiledStrategy
from services import campaign_notify, whatif
from services import campaigns as campaign_service
from services import strategies as strategy_service
from services.errors import Field, Invalid, ServiceError
from simulator.report import recovery_svg
from strategies.compiler import Compiled
from strategies.limits import MAX_DOCUMENT_BYTES

router = APIRouter()

PAGE = 50
HASH = r"^[0-9a-f]{64}$"
HashQuery = Annotated[str, Query(pattern=f"({HASH})?")]
DoneQuery = Annotated[str | None, Query(max_length=20)]
SourceForm = Annotated[str, Form(max_length=MAX_DOCUMENT_BYTES)]
ScenarioForm = Annotated[str, Form(max_length=20_000)]
HashPath = Annotated[str, Path(pattern=HASH)]
CampaignPath = Annotated[str, Path(pattern=CAMPAIGN_ID_PATTERN)]
# A scenario to start from: a call that ends in a promise, which a payment keeps.
EXAMPLE_SCENARIO = """account: {balance: 150000}
days: 60
calls:
  - {code: promise_to_pay, in_days: 5}
events:
  - {day: 5, at: "10:00", payment: 150000}
"""


# A refusal as the pages show it: the status, the detail and the fields at fault.
Refused = tuple[int, str, list[Field]]


@dataclass(frozen=True)
class Line:
    """One line of a YAML source and the errors found on it."""

    number: int
    text: str
    errors: list[Field]


def _lines(source: str, errors: list[Field]) -> list[Line]:
    """The source's lines, numbered from 1, each with its errors (an error past the end goes on
    the last line; one with no line on the first)."""
    texts = source.splitlines() or [""]
    at: dict[int, list[Field]] = {}
    for error in errors:
        line = min(max(error.line or 1, 1), len(texts))
        at.setdefault(line, []).append(error)
    return [Line(n, text, sorted(at.get(n, []), key=lambda e: e.column or 0)) for n, text in enumerate(texts, 1)]


def _refusal(exc: Exception) -> Refused:
    if isinstance(exc, ServiceError):
        return exc.status, exc.detail, exc.fields
    assert isinstance(exc, ProblemError)
    return exc.status, exc.detail, []


async def _text_of(upload: UploadFile | None, typed: str) -> str:
    """The uploaded file's text when one was chosen, else what was typed (whose line ends the
    browser turned into CRLF, as it does for every textarea: back to LF, as the file was)."""
    if upload is not None and upload.filename:
        data = await upload.read(MAX_DOCUMENT_BYTES + 1)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid(f"{upload.filename} is not UTF-8 text.") from None
    return typed.replace("\r\n", "\n")


# ---- strategies ------------------------------------------------------------------------------------


@router.get("/strategies")
def strategy_list(
    request: Request,
    session: SessionDep,
    principal: Planner,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """GET /strategies: published versions in publication order, with a form to compare two."""
    rows = versions.list_versions(session, strategy_id=None, after=decode_cursor(cursor), limit=PAGE)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    every = list(reversed(versions.list_versions(session, strategy_id=None, after=None, limit=500)[:500]))
    context = {
        "rows": rows,
        "every": every,
        "can_write": admits(principal, STRATEGISTS),
        "next_query": {"cursor": encode_cursor(rows[-1].id)} if more else None,
    }
    return render(request, "strategists/strategies.html", context, current="strategies")


def _editor(
    request: Request,
    *,
    source: str,
    scenario: str = EXAMPLE_SCENARIO,
    compiled: Compiled | None = None,
    published: StrategyVersion | None = None,
    refusal: Refused | None = None,
    simulated: strategy_service.Simulated | None = None,
    scenario_refusal: Refused | None = None,
) -> Response:
    """The editor: the source, and what validating, simulating or publishing it answered."""
    errors = refusal[2] if refusal is not None else []
    context = {
        "source": source,
        "scenario": scenario,
        "compiled": compiled,
        "published": published,
        "refusal": refusal,
        "lines": _lines(source, errors) if errors else [],
        "simulated": simulated,
        "sim_fmt": _simulation_formats(request, simulated),
        "scenario_refusal": scenario_refusal,
        "scenario_lines": _lines(scenario, scenario_refusal[2]) if scenario_refusal and scenario_refusal[2] else [],
    }
    status = refusal[0] if refusal is not None else scenario_refusal[0] if scenario_refusal is not None else 200
    return render(request, "strategists/editor.html", context, current="strategies", status_code=status)


def _simulation_formats(request: Request, simulated: strategy_service.Simulated | None) -> Formats | None:
    """A simulated account's money in its strategy's locale and its times in its zone."""
    if simulated is None:
        return None
    return Formats(language(request), money_locale=simulated.strategy.locale, zone_name=simulated.account.timezone)


@router.get("/strategies/new")
def new_strategy(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    from_: Annotated[str, Query(alias="from", pattern=f"({HASH})?")] = "",
) -> Response:
    """The editor, empty or holding a published version's source to start a new version from."""
    source = strategy_service.version(session, from_).source_yaml if from_ else ""
    return _editor(request, source=source)


async def _draft(
    request: Request, session: Session, source: str, scenario: str, upload: UploadFile | None
) -> tuple[str, Compiled, StrategyVersion | None] | Response:
    """The draft's text, compiled, and its published version if any; or the editor showing why it
    does not compile."""
    text = source
    try:
        text = await _text_of(upload, source)
        compiled = strategy_service.compile_source(text)
    except ServiceError as exc:
        return _editor(request, source=text, scenario=scenario, refusal=_refusal(exc))
    return text, compiled, versions.by_hash(session, compiled.strategy.hash)


@router.post("/strategies/validate")
async def validate_strategy(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    source: SourceForm = "",
    scenario: ScenarioForm = EXAMPLE_SCENARIO,
    upload: UploadFile | None = None,
) -> Response:
    """POST /strategies/validate: the summary, or every error beside its line."""
    draft = await _draft(request, session, source, scenario, upload)
    if isinstance(draft, Response):
        return draft
    text, compiled, published = draft
    return _editor(request, source=text, scenario=scenario, compiled=compiled, published=published)


@router.post("/strategies/simulate")
async def simulate_draft(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    now: NowDep,
    source: SourceForm = "",
    scenario: ScenarioForm = "",
    upload: UploadFile | None = None,
) -> Response:
    """POST /strategies/{hash}/simulate, for the source being edited (published or not)."""
    draft = await _draft(request, session, source, scenario, upload)
    if isinstance(draft, Response):
        return draft
    text, compiled, published = draft
    simulated: strategy_service.Simulated | None = None
    refusal: Refused | None = None
    try:
        simulated = strategy_service.simulate(compiled.strategy, strategy_service.read_scenario(scenario), now)
    except ServiceError as exc:
        refusal = _refusal(exc)
    return _editor(
        request,
        source=text,
        scenario=scenario,
        compiled=compiled,
        published=published,
        simulated=simulated,
        scenario_refusal=refusal,
    )


@router.post("/strategies/publish")
async def publish_strategy(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    source: SourceForm = "",
    scenario: ScenarioForm = EXAMPLE_SCENARIO,
    upload: UploadFile | None = None,
) -> Response:
    """POST /strategies: an immutable version (the same content again is the same version)."""
    text = source
    try:
        text = await _text_of(upload, source)
        row, created = strategy_service.publish(session, text, principal.subject)
    except ServiceError as exc:
        return _editor(request, source=text, scenario=scenario, refusal=_refusal(exc))
    done = "published" if created else "already"
    return RedirectResponse(f"/console/strategies/{row.hash}?done={done}", status_code=303)


def _version_page(
    request: Request,
    session: Session,
    principal: Principal,
    row: StrategyVersion,
    *,
    done: str | None = None,
    scenario: str = EXAMPLE_SCENARIO,
    simulated: strategy_service.Simulated | None = None,
    scenario_refusal: Refused | None = None,
    analysis: whatif.WhatIf | None = None,
    analysis_refusal: Refused | None = None,
) -> Response:
    every = list(reversed(versions.list_versions(session, strategy_id=None, after=None, limit=500)[:500]))
    context = {
        "version": row,
        "strategy": CompiledStrategy.model_validate(row.compiled_json),
        "lines": _lines(row.source_yaml, []),
        "others": [v for v in every if v.hash != row.hash],
        "can_write": admits(principal, STRATEGISTS),
        "done": done,
        "scenario": scenario,
        "simulated": simulated,
        "sim_fmt": _simulation_formats(request, simulated),
        "scenario_refusal": scenario_refusal,
        "scenario_lines": _lines(scenario, scenario_refusal[2]) if scenario_refusal and scenario_refusal[2] else [],
        "analysis": analysis,
        "analysis_chart": _recovery_chart(analysis) if analysis is not None else None,
        "analysis_refusal": analysis_refusal,
        "max_whatif_accounts": whatif.MAX_API_ACCOUNTS,
    }
    refusal = scenario_refusal or analysis_refusal
    status = refusal[0] if refusal is not None else 200
    return render(request, "strategists/version.html", context, current="strategies", status_code=status)


@router.get("/strategies/diff")
def diff_versions(
    request: Request,
    session: SessionDep,
    principal: Planner,
    from_: Annotated[str, Query(alias="from", pattern=HASH)],
    to: Annotated[str, Query(pattern=HASH)],
) -> Response:
    """GET /strategies/{hash}/diff/{other}: what changed, step by step and line by line."""
    old, new = strategy_service.version(session, from_), strategy_service.version(session, to)
    context = {"old": old, "new": new, "diff": strategy_service.diff(old, new)}
    return render(request, "strategists/diff.html", context, current="strategies")


@router.get("/strategies/{strategy_hash}")
def version_page(
    request: Request,
    session: SessionDep,
    principal: Planner,
    strategy_hash: HashPath,
    done: DoneQuery = None,
) -> Response:
    return _version_page(request, session, principal, strategy_service.version(session, strategy_hash), done=done)


@router.post("/strategies/{strategy_hash}/simulate")
def simulate_version(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    now: NowDep,
    strategy_hash: HashPath,
    scenario: ScenarioForm = "",
) -> Response:
    """POST /strategies/{hash}/simulate."""
    row = strategy_service.version(session, strategy_hash)
    strategy = CompiledStrategy.model_validate(row.compiled_json)
    try:
        simulated = strategy_service.simulate(strategy, strategy_service.read_scenario(scenario), now)
    except ServiceError as exc:
        return _version_page(request, session, principal, row, scenario=scenario, scenario_refusal=_refusal(exc))
    return _version_page(request, session, principal, row, scenario=scenario, simulated=simulated)


@router.post("/strategies/{strategy_hash}/what-if")
def what_if_version(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Strategist,
    now: NowDep,
    strategy_hash: HashPath,
    accounts: Annotated[int, Form(ge=1, le=whatif.MAX_API_ACCOUNTS)] = 1_000,
    days: Annotated[int, Form(ge=1, le=730)] = 120,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 1,
    compare_with: Annotated[str, Form(pattern=f"({HASH[1:-1]})?")] = "",
) -> Response:
    """POST /strategies/{hash}/what-if: many synthetic accounts beside no contact (and beside
    another version), the recovery curves drawn."""
    row = strategy_service.version(session, strategy_hash)
    asked = whatif.Request(
        accounts=accounts,
        days=days,
        seed=seed,
        start=None,
        portfolio=None,
        accounts_csv=None,
        compare_with=compare_with or None,
        baseline=True,
    )
    try:
        analysis = whatif.for_version(session, strategy_hash, asked, now, settings.channel_costs)
    except ServiceError as exc:
        return _version_page(request, session, principal, row, analysis_refusal=_refusal(exc))
    return _version_page(request, session, principal, row, analysis=analysis)


def _recovery_chart(analysis: whatif.WhatIf) -> Markup:
    """The arms' recovery curves as an inline SVG (simulator/report.py escapes every label)."""
    arms = [a for a in (analysis.strategy, analysis.other, analysis.baseline) if a is not None]
    series = [(arm.label, [(p.day, float(p.share or 0)) for p in arm.overall.recovery_curve]) for arm in arms]
    return Markup(recovery_svg(series, analysis.days, "recovery"))


# ---- campaigns -------------------------------------------------------------------------------------


def _campaign_rows(session: Session) -> list[tuple[Campaign, campaign_repo.Progress]]:
    found = campaign_repo.list_campaigns(session, status=None, offset=0, limit=200)[:200]
    return [(c, campaign_repo.progress(session, c.id)) for c in found]


@router.get("/campaigns")
def campaign_list(request: Request, session: SessionDep, principal: Planner, done: DoneQuery = None) -> Response:
    """GET /campaigns, with each campaign's launch progress."""
    context = {"rows": _campaign_rows(session), "can_write": admits(principal, STRATEGISTS), "done": done}
    return render(request, "strategists/campaigns.html", context, current="campaigns")


def _new_campaign_page(
    request: Request, session: Session, values: dict[str, str], refusal: Refused | None = None
) -> Response:
    every = list(reversed(versions.list_versions(session, strategy_id=None, after=None, limit=500)[:500]))
    context = {"versions": every, "values": values, "refusal": refusal}
    status = refusal[0] if refusal is not None else 200
    return render(request, "strategists/campaign_new.html", context, current="campaigns", status_code=status)


@router.get("/campaigns/new")
def new_campaign(
    request: Request, session: SessionDep, principal: Strategist, strategy_hash: HashQuery = ""
) -> Response:
    return _new_campaign_page(request, session, {"strategy_hash": strategy_hash})


@router.post("/campaigns")
def create_campaign(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    name: Annotated[str, Form(max_length=200)] = "",
    strategy_hash: Annotated[str, Form(max_length=64)] = "",
    creditor_name: Annotated[str, Form(max_length=200)] = "",
    campaign_id: Annotated[str, Form(max_length=64)] = "",
    creditor_phone: Annotated[str, Form(max_length=40)] = "",
    creditor_email: Annotated[str, Form(max_length=254)] = "",
    payment_link_base: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """POST /campaigns: the API's body rules (CampaignCreate), then the service's."""
    values = {
        "name": name,
        "strategy_hash": strategy_hash,
        "creditor_name": creditor_name,
        "campaign_id": campaign_id,
        "creditor_phone": creditor_phone,
        "creditor_email": creditor_email,
        "payment_link_base": payment_link_base,
    }
    try:
        body = CampaignCreate.model_validate(
            {
                "id": campaign_id.strip() or None,
                "name": name,
                "strategy_hash": strategy_hash,
                "creditor_name": creditor_name,
                "creditor_phone": creditor_phone.strip() or None,
                "creditor_email": creditor_email.strip() or None,
                "payment_link_base": payment_link_base.strip() or None,
            }
        )
    except ValidationError as exc:
        fields = [Field("/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        return _new_campaign_page(request, session, values, (422, "The request does not match its schema.", fields))
    try:
        campaign = campaign_service.create(session, principal.subject, body)
    except ServiceError as exc:
        return _new_campaign_page(request, session, values, _refusal(exc))
    return RedirectResponse(f"/console/campaigns/{campaign.id}?done=created", status_code=303)


def _launch_context(session: Session, campaign: Campaign) -> dict[str, Any]:
    progress = campaign_repo.progress(session, campaign.id)
    return {"campaign": campaign, "progress": progress, "polling": campaign.launch_status == "running"}


def _campaign_page(
    request: Request,
    session: Session,
    principal: Principal,
    campaign: Campaign,
    *,
    done: str | None = None,
    report: campaign_service.ImportReport | None = None,
    refusal: Refused | None = None,
    notify_refused: NotifyRefused | None = None,
) -> Response:
    every = list(reversed(versions.list_versions(session, strategy_id=None, after=None, limit=500)[:500]))
    current = versions.by_hash(session, campaign.strategy_hash)
    currency = current.compiled_json.get("currency") if current is not None else None
    context = {
        **_launch_context(session, campaign),
        "strategy": current,
        "versions": [
            v for v in every if v.compiled_json.get("currency") == currency and v.hash != campaign.strategy_hash
        ],
        "can_write": admits(principal, STRATEGISTS),
        "can_move": admits(principal, STEERERS),
        "done": done,
        "report": report,
        "refusal": refusal,
        # Whether a secret exists and when it was made; the secret itself only on the page that made it.
        "notify": campaign_notify.config_of(campaign),
        "notify_refused": notify_refused,
        "notify_reasons": labels.NOTIFY_REFUSED,
    }
    status = refusal[0] if refusal is not None else 422 if notify_refused is not None else 200
    return render(request, "strategists/campaign.html", context, current="campaigns", status_code=status)


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    request: Request, session: SessionDep, principal: Planner, campaign_id: CampaignPath, done: DoneQuery = None
) -> Response:
    return _campaign_page(request, session, principal, campaign_service.get(session, campaign_id), done=done)


@router.get("/campaigns/{campaign_id}/launch")
def launch_progress(request: Request, session: SessionDep, principal: Planner, campaign_id: CampaignPath) -> Response:
    """The launch's progress bar alone: the campaign page polls it (HTMX) while workflows start."""
    campaign = campaign_service.get(session, campaign_id)
    return render(request, "strategists/_launch.html", _launch_context(session, campaign))


@router.post("/campaigns/{campaign_id}/accounts")
async def import_accounts(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    now: NowDep,
    campaign_id: CampaignPath,
    upload: UploadFile,
) -> Response:
    """POST /campaigns/{id}/accounts: the file (CSV, or JSON by its name or type), then the row report."""
    campaign = campaign_service.get(session, campaign_id)
    data = await upload.read()
    name = (upload.filename or "").lower()
    kind: Literal["csv", "json"] = (
        "json" if name.endswith(".json") or upload.content_type == "application/json" else "csv"
    )
    try:
        report = campaign_service.import_accounts(session, campaign.id, kind, data, now)
    except ServiceError as exc:
        session.rollback()
        campaign = campaign_service.get(session, campaign_id)
        return _campaign_page(request, session, principal, campaign, refusal=_refusal(exc))
    return _campaign_page(request, session, principal, campaign, report=report)


def _command(
    request: Request, session: Session, principal: Principal, campaign_id: str, done: str, act: Callable[[], None]
) -> Response:
    """Run a campaign command: back to the page with `done`, or the page with the refusal."""
    try:
        act()
    except (ServiceError, ProblemError) as exc:
        session.rollback()
        campaign = campaign_service.get(session, campaign_id)
        return _campaign_page(request, session, principal, campaign, refusal=_refusal(exc))
    return RedirectResponse(f"/console/campaigns/{campaign_id}?done={done}", status_code=303)


@router.post("/campaigns/{campaign_id}/launch")
def launch(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Strategist,
    now: NowDep,
    campaign_id: CampaignPath,
) -> Response:
    """POST /campaigns/{id}/launch, with the API's default batches."""
    settings = LaunchRequest()

    def act() -> None:
        campaign_service.launch(
            session,
            temporal,
            campaign_id,
            principal.subject,
            now,
            batch_size=settings.batch_size,
            concurrency=settings.concurrency,
        )

    return _command(request, session, principal, campaign_id, "launched", act)


@router.post("/campaigns/{campaign_id}/command")
def command(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Planner,
    campaign_id: CampaignPath,
    action: Annotated[Literal["pause", "resume", "stop"], Form()],
) -> Response:
    """POST /campaigns/{id}/pause, /resume or /stop."""

    def act() -> None:
        campaign_service.command(session, temporal, campaign_id, action, principal.subject)

    return _command(request, session, principal, campaign_id, f"campaign_{action}", act)


@router.post("/campaigns/{campaign_id}/strategy")
def move(
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    principal: Steerer,
    campaign_id: CampaignPath,
    strategy_hash: Annotated[str, Form(pattern=HASH)],
    step: Annotated[str, Form(max_length=100, pattern=r"^([a-z][a-z0-9_]*)?$")] = "",
) -> Response:
    """POST /campaigns/{id}/strategy (supervisors, as in the API)."""

    def act() -> None:
        campaign_service.move(
            session, temporal, campaign_id, principal.subject, strategy_hash=strategy_hash, step=step or None
        )

    return _command(request, session, principal, campaign_id, "campaign_moved", act)


# ---- the creditor's webhook (`notify`) -------------------------------------------------------------


@dataclass(frozen=True)
class NotifyRefused:
    """A notify URL the service refused, shown beside the field with what was typed."""

    typed: str
    reason: str  # services.notify_targets.Reason: the page words it in its language
    detail: str  # the service's own words, for a reason the catalogs do not know


def _secret_page(request: Request, campaign: Campaign, config: campaign_notify.NotifyConfig, made_by: str) -> Response:
    """The one page that shows a signing secret: the answer to the POST that made it. Nothing
    stores it where a page could read it back, so this answer is not a redirect (and, as every
    console page, not cached); sending the form again makes another secret."""
    context = {"campaign": campaign, "notify": config, "made_by": made_by}
    return render(request, "strategists/notify_secret.html", context, current="campaigns")


@router.post("/campaigns/{campaign_id}/notify")
def set_notify(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Strategist,
    now: NowDep,
    secrets: SecretsDep,
    campaign_id: CampaignPath,
    url: Annotated[str, Form(max_length=2000)] = "",
    action: Annotated[Literal["save", "clear"], Form()] = "save",
) -> Response:
    """PUT /campaigns/{id}/notify: "clear" (or an empty URL) is the API's null. The first URL comes
    with its signing secret, shown once on the answer."""
    campaign = campaign_service.get(session, campaign_id)
    wanted = url.strip() if action == "save" and url.strip() else None
    try:
        config = campaign_notify.set_url(
            campaign, wanted, now, allow_private=settings.notify_allow_private_addresses, secrets=secrets
        )
    except campaign_notify.UrlRefused as exc:
        session.rollback()
        campaign = campaign_service.get(session, campaign_id)
        refused = NotifyRefused(url, exc.reason, exc.detail)
        return _campaign_page(request, session, principal, campaign, notify_refused=refused)
    if config.secret is not None:
        return _secret_page(request, campaign, config, "first_url")
    done = "notify_set" if wanted is not None else "notify_cleared"
    return RedirectResponse(f"/console/campaigns/{campaign_id}?done={done}", status_code=303)


@router.post("/campaigns/{campaign_id}/notify/secret")
def rotate_notify_secret(
    request: Request,
    session: SessionDep,
    principal: Strategist,
    now: NowDep,
    secrets: SecretsDep,
    campaign_id: CampaignPath,
) -> Response:
    """POST /campaigns/{id}/notify/secret: a new secret, shown this once."""
    campaign = campaign_service.get(session, campaign_id)
    return _secret_page(request, campaign, campaign_notify.rotate_secret(campaign, now, secrets), "rotation")
