"""Published strategy versions as activities need them: read from the strategy_versions table once
per process and hash, then kept. A version is immutable (rows are never updated), so a cached one
never goes stale; the cache holds the few versions recently used, and shares each with the
process's workflows (workflows/shared_strategies.py) instead of holding a second copy."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy.orm import Session, sessionmaker

from db.repositories import strategies as repo
from db.session import session_scope
from domain.strategy import CompiledStrategy
from workflows.shared_strategies import shared

# Versions kept per process: a campaign runs one, a move between two adds one; far more than a
# worker's accounts use at once, far less memory than one copy per workflow.
CACHED_VERSIONS = 32


class StrategyVersions:
    def __init__(self, sessions: sessionmaker[Session], size: int = CACHED_VERSIONS) -> None:
        self._sessions = sessions
        self._size = size
        self._lock = threading.Lock()  # activities run on several threads
        self._cache: OrderedDict[str, CompiledStrategy] = OrderedDict()

    def get(self, hash_: str) -> CompiledStrategy:
        """The published version `hash_`. The workflow names only versions it got from the table,
        so a missing one was deleted: the send retries (with backoff) until it is published again
        (the same content gets the same hash), rather than failing the account's workflow."""
        with self._lock:
            found = self._cache.get(hash_)
            if found is not None:
                self._cache.move_to_end(hash_)
                return found
        with session_scope(self._sessions) as session:
            row = repo.by_hash(session, hash_)
            compiled = None if row is None else row.compiled_json
        if compiled is None:
            raise LookupError(f"strategy version {hash_} is not published (publish it again to let its accounts send)")
        loaded = shared(CompiledStrategy.model_validate(compiled))
        with self._lock:
            self._cache[hash_] = loaded
            self._cache.move_to_end(hash_)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return loaded
