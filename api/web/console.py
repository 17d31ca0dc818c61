"""Wiring the console into the app: its pages, its static files, its error pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import errors
from api.web.access import PREFIX
from api.web.render import STATIC_DIR
from api.web.routers import findings, orders, route, session


def install(app: FastAPI) -> None:
    """Add the console to the app (after ``api.problems.install``)."""
    app.include_router(session.router)
    app.include_router(orders.router)
    app.include_router(route.router)
    app.include_router(findings.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    errors.install(app)
