"""Discovery of the domain packages, so a new domain needs no edit to a shared file.

A domain is a package ``service/<name>/`` with some of: ``models.py`` (tables), ``api.py`` (a
flask-smorest ``blp``), ``demo.py`` (``ORDER`` and ``generate(ctx)`` for the demo data) and
``cli.py`` (``commands``: click commands added to ``greencoin``). Packages are visited in name order.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).parent


def domain_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)]) if m.ispkg)


def domain_modules(kind: str) -> list[ModuleType]:
    """Import ``service.<domain>.<kind>`` for every domain that has that module."""
    found = []
    for name in domain_names():
        if (PACKAGE_DIR / name / f"{kind}.py").exists():
            found.append(importlib.import_module(f"service.{name}.{kind}"))
    return found


def import_models() -> None:
    """Register every table on the shared metadata (Alembic and create_all need them all)."""
    import service.idempotency  # noqa: F401  (a table outside the domain packages)

    domain_modules("models")
