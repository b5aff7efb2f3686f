"""Typed errors the domain raises; callers map them to exit codes, update rejections or HTTP problems."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a request the domain refuses, with a message meant for a person."""


class EventRejected(DomainError):
    """An event that is not acceptable in the account's current state (a promise in the past,
    an outcome the current step does not allow). The state is left unchanged."""


class InterpreterError(DomainError):
    """The compiled strategy asked for something impossible at run time (a loop with no wait).
    The compiler's static checks are meant to make this unreachable."""
