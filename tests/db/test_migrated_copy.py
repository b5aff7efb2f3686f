"""The `migrated_url` every database test starts from is a copy of one Alembic upgrade per test
process (tests/conftest.py): the copy, too, is exactly the schema the models declare, at head."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from test_migrations import schema_diff, table_names

from db.base import Base
from db.migrate import alembic_config, current_revision


def test_the_copied_database_is_at_head_and_matches_the_models(migrated_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(migrated_url)).get_current_head()
    assert current_revision(migrated_url) == head
    assert table_names(migrated_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert schema_diff(migrated_url) == []
