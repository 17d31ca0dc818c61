"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from api import links, problems
from api.limits import BodyLimit
from api.routers import (
    admin,
    audit_runs,
    auditor,
    auth,
    catalog,
    city,
    dispatch,
    exports,
    geography,
    health,
    households,
    orders,
    providers,
    subsidy,
    worker,
)
from api.web import console


def create_app() -> FastAPI:
    """Build the app with every router, the problem+json handlers and the OpenAPI links."""
    app = FastAPI(
        title="Linli 邻里",
        version="0.1.0",
        description="Community home-service marketplace and dispatch optimizer.",
    )
    problems.install(app)
    app.add_middleware(BodyLimit)
    links.install(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(catalog.router)
    app.include_router(city.router)
    app.include_router(geography.router)
    app.include_router(orders.router)
    app.include_router(households.router)
    app.include_router(admin.router)
    app.include_router(providers.router)
    app.include_router(worker.router)
    app.include_router(dispatch.router)
    app.include_router(subsidy.router)
    app.include_router(auditor.router)
    app.include_router(audit_runs.router)
    app.include_router(exports.router)
    console.install(app)
    return app


app = create_app()
