"""Copies of the interpreter's pydantic models, on its hot path.

A what-if analysis runs a million accounts through the interpreter, which copies the account
state at every turn and its counters at every contact. Pydantic's `model_copy` is generic (it
takes twice as long on the counters); `copied` does the same for the interpreter's own, already
valid values. It keeps pydantic's bookkeeping (the fields set, extra and private values), so a
copy is equal to, dumps like and behaves like `model_copy`'s (tests/domain/test_copying.py checks
that against the installed pydantic). New values are built by pydantic's own constructors: on
pydantic-core, validating a small model takes no longer than any shortcut written in Python
(measured for every model the interpreter builds, docs/benchmarks.md). The account state's fields
are set through its own `__setattr__` and `set_fields` (domain/state.py)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__
_new = object.__new__  # what pydantic's models use: BaseModel defines no __new__


def copied(model: M, **changes: Any) -> M:
    """A shallow copy of `model` with `changes` applied, as `model.model_copy(update=changes)`
    (no validation: the interpreter hands in values of the fields' own types). Works on frozen
    models too: the copy is new, so nothing shared changes."""
    new = _new(model.__class__)
    values = new.__dict__  # the new instance's own, empty: filled in place, not replaced
    values.update(model.__dict__)
    fields_set = model.__pydantic_fields_set__.copy()
    if changes:
        values.update(changes)
        fields_set.update(changes)
    _set(new, "__pydantic_fields_set__", fields_set)
    extra = model.__pydantic_extra__
    _set(new, "__pydantic_extra__", None if extra is None else extra.copy())
    private = model.__pydantic_private__
    _set(new, "__pydantic_private__", None if private is None else private.copy())
    return new
