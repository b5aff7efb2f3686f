"""Persistence: declarative base and models, engine/session factories, and Alembic upgrades."""
