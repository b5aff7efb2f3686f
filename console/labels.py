"""The words the console shows for the product's codes (stages, statuses, holds, roles, timeline
kinds...), marked for the catalogs here because the codes themselves come from the database and
the workflows. Templates show `_(code)`: a code listed here reads in the page's language, any
other code as itself. tests/console/test_catalogs.py checks the lists still cover the codes."""

from __future__ import annotations

from console.i18n import N_

ROLES = {
    "admin": N_("admin"),
    "supervisor": N_("supervisor"),
    "strategist": N_("strategist"),
    "agent": N_("agent"),
}

# Stages (domain.types.Stage) and the funnel's first row.
STAGES = (
    N_("not_launched"),
    N_("outreach"),
    N_("contact"),
    N_("commitment"),
    N_("payment"),
    N_("legal"),
    N_("hold"),
    N_("closed"),
)
# Campaign, task and account states; holds and resolutions; what a workflow waits for; the live
# panel's status when there is no live state.
STATES = (
    N_("draft"),
    N_("running"),
    N_("paused"),
    N_("stopped"),
    N_("open"),
    N_("claimed"),
    N_("done"),
    N_("expired"),
    N_("cancelled"),
    N_("dispute"),
    N_("error"),
    N_("paid"),
    N_("settled"),
    N_("written_off"),
    N_("opted_out"),
    N_("closed_by_supervisor"),
    N_("timer"),
    N_("policy"),
    N_("approval"),
    N_("payment_check"),
    N_("not_running"),
    N_("unavailable"),
)
# Past-due buckets (db/repositories/accounts.DPD_BUCKETS and the roll rates' buckets).
BUCKETS = (N_("current"), N_("1-29"), N_("30-59"), N_("60-89"), N_("90+"))
# Timeline entry kinds (db/repositories/timeline.py).
KINDS = (
    N_("communication"),
    N_("message_event"),
    N_("task"),
    N_("task_expired"),
    N_("outcome"),
    N_("promise"),
    N_("promise_settled"),
    N_("offer_expired"),
    N_("overpaid"),
    N_("refund"),
    N_("plan"),
    N_("fee"),
    N_("interest"),
    N_("note"),
    N_("approval_requested"),
    N_("approval_decided"),
    N_("legal_referral"),
    N_("notification"),
)
# Error page titles (api/errors.TITLES) for the statuses console pages answer with.
TITLES = (
    N_("Bad request"),
    N_("Not authenticated"),
    N_("Forbidden"),
    N_("Not found"),
    N_("Method not allowed"),
    N_("Conflict"),
    N_("Unprocessable content"),
    N_("Service unavailable"),
    N_("Error"),
)
# What agents record after a call (domain.types.Outcome), and plan frequencies.
OUTCOMES = (
    N_("right_party_contact"),
    N_("no_answer"),
    N_("wrong_party"),
    N_("promise_to_pay"),
    N_("payment_plan"),
    N_("dispute"),
    N_("refusal"),
    N_("hardship"),
    N_("callback_requested"),
)
FREQUENCIES = (N_("weekly"), N_("biweekly"), N_("monthly"))
# A campaign's launch (db/models/campaigns.LAUNCH_STATUSES; running and done are in STATES).
LAUNCH = (N_("not_started"), N_("failed"))
# What a simulated timeline's lines are (simulator/engine.Entry.kind).
# (task, fee, approval, legal, closed, error and stopped are in the lists above.)
SIMULATION = (N_("send"), N_("call"), N_("blocked"), N_("event"), N_("rejected"))
# What a steering form did, shown on the page it returns to (`?done=`).
DONE = {
    "paused": N_("Pause sent: the account holds as soon as its workflow takes it."),
    "resumed": N_("Resume sent: the account continues as soon as its workflow takes it."),
    "closed": N_("Close sent: the account's workflow ends."),
    "moved": N_("The account continues under the chosen strategy version."),
    "approved": N_("Approved."),
    "rejected": N_("Rejected."),
    "reassigned": N_("Task reassigned."),
    "refunded": N_("Refund recorded: what is owed back went down by its amount."),
    # The agents' workspace.
    "claimed": N_("The task is yours."),
    "nothing": N_("No open task is waiting in your queues."),
    "outcome": N_("Outcome recorded: the account has moved on."),
    "promise": N_("Promise recorded."),
    "plan": N_("Plan agreed."),
    "note": N_("Note saved."),
    # The strategists' pages.
    "published": N_("Published: this version is now available to campaigns."),
    "already": N_("This content was already published: here is that version."),
    "created": N_("Campaign created. Import its accounts, then launch it."),
    "launched": N_("Launch sent: the bar fills as workflows start."),
    "campaign_pause": N_("Pause sent: every account of the campaign holds."),
    "campaign_resume": N_("Resume sent: the campaign's accounts continue."),
    "campaign_stop": N_("Stop sent: the campaign's accounts are closed."),
    "campaign_moved": N_("Move sent: launched accounts move to the new version at their next safe point."),
    "notify_set": N_("Notify URL saved: webhooks go there, signed with the secret already made."),
    "notify_cleared": N_("Notify URL removed: each notify is now recorded as not sent."),
}
# Why a notify URL is refused (services/notify_targets.Reason), beside the URL field.
NOTIFY_REFUSED = {
    "format": N_("Enter an http(s) URL such as https://hooks.example.com/collect, with no spaces."),
    "credentials": N_(
        "The URL must not carry a user or password (user:password@): receivers check the signature instead."
    ),
    "fragment": N_("The URL must not have a #fragment: it is never sent."),
    "this_machine": N_("That host is this machine: webhooks go to the creditor's public systems."),
    "not_public": N_(
        "That address is not public (loopback, private, link-local or reserved): webhooks go to the creditor's "
        "public systems."
    ),
    "unresolved": N_("That host name does not resolve."),
}
