"""`collect demo portfolio`: a synthetic account file for the API's import (stack/portfolio.py)."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)

ZONES = {"CL": "America/Santiago", "CO": "America/Bogota", "MX": "America/Mexico_City", "US": "America/New_York"}


@demo_app.command(name="portfolio")
def portfolio_command(
    accounts: Annotated[int, typer.Option(min=1, max=1_000_000, help="how many accounts")] = 300,
    country: Annotated[str, typer.Option(help=f"one of {', '.join(ZONES)}")] = "CL",
    seed: Annotated[int, typer.Option(help="the same seed (and day) gives the same file")] = 1,
    today: Annotated[
        str | None, typer.Option(help="the day arrears count to, YYYY-MM-DD (default: today in the country)")
    ] = None,
) -> None:
    """Write a CSV of synthetic overdue accounts that POST /campaigns/{id}/accounts imports as it
    is: Faker's people of the country, national ids (RUT with its check digit), valid mobile
    numbers, balances in the local currency, mixed arrears and risk scores, some without email
    and a few without consent. Emails use example.com domains; the phone numbers are valid and
    may be someone's, so import them only where channels are sandboxed.

    Example:

        collect demo portfolio --accounts 500 --country CL --seed 7 > accounts.csv
    """
    from stack import portfolio  # here: Faker and the import's checks cost every other command a second

    code = country.upper()
    if code not in portfolio.COUNTRIES:
        typer.echo(f"error: unknown country {country!r}; expected one of {', '.join(portfolio.COUNTRIES)}", err=True)
        raise typer.Exit(2)
    try:
        day = date.fromisoformat(today) if today else datetime.now(ZoneInfo(ZONES[code])).date()
    except ValueError:
        typer.echo(f"error: --today {today!r} is not a date like 2026-11-30", err=True)
        raise typer.Exit(2) from None
    sys.stdout.write(portfolio.to_csv(portfolio.generate(accounts, code, seed, day)))
