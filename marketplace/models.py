"""Every marketplace table, imported together so metadata is complete (Alembic, tests)."""

from marketplace.accounts import models as accounts_models
from marketplace.catalog import models as catalog_models
from marketplace.geography import models as geography_models
from marketplace.households import models as households_models
from marketplace.orders import models as orders_models
from marketplace.providers import models as providers_models
from marketplace.visits import models as visits_models

__all__ = [
    "accounts_models",
    "catalog_models",
    "geography_models",
    "households_models",
    "orders_models",
    "providers_models",
    "visits_models",
]
