"""Pure core of the orchestrator: domain types, contact policy, compiled strategy and interpreter.

Nothing here does I/O or reads a clock: every function that needs the time takes `now`.
The same code runs in the offline simulator and inside the Temporal debtor workflow.
"""
