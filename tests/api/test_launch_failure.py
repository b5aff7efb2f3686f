"""A launch that can never start an account says why on the campaign and stops, instead of
retrying forever behind `running, launched 0`: here a strategy version published before compiled
strategies were bounded, whose 3 MB description makes each workflow input too big for Temporal."""

from __future__ import annotations

from typing import Any

from api_harness import Api
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from test_campaigns import campaign, chilean, eventually, import_csv, new_campaign

from db.repositories import strategies as strategies_repo
from strategies.compiler import compile_file, content_hash
from workflows.contracts import campaign_workflow_id

BIG = 3 * 1024 * 1024


def _publish_oversized(api: Api) -> str:
    """Store a version the compiler would now refuse (as an older release published it)."""
    strategy = compile_file("strategies/cl-consumer.yaml").strategy
    strategy = strategy.model_copy(update={"description": "x" * BIG})
    strategy = strategy.model_copy(update={"hash": content_hash(strategy)})
    with api.sessions() as session:
        source = "(published before compiled strategies were bounded)"
        strategies_repo.publish(session, strategy, source_yaml=source, published_by="sofia")
        session.commit()
    return strategy.hash


async def test_an_account_too_big_to_start_fails_the_launch_with_its_reason(api: Api) -> None:
    await new_campaign(api, "too-big", strategy_hash=_publish_oversized(api))
    await import_csv(api, "too-big", [chilean(1), chilean(2)])
    response = await api.http.post("/campaigns/too-big/launch", headers=api.as_("strategist"))
    assert response.status_code == 202, response.text

    async def failed() -> dict[str, Any] | None:
        body = await campaign(api, "too-big")
        return body if body["launch"]["status"] == "failed" else None

    body = await eventually(failed, "the launch to fail")
    assert body["launch_status"] == "failed"
    assert body["launched"] == 0
    error = body["launch_error"]
    assert "cannot start" in error, error
    assert "bytes, more than the 2,097,152 Temporal accepts" in error, error
    assert "CL-00001" in error or "CL-00002" in error

    # Not retried: the batch ran once, and the campaign's workflow itself did not fail. The activity
    # records the failure on the campaign before it raises, so the history may not hold the
    # failure yet when the campaign already reads failed: wait until it does.
    handle = api.env.client.get_workflow_handle(campaign_workflow_id("too-big"))

    async def failed_tasks() -> list[Any]:
        return [
            e async for e in handle.fetch_history_events() if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
        ]

    failures = await eventually(failed_tasks, "the activity's failure in the history")
    assert len(failures) == 1
    assert failures[0].activity_task_failed_event_attributes.retry_state == 2  # RETRY_STATE_NON_RETRYABLE_FAILURE
    assert (await handle.describe()).status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED)
