"""Regenerate migration 0001 from the models (only while no release has shipped it)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from api.dbadmin import alembic_config

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def main() -> None:
    """Delete 0001, autogenerate it against an empty SQLite file, keep later revisions."""
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    later = sorted(p for p in VERSIONS.glob("*.py") if not p.name.startswith("0001_"))
    hidden = [p.rename(p.with_suffix(".hold")) for p in later]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = alembic_config(f"sqlite:///{tmp}/autogen.sqlite3")
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    finally:
        for p in hidden:
            p.rename(p.with_suffix(".py"))


if __name__ == "__main__":
    main()
