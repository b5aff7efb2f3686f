"""Published strategy versions: store one immutable row per content hash, find and list them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import StrategyVersion
from domain.strategy import CompiledStrategy


def by_hash(session: Session, hash_: str) -> StrategyVersion | None:
    """The version with this content hash, if published."""
    return session.scalar(select(StrategyVersion).where(StrategyVersion.hash == hash_))


def publish(
    session: Session, strategy: CompiledStrategy, *, source_yaml: str, published_by: str
) -> tuple[StrategyVersion, bool]:
    """Store a version unless its hash is already published; returns (version, created)."""
    hash_ = strategy.hash
    found = by_hash(session, hash_)
    if found is not None:
        return found, False
    row = StrategyVersion(
        strategy_id=strategy.id,
        hash=hash_,
        name=strategy.name,
        source_yaml=source_yaml,
        compiled_json=strategy.model_dump(mode="json"),
        published_by=published_by,
    )
    try:
        # A savepoint: a concurrent publish of the same content loses the race on the unique hash
        # without spoiling the rest of the request's transaction.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = by_hash(session, hash_)
        if found is None:
            raise
        return found, False
    return row, True


def list_versions(session: Session, *, strategy_id: str | None, after: int | None, limit: int) -> list[StrategyVersion]:
    """Up to `limit + 1` versions in publication order (the extra one tells that more exist)."""
    query = select(StrategyVersion).order_by(StrategyVersion.id).limit(limit + 1)
    if strategy_id is not None:
        query = query.where(StrategyVersion.strategy_id == strategy_id)
    if after is not None:
        query = query.where(StrategyVersion.id > after)
    return list(session.scalars(query))
