"""The web console at /console: server-rendered pages (Jinja2, htmx) on the services' read models."""
