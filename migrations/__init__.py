"""Alembic migrations of the database schema declared in `db/models/`: `env.py` (how Alembic finds
the database URL and runs SQLite in batch mode) and `versions/` (the revisions, applied with
`db.migrate.upgrade(url)` or `alembic upgrade head`; see README.md here)."""
