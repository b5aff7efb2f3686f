"""Temporal workflows: thin shells around `domain.interpreter` (the debtor workflow arrives with issue 3).

Workflows import only temporalio, the standard library and `domain`: never `strategies`,
databases, HTTP clients or channels, which would break determinism or the sandbox.
"""
