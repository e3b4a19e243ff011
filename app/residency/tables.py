"""Tenant-owned tables, found as the TenantModel subclasses of every app/**/models.py, in dependency order."""
from __future__ import annotations

import importlib
from pathlib import Path

import peewee

import app as package
from app.tenancy.models import Tenant, TenantModel


def load_models() -> None:
    """Import every models module of the application, so a table added by any capability is seen."""
    root = Path(package.__file__).parent
    for path in sorted(root.rglob("models.py")):
        importlib.import_module(".".join(path.relative_to(root.parent).with_suffix("").parts))


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def foreign_keys(model: type[peewee.Model]) -> list[peewee.ForeignKeyField]:
    """The model's references to other tenant-owned rows (not the one to its tenant)."""
    return [f for f in model._meta.sorted_fields
            if isinstance(f, peewee.ForeignKeyField) and f.rel_model is not Tenant]


def tenant_models() -> list[type[TenantModel]]:
    """Every tenant-owned table's model, each after the tables it refers to where the references allow it.

    A reference that cannot be satisfied by the order (to its own table, or round a cycle) must be nullable:
    an import writes it in a second pass.
    """
    load_models()
    models = {}
    for cls in _subclasses(TenantModel):
        if cls.__module__.startswith(package.__name__ + "."):
            models.setdefault(cls._meta.table_name, cls)
    ordered: list[type[TenantModel]] = []
    placed: set[str] = set()
    remaining = dict(sorted(models.items()))
    while remaining:
        ready = [name for name, cls in remaining.items()
                 if all(f.rel_model._meta.table_name in placed or f.rel_model is cls for f in foreign_keys(cls))]
        if not ready:  # a cycle: take a table whose unplaced references can all be filled in later
            ready = [name for name, cls in remaining.items()
                     if all(f.null for f in foreign_keys(cls) if f.rel_model._meta.table_name not in placed)][:1]
            if not ready:
                raise RuntimeError(f"tenant tables refer to each other without a nullable column: {sorted(remaining)}")
        for name in ready:
            ordered.append(remaining.pop(name))
            placed.add(name)
    return ordered


def references_to(target: type[peewee.Model]) -> list[peewee.ForeignKeyField]:
    """Every column of every model that refers to rows of target."""
    load_models()
    return list(target._meta.backrefs)
