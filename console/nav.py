"""The console's menu: each entry names the roles that may open its page (the API's role sets,
api/auth.py), so a reader sees only what they may do. Pages for more roles add entries here."""

from __future__ import annotations

from dataclasses import dataclass

from api import auth
from api.auth import Principal
from console.i18n import N_


@dataclass(frozen=True)
class Entry:
    key: str  # marks the current page's entry
    label: str  # a catalog message, translated when shown
    path: str
    roles: tuple[str, ...]


MENU = (
    # Agents land on their workspace (supervisors may open it too: the API lets them take tasks).
    Entry("work", N_("Workspace"), "/console/work", auth.AGENTS),
    Entry("tasks", N_("My tasks"), "/console/tasks", auth.AGENTS),
    Entry("overview", N_("Overview"), "/console/overview", auth.PLANNERS),
    Entry("accounts", N_("Accounts"), "/console/accounts", auth.WORKERS),
    Entry("approvals", N_("Approvals"), "/console/approvals", auth.STEERERS),
    Entry("leaderboard", N_("Agents"), "/console/leaderboard", auth.PLANNERS),
    Entry("strategies", N_("Strategies"), "/console/strategies", auth.PLANNERS),
    Entry("campaigns", N_("Campaigns"), "/console/campaigns", auth.PLANNERS),
)


def menu_for(principal: Principal | None) -> list[Entry]:
    return [] if principal is None else [entry for entry in MENU if auth.admits(principal, entry.roles)]


def home_for(principal: Principal) -> str:
    """Where a principal lands after signing in: their first page."""
    entries = menu_for(principal)
    return entries[0].path if entries else "/console/signin"
