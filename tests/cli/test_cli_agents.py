"""`collect tasks next | claim | outcome | mine | reassign` and `collect account timeline` against
the live API, as agents of a queue of their own (so no other test's task comes first)."""

from __future__ import annotations

import json

import pytest
from cli_stack import Collect, Desk, Stack, open_desk, suite_day


@pytest.fixture(scope="module")
def worked(stack: Stack) -> Desk:
    """Three calls, one for each test that works one: a promise, a plan, a reassignment."""
    return open_desk(stack, [150_000, 900_000, 400_000])


@pytest.fixture
def desk(stack: Stack) -> Desk:
    """Two calls for this test alone (it takes them all)."""
    return open_desk(stack, [150_000, 900_000])


class TestNext:
    def test_the_next_task_with_its_account_score_and_outcomes(
        self, collect: Collect, stack: Stack, shared: Desk
    ) -> None:
        result = collect("tasks", "next", as_=shared.agent)
        assert result.exit_code == 0, result.output
        task = stack.task_of(shared.account(2))  # the larger balance scores first
        assert result.stdout.startswith(f"task {task['id']} (llamada, queue {shared.campaign.queue}, open)")
        assert f"{shared.campaign.id}-2" in result.stdout
        assert "CLP 900,000" in result.stdout
        assert "Ana Pérez" in result.stdout
        assert "CLP 225,000" in result.stdout  # score: 900,000 x 50% x 50%
        assert "50.00%" in result.stdout
        assert "allowed outcomes: " in result.stdout
        assert "promise_to_pay" in result.stdout
        assert f"claim it: collect tasks claim {task['id']}" in result.stderr

    def test_json_and_an_empty_queue(self, collect: Collect, stack: Stack, shared: Desk) -> None:
        task = json.loads(collect("tasks", "next", "--json", as_=shared.agent).stdout)
        assert (task["account_id"], task["score"]["score"]) == (shared.account(2), 225_000)
        idle = stack.key("ana", "agent", [stack.unique("empty")])
        assert collect("tasks", "next", as_=idle).stdout.strip() == "nothing waits in your queues"
        assert collect("tasks", "next", "--json", as_=idle).stdout.strip() == "null"

    def test_a_bad_queue_and_a_strategist(self, collect: Collect, shared: Desk) -> None:
        bad = collect("tasks", "next", "--queue", "", as_=shared.agent)
        assert bad.exit_code == 1
        assert "422 Unprocessable content" in bad.stderr
        assert "/query/queue:" in bad.stderr
        assert collect("tasks", "next").exit_code == 1  # a strategist has no queue


class TestClaim:
    def test_claim_by_id_and_the_next(self, collect: Collect, stack: Stack, desk: Desk) -> None:
        first = stack.task_of(desk.account(1))
        claimed = collect("tasks", "claim", str(first["id"]), as_=desk.agent)
        assert claimed.exit_code == 0, claimed.output
        assert claimed.stdout.startswith(
            f"claimed task {first['id']} (llamada, queue {desk.campaign.queue}, claimed, {desk.name})"
        )
        following = collect("tasks", "claim", "--next", "--json", as_=desk.agent)
        assert following.exit_code == 0, following.output
        assert json.loads(following.stdout)["account_id"] == desk.account(2)
        none_left = collect("tasks", "claim", "--next", as_=desk.agent)
        assert none_left.exit_code == 1
        assert "404 Not found: No open task is waiting in your queues." in none_left.stderr

    def test_an_unknown_task_and_both_forms(self, collect: Collect, shared: Desk) -> None:
        unknown = collect("tasks", "claim", "999999", as_=shared.agent)
        assert unknown.exit_code == 1
        assert "404 Not found: Task 999999 does not exist or is not in your queues." in unknown.stderr
        both = collect("tasks", "claim", "5", "--next", as_=shared.agent)
        assert both.exit_code == 2
        assert "give a task id or --next" in both.stderr


class TestOutcome:
    def test_a_promise_recorded_and_the_account_moves_on(self, collect: Collect, stack: Stack, worked: Desk) -> None:
        task = stack.task_of(worked.account(1))
        due = suite_day(5).isoformat()
        result = collect(
            "tasks",
            "outcome",
            str(task["id"]),
            "promise_to_pay",
            "--promise",
            f"50000@{due}",
            "--note",
            "paga el viernes",
            as_=worked.agent,
        )
        assert result.exit_code == 0, result.output
        assert f"task {task['id']}: promise_to_pay recorded; the task is done" in result.stdout
        assert "commitment / promesa" in result.stdout
        assert f"CLP 50,000 due {due}" in result.stdout
        timeline = collect("account", "timeline", str(worked.account(1)), as_=worked.agent)
        assert timeline.exit_code == 0, timeline.output
        assert "promise" in timeline.stdout
        entries = json.loads(collect("account", "timeline", str(worked.account(1)), "--json", as_=worked.agent).stdout)
        assert "outcome" in {e["kind"] for e in entries["entries"]}

    def test_json_of_an_outcome_and_a_plan(self, collect: Collect, stack: Stack, worked: Desk) -> None:
        task = stack.task_of(worked.account(2))
        result = collect(
            "tasks",
            "outcome",
            str(task["id"]),
            "payment_plan",
            "--plan",
            f"3@{suite_day(10)}",
            "--down-payment",
            "90000 CLP",
            "--json",
            as_=worked.agent,
        )
        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        # The down payment is the plan's first installment: 1 + 3.
        assert (answer["task"]["status"], answer["account"]["step"], answer["account"]["plan_installments"]) == (
            "done",
            "plan",
            4,
        )

    def test_bad_terms_are_refused_before_or_by_the_api(self, collect: Collect, stack: Stack, shared: Desk) -> None:
        task = str(stack.task_of(shared.account(1))["id"])
        grouped = collect(
            "tasks", "outcome", task, "promise_to_pay", "--promise", f"50.000@{suite_day(5)}", as_=shared.agent
        )
        assert grouped.exit_code == 2
        assert "write CLP amounts without thousands separators, like 50000" in grouped.stderr
        past = collect(
            "tasks", "outcome", task, "promise_to_pay", "--promise", f"50000@{suite_day(-1)}", as_=shared.agent
        )
        assert past.exit_code == 1
        assert "/body/promise/due: " in past.stderr
        assert "is not after today" in past.stderr
        unknown = collect("tasks", "outcome", task, "maybe_later", as_=shared.agent)
        assert unknown.exit_code == 1
        assert "/body/code:" in unknown.stderr
        assert collect("account", "timeline", "999999", as_=shared.agent).exit_code == 1


class TestMine:
    def test_my_tasks_in_a_table_with_paging(self, collect: Collect, stack: Stack, desk: Desk) -> None:
        assert collect("tasks", "claim", "--next", as_=desk.agent).exit_code == 0
        result = collect("tasks", "mine", "--limit", "1", as_=desk.agent)
        assert result.exit_code == 0, result.output
        assert "more: collect tasks mine --limit 1 --cursor " in result.stderr
        claimed = json.loads(collect("tasks", "mine", "--status", "claimed", "--json", as_=desk.agent).stdout)
        assert [t["account_id"] for t in claimed["items"]] == [desk.account(2)]
        bad = collect("tasks", "mine", "--status", "done", as_=desk.agent)
        assert bad.exit_code == 1
        assert "/query/status:" in bad.stderr


class TestReassign:
    def test_a_supervisor_gives_a_task_to_another_agent(self, collect: Collect, stack: Stack, worked: Desk) -> None:
        stack.key("beto", "agent", [worked.campaign.queue])
        task = stack.task_of(worked.account(3))
        result = collect("task", "reassign", str(task["id"]), "--agent", "beto", as_="supervisor")
        assert result.exit_code == 0, result.output
        assert f"reassigned task {task['id']} (llamada, queue {worked.campaign.queue}, open, beto)" in result.stdout
        released = collect("tasks", "reassign", str(task["id"]), "--release", "--json", as_="supervisor")
        assert json.loads(released.stdout)["assigned_agent"] is None

    def test_an_unknown_agent_and_nothing_to_do(self, collect: Collect, stack: Stack, shared: Desk) -> None:
        task = str(stack.task_of(shared.account(1))["id"])
        unknown = collect("task", "reassign", task, "--agent", "nadie", as_="supervisor")
        assert unknown.exit_code == 1
        assert "422 Unprocessable content: No agent is called nadie." in unknown.stderr
        assert "/body/agent: not the subject of a live agent key" in unknown.stderr
        assert collect("task", "reassign", task, as_="supervisor").exit_code == 2
        assert collect("task", "reassign", task, "--agent", "beto", as_=shared.agent).exit_code == 1
