"""API: the FastAPI app, routers, CLI and process wiring (the only layer that wires)."""
