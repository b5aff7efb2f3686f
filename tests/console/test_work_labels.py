"""The labels of the agents' and strategists' pages cover every code those pages show: outcomes,
plan frequencies, launch statuses, the kinds of a simulated timeline's lines and the reasons a
notify URL is refused."""

from __future__ import annotations

import ast
import inspect
import typing

from console import labels
from db.models.campaigns import LAUNCH_STATUSES
from domain.strategy import Frequency
from domain.types import Outcome
from services.notify_targets import Reason
from simulator import engine


def shown() -> set[str]:
    every = (labels.STAGES, labels.STATES, labels.KINDS, labels.OUTCOMES, labels.FREQUENCIES, labels.LAUNCH)
    return set().union(*every, labels.SIMULATION)


def test_every_outcome_frequency_and_launch_status_has_a_label() -> None:
    codes = {str(o) for o in Outcome} | set(typing.get_args(Frequency)) | set(LAUNCH_STATUSES)
    assert codes - shown() == set()


def test_every_kind_of_simulated_line_has_a_label() -> None:
    # The kinds the simulator writes: the first argument after `at` of every Entry(...) it builds.
    kinds = {
        node.args[1].value
        for node in ast.walk(ast.parse(inspect.getsource(engine)))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "Entry"
        and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
    }
    assert "send" in kinds  # the walk found the calls
    assert kinds - shown() == set()


def test_every_reason_a_notify_url_is_refused_has_a_message() -> None:
    assert set(typing.get_args(Reason)) == set(labels.NOTIFY_REFUSED)
