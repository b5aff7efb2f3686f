"""The web console for supervisors, agents and strategists, served by the API under /console:
server-rendered pages (Jinja2, HTMX for partial updates) over the same services, repositories and
role rules as the API; console/app.py mounts it and lists its page modules (console/pages/)."""
