"""`collect payment simulate`: send the API a test payment as a payment provider would, through its
signed webhook (POST /webhooks/payments/{provider}, HMAC-SHA256 over
"<timestamp>.<provider>.<raw body>" under that provider's secret, api/signatures.py). The secret
is the API's own, read from COLLECT_PAYMENT_WEBHOOK_SECRETS (or, beside a `collect up` stack, from
its data folder's payments.json), so this works only where that secret is known: a demo or test
stack, not someone else's production."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import SecretStr

from cli import render
from cli.money import BadAmount, currency_of, to_minor_units
from cli.options import JsonOpt, ProfileOpt, connected, usage
from config import Settings

app = typer.Typer(help="Payments: send a signed test payment.", no_args_is_help=True)


def _provider(settings: Settings, chosen: str | None, secret: str | None) -> tuple[str, str]:
    """The provider to sign as, and its secret: --secret (with --provider), else the API's settings."""
    if secret is not None:
        if chosen is None:
            raise usage("--secret needs --provider: the provider's name is part of what is signed")
        return chosen, secret
    secrets = settings.payment_webhook_secrets or _local_stack_secrets(settings)
    if not secrets:
        raise usage(
            "no payment provider secret is configured: set COLLECT_PAYMENT_WEBHOOK_SECRETS to the API's "
            '(e.g. {"demo": "..."}), or run this beside the `collect up` whose data folder holds payments.json'
        )
    if chosen is None:
        if len(secrets) > 1:
            raise usage(f"several providers are configured ({', '.join(sorted(secrets))}); choose one with --provider")
        chosen = next(iter(secrets))
    if chosen not in secrets:
        raise usage(
            f"no secret for provider {chosen!r} in COLLECT_PAYMENT_WEBHOOK_SECRETS ({', '.join(sorted(secrets))})"
        )
    return chosen, secrets[chosen].get_secret_value()


def _local_stack_secrets(settings: Settings) -> dict[str, SecretStr]:
    """The `demo` provider of the `collect up` stack whose data folder is here (COLLECT_DATA_DIR)."""
    from stack.data_dir import DataDir  # here: most commands never need it

    try:
        stored = DataDir.at(settings.data_dir).stored_payment_secrets()
    except (OSError, RuntimeError):  # unreadable or not JSON: as if there were none
        return {}
    return {name: SecretStr(value) for name, value in stored.items()}


@app.command()
def simulate(
    account: Annotated[int, typer.Argument(help="the account's id (as lists show it)", show_default=False, min=1)],
    amount: Annotated[str, typer.Argument(help="major units, e.g. 50000 or '1500.50 USD'", show_default=False)],
    provider: Annotated[
        str | None, typer.Option(help="which provider's secret signs it (default: the only one)")
    ] = None,
    paid_at: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"], help="default: now")
    ] = None,
    payment_id: Annotated[str | None, typer.Option(help="the provider's payment id (default: a new one)")] = None,
    secret: Annotated[
        str | None, typer.Option(help="the provider's webhook secret (default: from COLLECT_PAYMENT_WEBHOOK_SECRETS)")
    ] = None,
    as_json: JsonOpt = False,
    profile: ProfileOpt = None,
) -> None:
    """Pay an account: a payment provider's signed webhook, as the provider would send it.

    Example: collect payment simulate 42 50000
    """
    # Here, not at the top: the API's modules would cost every command a quarter second of start-up.
    from domain.signing import HMAC_SIGNATURE, HMAC_TIMESTAMP, hmac_signature

    name, key = _provider(Settings(), provider, secret)
    moment = (paid_at or datetime.now(UTC)).astimezone(UTC)
    with connected(profile, as_json=as_json, need_key=currency_of(amount) is None) as api:
        currency = currency_of(amount) or api.get(f"/accounts/{account}")["account"]["currency"]
        try:
            minor = to_minor_units(amount, currency)
        except BadAmount as exc:
            raise usage(str(exc)) from None
        event = f"sim-{uuid.uuid4().hex}"
        body = json.dumps(
            {
                "event_id": event,
                "account_id": account,
                "provider_payment_id": payment_id or event,
                "amount": minor,
                "currency": currency,
                "paid_at": moment.isoformat(),
            }
        ).encode()
        stamp = str(int(time.time()))  # the webhook checks freshness against the machine's clock
        headers = {
            HMAC_SIGNATURE: hmac_signature(key, stamp, name, body),
            HMAC_TIMESTAMP: stamp,
            "Content-Type": "application/json",
        }
        ack = api.post(f"/webhooks/payments/{name}", content=body, headers=headers)
    if as_json:
        render.print_json(ack)
        return
    where = f", allocated to {ack['allocated_to']}" if ack.get("allocated_to") else ""
    told = (
        "the account's workflow has it"
        if ack["delivered"]
        else "recorded; the worker delivers it to the workflow later"
    )
    render.say(
        f"payment {ack['status']} (#{ack['payment_id']}, {name}): {render.money(minor, currency)} on account {account}"
        f"{where}; {told}"
    )
