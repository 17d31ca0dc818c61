"""Application settings from the environment (prefix ``LINLI_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "linli-development-secret-do-not-use-in-production"
# 32 bytes, base64: the development key for encrypting personal data at rest.
DEV_DATA_KEY = "bGlubGktZGV2ZWxvcG1lbnQtZGF0YS1rZXktMzJieXQ="
DEV_INDEX_KEY = "linli-development-blind-index-key"
# 32 bytes, base64: the development Ed25519 seed that signs ledger checkpoints.
DEV_AUDIT_SIGNING_KEY = "bGlubGktZGV2ZWxvcG1lbnQtYXVkaXQta2V5LTMyYnk="


class Settings(BaseSettings):
    """Every setting Linli reads; defaults give the embedded, server-less setup."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    broker_url: str | None = None
    result_backend: str | None = None
    # The queue tasks are sent to and workers consume (deployments sharing a Redis keep apart).
    task_queue: str = "celery"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    data_key: SecretStr = SecretStr(DEV_DATA_KEY)
    index_key: SecretStr = SecretStr(DEV_INDEX_KEY)
    # Base64 of a 32-byte Ed25519 seed; auditors verify checkpoints with its public key.
    audit_signing_key: SecretStr = SecretStr(DEV_AUDIT_SIGNING_KEY)
    # Lifetime of signed access tokens; refresh tokens (14 days) renew them.
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Larger request bodies are refused with 413 before they are read into memory.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    timezone: str = "Asia/Shanghai"
    sql_echo: bool = False
    worker_pool: Literal["solo", "prefork", "threads"] = "solo"
    worker_concurrency: int = 1

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment != "development":
            defaults = {
                "LINLI_SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
                "LINLI_DATA_KEY": (self.data_key, DEV_DATA_KEY),
                "LINLI_INDEX_KEY": (self.index_key, DEV_INDEX_KEY),
                "LINLI_AUDIT_SIGNING_KEY": (self.audit_signing_key, DEV_AUDIT_SIGNING_KEY),
            }
            bad = [
                name for name, (value, dev) in defaults.items() if value.get_secret_value() == dev
            ]
            if bad:
                raise ValueError(
                    f"{', '.join(bad)} must be set outside development (environment="
                    f"{self.environment})"
                )
        return self

    @property
    def resolved_data_dir(self) -> Path:
        """The data folder as an absolute path (created on demand by callers)."""
        return self.data_dir.resolve()

    @property
    def resolved_database_url(self) -> str:
        """The database URL; a SQLite file in the data folder unless set."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'linli.sqlite3'}"

    @property
    def resolved_broker_url(self) -> str:
        """The Celery broker; kombu's SQLAlchemy transport on a SQLite file unless set."""
        if self.broker_url:
            return self.broker_url
        return f"sqla+sqlite:///{self.resolved_data_dir / 'celery-broker.sqlite3'}"

    @property
    def resolved_result_backend(self) -> str:
        """The Celery result backend: Redis beside a Redis broker, else a SQLite file."""
        if self.result_backend:
            return self.result_backend
        broker = self.resolved_broker_url
        if broker.startswith(("redis://", "rediss://")):
            return broker
        return f"db+sqlite:///{self.resolved_data_dir / 'celery-results.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` to reload)."""
    return Settings()
