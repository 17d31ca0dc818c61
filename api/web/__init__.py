"""The web console: server-rendered pages (Jinja2 + HTMX) under ``/console``, in Chinese and
English, over the same services, repositories and ownership checks as the API.

Pages sign in with a cookie holding a refresh token (``api.web.access``), declare their access
like API routes (``page(...)``), check a per-session CSRF token on every POST, and render
errors as pages in the visitor's language (``api.web.errors``).
"""
