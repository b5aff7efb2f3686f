"""FastAPI application for strategists, agents, supervisors and provider webhooks. Arrives with issue 4."""
