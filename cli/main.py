"""`collect`: the command line for every audience. This module only assembles it; each group of
commands lives in its own module.

On this machine:
  collect up [--reset], logs [PART]                   cli/up.py           the whole product here, with a demo
  collect demo portfolio > accounts.csv               cli/demo.py         synthetic accounts for an import
  collect strategy validate | simulate | schema      cli/strategies.py   offline
  collect db upgrade | seal-secrets, api-key create | list | revoke, api serve | openapi    cli/admin.py
Over the HTTP API (`collect login` first, or COLLECT_API_URL and COLLECT_API_KEY):
  collect login, whoami                               cli/login.py
  collect strategy publish | list | diff              cli/strategies.py   strategists
  collect campaign create | list | import | launch | pause | resume | stop | status | move
                                                      cli/campaigns.py    strategists
  collect tasks next | claim | outcome | mine | reassign    cli/agents.py  agents (reassign: supervisors)
  collect account list | show | timeline | pause | resume | close    cli/accounts.py
  collect kpis CAMPAIGN, approvals list | approve | reject           cli/supervisors.py
  collect payment simulate ACCOUNT AMOUNT             cli/payments.py     a signed test payment

Every command over the API takes --json (the API's answer as it came) and --profile NAME.
"""

from __future__ import annotations

import typer

from cli import accounts, admin, agents, campaigns, login, payments, strategies, supervisors
from cli.admin import openapi_json
from cli.demo import demo_app
from cli.up import UP_HELP, logs_command, up_command
from domain.zone_rules import use_pinned_zone_rules

__all__ = ["app", "main", "openapi_json"]

app = typer.Typer(
    help="Collection campaign orchestrator: strategies, campaigns, agents' tasks, accounts and KPIs.",
    no_args_is_help=True,
)
app.command()(login.login)
app.command()(login.whoami)
app.add_typer(strategies.app, name="strategy")
app.add_typer(campaigns.app, name="campaign")
app.add_typer(agents.app, name="tasks")
app.add_typer(agents.app, name="task", hidden=True)  # `collect task reassign 42` reads better for one task
app.add_typer(accounts.app, name="account")
app.add_typer(accounts.app, name="accounts", hidden=True)  # `collect accounts list`
app.command()(supervisors.kpis)
app.add_typer(supervisors.approvals_app, name="approvals")
app.add_typer(payments.app, name="payment")
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.keys_app, name="api-key")
app.add_typer(admin.api_app, name="api")
app.command(name="up", help=UP_HELP)(up_command)
app.command(name="logs")(logs_command)
app.add_typer(demo_app, name="demo")


def main() -> None:
    use_pinned_zone_rules()  # validate, simulate and serve read the locked tzdata, not the OS's
    app()


if __name__ == "__main__":
    main()
