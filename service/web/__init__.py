"""Server-rendered pages (Jinja + htmx) for station staff, cashiers, residents, administrators and
supervisors, on top of the same operations as the API."""
