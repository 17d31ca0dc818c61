"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from api import problems
from api.routers import auth, catalog, city, health, orders


def create_app() -> FastAPI:
    """Build the app with every router and the problem+json handlers."""
    app = FastAPI(
        title="Linli 邻里",
        version="0.1.0",
        description="Community home-service marketplace and dispatch optimizer.",
    )
    problems.install(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(catalog.router)
    app.include_router(city.router)
    app.include_router(orders.router)
    return app


app = create_app()
