"""The residency checks that need the database or the stores: tenants pinned to stores that exist, stores that answer.

`atrium serve` runs them before it starts a worker and /readyz on every call; the policy's own checks
(app.residency.policy) need neither.
"""
from __future__ import annotations

import peewee
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.config import Settings
from app.db import db
from app.residency import blobs, policy
from app.tenancy.models import Tenant


def one_line(problems: list) -> str:
    """The first problem, and how many more there are, as the one line a refused start prints."""
    more = f" (and {len(problems) - 1} more: see `atrium residency report`)" if len(problems) > 1 else ""
    return f"residency: {problems[0]}{more}"


def tenant_pins(database: peewee.Database | None = None) -> list[tuple[str, str]]:
    """(slug, blob store) of every tenant."""
    with (database or db).bind_ctx([Tenant]):
        return list(Tenant.select(Tenant.slug, Tenant.blob_store).order_by(Tenant.slug).tuples())


def unreachable(stores: dict[str, blobs.BlobStore]) -> dict[str, str]:
    """Store name -> why it does not answer, for every store that does not."""
    found = {}
    for name, store in stores.items():
        try:
            store.check()
        except blobs.BlobError as exc:
            found[name] = str(exc)
    return found


def unreachable_problems(found: dict[str, str]) -> list:
    """One problem line per store that does not answer."""
    return [_l("blob store '%(store)s' is unreachable: %(reason)s", store=name, reason=reason)
            for name, reason in found.items()]


def before_serving(settings: Settings, database: peewee.Database) -> tuple[str, int] | None:
    """(line, exit code) when the node must not start: a tenant pinned to no store (2), a store that fails (1)."""
    stores = policy.effective_stores(settings)
    problems = policy.unknown_pins(tenant_pins(database), stores)
    if problems:
        return one_line(problems), 2
    built = {name: blobs.build_store(name, spec) for name, spec in stores.items()}
    try:
        failing = unreachable(built)
    finally:
        for store in built.values():
            store.close()
    if failing:
        return one_line(unreachable_problems(failing)), 1
    return None


def readiness() -> tuple[bool, dict]:
    """This node's residency verdict for /readyz (in English, for machines): the policy, pins and stores."""
    settings = current_app.config["ATRIUM"]
    stores = blobs.stores()
    problems = list(current_app.extensions["residency"]) + policy.unknown_pins(tenant_pins(), stores)
    barred = {name for name in stores if blobs.refusal(name)}
    # A barred store is not even looked at: checking a local one would create its directory on a compute node.
    failing = unreachable({name: store for name, store in stores.items() if name not in barred})
    status = "violation" if problems else "unreachable" if failing else "ok"
    with force_locale("en"):
        lines = [str(p) for p in problems + unreachable_problems(failing)]
    data = {"status": status, "site": settings.residency.site, "role": settings.residency.role,
            "stores": {name: "unreachable" if name in failing else "barred" if name in barred else "ok"
                       for name in stores},
            "problems": lines}
    return status == "ok", data
