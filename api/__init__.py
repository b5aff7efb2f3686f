"""The HTTP API (FastAPI): `app.create_app(settings)`, one router per audience in `routers/`
(strategists, campaigns, agents, supervisors, payments, webhooks, KPIs), request and response
bodies in `schemas/`, authentication by API key and role, problem+json errors, and the services
that more than one router uses (account import, signatures, idempotency, limits)."""
