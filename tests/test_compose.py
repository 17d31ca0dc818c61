"""docker-compose.yml is a valid Compose file describing the production topology.

There is no Docker engine here: the file is validated against the Compose specification's JSON
schema (check-jsonschema) and its topology is checked by reading it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no types; check-jsonschema needs it

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))
LINLI_SERVICES = {"migrate", "api", "worker", "beat"}
LONG_RUNNING = {"postgres", "redis", "api", "worker", "beat"}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[?-]([^}]*))?\}")


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_validates_against_the_compose_specification() -> None:
    done = _validate(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_the_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    """The check is not vacuous: a malformed service fails it."""
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE.read_text()
    assert "stop_grace_period:" in text
    broken.write_text(text.replace("stop_grace_period:", "stop_grace_periods:"))
    assert _validate(broken).returncode != 0


def test_topology(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "redis", "migrate", "api", "worker", "beat"} <= services.keys()
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["postgres"]["volumes"]
    assert services["redis"]["image"].startswith("redis:7")
    assert "--appendonly yes" in _command(services["redis"])
    assert services["redis"]["volumes"]

    assert _command(services["migrate"]) == "linli db upgrade"
    assert services["migrate"]["restart"] == "no"
    assert "uvicorn api.app:app" in _command(services["api"])
    assert "--workers 2" in _command(services["api"])
    assert services["api"]["ports"]
    assert _command(services["worker"]).startswith("linli worker --pool prefork")
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "container_name" not in services["worker"]  # replicas need generated names
    assert "celery -A api.worker beat" in _command(services["beat"])
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1  # one beat, never two


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    check = services[name]["healthcheck"]
    assert check.get("disable") is not True
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert services[name]["restart"] == "unless-stopped"


def test_api_healthcheck_hits_health(services: dict[str, dict[str, Any]]) -> None:
    assert "http://127.0.0.1:8000/health" in " ".join(services["api"]["healthcheck"]["test"])


@pytest.mark.parametrize("name", ["api", "worker", "beat"])
def test_linli_processes_wait_for_healthy_dependencies_and_migrations(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    assert services[name]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_migrate_waits_for_a_healthy_database(services: dict[str, dict[str, Any]]) -> None:
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("name", sorted(LINLI_SERVICES))
def test_linli_services_run_on_postgresql_and_redis_in_production(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = services[name]["environment"]
    assert env["LINLI_ENVIRONMENT"] == "production"
    assert env["LINLI_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["LINLI_BROKER_URL"].startswith("redis://redis:6379/")
    # Secrets come from the deployer's environment and are required (${NAME:?message}).
    for key in ("LINLI_SECRET_KEY", "LINLI_DATA_KEY", "LINLI_INDEX_KEY", "LINLI_AUDIT_SIGNING_KEY"):
        assert re.fullmatch(rf"\$\{{{key}:\?[^}}]+\}}", env[key]), env[key]


def test_the_environment_is_accepted_by_settings(services: dict[str, dict[str, Any]]) -> None:
    """Every LINLI_ name is a real setting, and production settings validate once set."""
    secrets = {
        "POSTGRES_PASSWORD": "pw",
        "LINLI_SECRET_KEY": "s" * 40,
        "LINLI_DATA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "LINLI_INDEX_KEY": "i" * 40,
        "LINLI_AUDIT_SIGNING_KEY": "c2lnbmluZy1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE=",
    }
    env = {
        key: INTERPOLATION.sub(lambda m: secrets[m.group(1)], value)
        for key, value in services["api"]["environment"].items()
    }
    fields = {f"LINLI_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    kwargs = {key.removeprefix("LINLI_").lower(): value for key, value in env.items()}
    settings = Settings.model_validate(kwargs)  # these values only, not this process's env
    assert settings.environment == "production"
    assert settings.resolved_database_url == "postgresql+psycopg://linli:pw@postgres:5432/linli"
    assert settings.resolved_broker_url == "redis://redis:6379/0"
    assert settings.resolved_result_backend.startswith("redis://redis:6379/")


def test_dockerfile_installs_the_package_and_drops_root() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert any("pip install" in line and " ." in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image must not run as root"
    assert users[-1] not in ("root", "0")
