"""Queries and writes behind the API, one module per concern. Repositories never commit: the
request (or activity) that calls them is the unit of work."""
