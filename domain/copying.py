"""Copies and constructions of the interpreter's pydantic models, on its hot path.

A what-if analysis runs a million accounts through the interpreter, which copies the account
state at every turn and makes a wait or a ledger entry at most steps. Pydantic's `model_copy` and
validating constructor are generic (about 5 and 3 microseconds); these do the same for the
interpreter's own, already valid values in a third of the time. (The account state's fields are
set through its own `__setattr__`, domain/state.py.) They keep pydantic's bookkeeping (the fields
set, extra and private values), so a copy is equal to, dumps like and behaves like `model_copy`'s
(tests/domain/test_copying.py checks that against the installed pydantic)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__


def copied(model: M, **changes: Any) -> M:
    """A shallow copy of `model` with `changes` applied, as `model.model_copy(update=changes)`
    (no validation: the interpreter hands in values of the fields' own types). Works on frozen
    models too: the copy is new, so nothing shared changes."""
    new = model.__class__.__new__(model.__class__)
    values = model.__dict__.copy()
    fields_set = model.__pydantic_fields_set__.copy()
    if changes:
        values.update(changes)
        fields_set.update(changes)
    _set(new, "__dict__", values)
    _set(new, "__pydantic_fields_set__", fields_set)
    extra = model.__pydantic_extra__
    _set(new, "__pydantic_extra__", None if extra is None else extra.copy())
    private = model.__pydantic_private__
    _set(new, "__pydantic_private__", None if private is None else private.copy())
    return new


# Per model: every field in pydantic's order with its default (None for a required field, which
# `built` must be given, and for a field with a default factory), the required fields' names, and
# the default factories (field name, factory taking no argument).
_Template = tuple[dict[str, Any], frozenset[str], tuple[tuple[str, Any], ...]]
_TEMPLATES: dict[type[BaseModel], _Template] = {}


def _template(cls: type[BaseModel]) -> _Template:
    """A model whose construction needs more than its fields' defaults (a validator, private
    attributes, a default factory that reads the other fields) is refused, to be built by pydantic."""
    found = _TEMPLATES.get(cls)
    if found is None:
        decorators = cls.__pydantic_decorators__
        if cls.__private_attributes__ or decorators.model_validators or decorators.field_validators:
            raise TypeError(f"{cls.__name__} has validators or private attributes: construct it with pydantic")
        fields: dict[str, Any] = {}
        required: list[str] = []
        factories: list[tuple[str, Any]] = []
        for name, info in cls.__pydantic_fields__.items():
            fields[name] = None
            if info.default_factory is not None:
                if info.default_factory_takes_validated_data:
                    raise TypeError(f"{cls.__name__}.{name}'s default factory reads data: construct it with pydantic")
                factories.append((name, info.default_factory))
            elif info.default is PydanticUndefined:
                required.append(name)
            else:
                fields[name] = info.default
        found = _TEMPLATES[cls] = (fields, frozenset(required), tuple(factories))
    return found


def built(cls: type[M], **values: Any) -> M:
    """`cls(**values)` without validation, for values already of the fields' types (the
    interpreter's UTC instants, enums and integers); the fields not given take their defaults."""
    fields, required, factories = _TEMPLATES.get(cls) or _template(cls)
    data = fields.copy()
    data.update(values)  # a key already there keeps its place: the fields stay in pydantic's order
    if len(data) != len(fields) or not required <= values.keys():
        unknown = sorted(set(values) - set(fields))
        missing = [name for name in fields if name in required and name not in values]
        raise TypeError(f"{cls.__name__}: unknown fields {unknown}, missing {missing}")
    for name, factory in factories:
        if name not in values:
            data[name] = factory()
    new = cls.__new__(cls)
    _set(new, "__dict__", data)
    _set(new, "__pydantic_fields_set__", set(values))
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new
