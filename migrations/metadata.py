"""Import every table module so SQLModel's metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

import dispatch.models
import marketplace.models
import pricing.models

metadata = SQLModel.metadata

__all__ = ["dispatch", "marketplace", "metadata", "pricing"]
