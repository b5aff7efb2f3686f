"""Commands for whoever runs the product, on its own machine (they read the configured database
directly, not the API): migrate the database and seal its secrets, issue and revoke API keys,
serve the API and print its OpenAPI description."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from cli.render import err, out
from config import get_settings

# The database, Alembic and the API's modules are imported when a command here runs: at the top
# they cost every command, an agent's `tasks next` too, most of a second of start-up.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: one per person, with a role.", no_args_is_help=True)
api_app = typer.Typer(help="The HTTP API.", no_args_is_help=True)


def _sessions() -> sessionmaker[Session]:
    from db.session import make_engine, make_session_factory

    return make_session_factory(make_engine(get_settings().database_url))


@db_app.command(name="upgrade")
def db_upgrade() -> None:
    """Migrate the configured database (COLLECT_DATABASE_URL) to the latest revision.

    Example: collect db upgrade   (with e.g. COLLECT_DATABASE_URL=postgresql+psycopg://collect@db/collect)
    """
    from sqlalchemy.engine import make_url

    from db.migrate import current_revision, upgrade

    url = get_settings().database_url
    before = current_revision(url)
    upgrade(url)
    after = current_revision(url)
    where = make_url(url).render_as_string(hide_password=True)
    if before == after:
        out.print(f"{where}: already at {after}, nothing to do")
    else:
        out.print(f"{where}: migrated from {before or 'an empty database'} to {after}")


@db_app.command(name="seal-secrets")
def db_seal_secrets() -> None:
    """Seal the campaigns' webhook signing secrets under the current payload key
    (COLLECT_PAYLOAD_KEY_ID): those stored in clear by earlier versions, and those sealed under an
    older key, so that key can then be removed from COLLECT_PAYLOAD_KEYS. The secrets themselves do
    not change. Safe to run again; run it after `collect db upgrade` and after changing the current key.

    Example: collect db seal-secrets
    """
    from db.session import session_scope
    from services.campaign_notify import seal_secrets
    from services.secrets_at_rest import SealedSecretError, SecretBox

    settings = get_settings()
    box = SecretBox.from_settings(settings)
    try:
        with session_scope(_sessions()) as session:
            report = seal_secrets(session, box)
    except SealedSecretError as exc:
        err.print(f"error: nothing sealed: {exc}", markup=False)
        raise typer.Exit(1) from None
    out.print(
        f"notify secrets under key {box.current_key_id}: {report.sealed} sealed (were in clear), "
        f"{report.resealed} sealed again (were under an older key), {report.current} already sealed",
        markup=False,
    )


@keys_app.command(name="create")
def key_create(
    subject: Annotated[str, typer.Argument(help="who the key is for; an agent's id in tasks and outcomes")],
    role: Annotated[str, typer.Option(help="admin, strategist, supervisor or agent")],
    queue: Annotated[list[str] | None, typer.Option(help="an agent queue this person works (repeatable)")] = None,
) -> None:
    """Create a key and print it once; only its hash is stored.

    Example: collect api-key create ana --role agent --queue cobranza_temprana
    """
    from api.auth import issue_key
    from db.session import session_scope

    try:
        with session_scope(_sessions()) as session:
            issued = issue_key(session, subject, role, queue or [])
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    out.print(issued.key, markup=False)
    err.print(f"key {issued.prefix} for {issued.subject} ({issued.role}); it is not shown again", markup=False)


@keys_app.command(name="revoke")
def key_revoke(prefix: Annotated[str, typer.Argument(help="the key's prefix, as `api-key list` shows it")]) -> None:
    """Revoke a key; requests with it are refused from then on.

    Example: collect api-key revoke 3f9a01bc
    """
    from api.auth import revoke_key
    from db.session import session_scope

    with session_scope(_sessions()) as session:
        revoked = revoke_key(session, prefix)
    if not revoked:
        err.print(f"error: no live key with prefix {prefix}", markup=False)
        raise typer.Exit(1)
    out.print(f"revoked {prefix}")


@keys_app.command(name="list")
def key_list() -> None:
    """Every key: prefix, subject, role, queues, created, revoked.

    Example: collect api-key list
    """
    from sqlalchemy import select

    from db.models import ApiKey
    from db.session import session_scope

    table = Table("prefix", "subject", "role", "queues", "created", "revoked")
    with session_scope(_sessions()) as session:
        for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
            created = row.created_at.isoformat(timespec="seconds")
            table.add_row(row.prefix, row.subject, row.role, ",".join(row.queues), created, revoked)
    out.print(table)


@api_app.command(name="openapi")
def api_openapi() -> None:
    """Print the OpenAPI description (JSON), e.g. to generate a client.

    Example: collect api openapi > openapi.json
    """
    from api.app import create_app

    sys.stdout.write(openapi_json(create_app(get_settings())) + "\n")


def openapi_json(app: Any) -> str:
    """The app's OpenAPI description as stable, diffable JSON."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False)


@api_app.command(name="serve")
def api_serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the API with uvicorn (settings from COLLECT_* variables).

    Example: collect api serve --port 8000
    """
    import uvicorn

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port)
