"""The schema's Alembic revisions, in order (`NNNN_<topic>.py`): each self-contained, never importing
application code, so that it does today what it did when it was written."""
