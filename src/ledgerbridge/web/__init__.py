"""FastAPI: the /api/v1 JSON API (and, later, the HTML pages)."""
