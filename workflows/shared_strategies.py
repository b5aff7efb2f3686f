"""One in-memory compiled strategy per content per process, shared by every workflow (and every
activity) of that process.

Each debtor workflow's input carries its compiled strategy, and decoding gives every workflow its
own copy (about 100 KiB of Python objects for the shipped strategies): a worker caching a
thousand accounts of one campaign held a thousand equal copies. `shared` swaps a freshly decoded
strategy for the instance the process already holds (the contracts' validators call it as each
payload is decoded, so the decoded copy is dropped at once, before the SDK keeps the input).

Why this is safe inside the workflow sandbox (this module is passed through, so all sandboxes see
one registry): a compiled strategy is immutable (frozen models; nothing in the interpreter, the
workflow or the activities writes into its dicts: tests/workflows/test_shared_strategies.py
checks) and it is shared only with an *equal* value, so a workflow computes exactly what it
would with its own copy, on any worker, replaying or not. The key is the content hash, but a
value with the same hash and other content (a strategy whose holiday dates a workflow froze
into it keeps its published hash) is compared and kept apart, never confused.

Entries are weak: a version no workflow or activity of the process holds any more is freed.
"""

from __future__ import annotations

import threading
import weakref

from domain.strategy import CompiledStrategy

# Process-wide by design (the one exception to "no module-level state"): sharing across the
# workflows of a worker is the point. Workflow tasks and activities run on several threads.
_lock = threading.Lock()
_by_hash: weakref.WeakValueDictionary[str, CompiledStrategy] = weakref.WeakValueDictionary()


def shared(strategy: CompiledStrategy) -> CompiledStrategy:
    """The process's instance equal to `strategy` (registering `strategy` if it is the first)."""
    if not strategy.hash:
        return strategy
    with _lock:
        held = _by_hash.get(strategy.hash)
        if held is None:
            _by_hash[strategy.hash] = strategy
            return strategy
    if held is strategy or held == strategy:
        return held
    return strategy  # same hash, other content: this one stays apart


def held_version(hash_: str) -> CompiledStrategy | None:
    """The process's instance of version `hash_`, if a workflow or activity of it holds one (what
    every value of one hash shares: its name, edition and steps; not always its holiday dates)."""
    with _lock:
        return _by_hash.get(hash_)


def held() -> int:
    """How many distinct versions the process holds (for measurements and tests)."""
    with _lock:
        return len(_by_hash)
