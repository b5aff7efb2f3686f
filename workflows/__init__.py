"""Temporal workflows: thin shells around `domain.interpreter`. `debtor` runs one account (its
strategy's steps, timers, agent tasks, promises, plans and payments); `campaign` launches a
campaign's accounts and fans its commands out to them; `contracts` is what crosses the Temporal
boundary, `options` the activities' timeouts and retries, `search_attributes`, `sandbox` and
`connect` how workers, replayers and clients reach Temporal.

Workflows import only temporalio, the standard library and `domain`: never `strategies`,
databases, HTTP clients or channels, which would break determinism or the sandbox.
"""
