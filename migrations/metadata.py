"""Import every table module so SQLModel's metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

import audit.models
import dispatch.models
import marketplace.models
import pricing.models

metadata = SQLModel.metadata

__all__ = ["audit", "dispatch", "marketplace", "metadata", "pricing"]
