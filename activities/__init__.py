"""Temporal activities: every side effect (channel sends, agent tasks, payment checks, legal
referrals, database writes), one module per concern. Arrives with issue 3."""
