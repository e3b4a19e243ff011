"""Where every tenant's data lives: rows per table in the database's site, files per blob store, and the verdict."""
from __future__ import annotations

from dataclasses import dataclass, field

import peewee
from flask_babel import lazy_gettext as _l

from app.config import Settings
from app.db import redact_url
from app.residency import policy
from app.residency.models import Blob
from app.residency.tables import tenant_models
from app.tenancy.models import Tenant


@dataclass
class StoreFacts:
    """A configured blob store, where it is, and why data may not go there (if it may not)."""

    name: str
    kind: str
    site: str
    location: str
    problems: list

    @property
    def allowed(self) -> bool:
        return not self.problems


@dataclass
class TenantFacts:
    """Where one tenant's rows and files are, and what is wrong with that."""

    slug: str
    name: str
    blob_store: str
    rows: dict[str, int]                  # table -> rows of this tenant
    files: dict[str, tuple[int, int]]     # store -> (files, bytes)
    damaged: int                          # files fsck found missing or corrupt and had to keep
    problems: list = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return not self.problems


@dataclass
class ResidencyReport:
    """The node, the policy, every store and every tenant (or the one asked for)."""

    site: str
    role: str
    allowed_sites: list[str]
    database: str
    database_site: str
    stores: list[StoreFacts]
    problems: list                         # the configuration's against the policy (what stops `atrium serve`)
    tenants: list[TenantFacts]

    @property
    def compliant(self) -> bool:
        return not self.problems and all(t.compliant for t in self.tenants)

    def as_dict(self) -> dict:
        """Plain data for --json (texts in the current language)."""
        return {
            "compliant": self.compliant, "site": self.site, "role": self.role, "allowed_sites": self.allowed_sites,
            "database": {"url": self.database, "site": self.database_site},
            "stores": [{"name": s.name, "kind": s.kind, "site": s.site, "location": s.location,
                        "allowed": s.allowed, "problems": [str(p) for p in s.problems]} for s in self.stores],
            "problems": [str(p) for p in self.problems],
            "tenants": [{"slug": t.slug, "name": t.name, "blob_store": t.blob_store,
                         "database_site": self.database_site, "rows": t.rows,
                         "files": {s: {"count": c, "bytes": b} for s, (c, b) in t.files.items()},
                         "damaged_files": t.damaged, "compliant": t.compliant,
                         "problems": [str(p) for p in t.problems]} for t in self.tenants],
        }


def _store_location(spec) -> str:
    if spec.kind == "sftp":
        return f"sftp://{spec.user}@{spec.host}:{spec.port}{spec.path}"
    return spec.path


def _counts_by_tenant(model, tenant_ids: list[int]) -> dict[int, int]:
    query = (model.select(model.tenant, peewee.fn.COUNT(model.id)).where(model.tenant.in_(tenant_ids))
             .group_by(model.tenant).tuples())
    return dict(query)


def _tenant_problems(settings: Settings, facts: TenantFacts, store_problems: dict[str, list]) -> list:
    problems = []
    allowed = policy.allowed_sites(settings)
    site = policy.database_site(settings)
    if site not in allowed:
        problems.append(_l("its rows are in the database in site '%(site)s', which may not hold data", site=site))
    if facts.blob_store not in store_problems:
        problems.append(_l("it is pinned to blob store '%(store)s', which is not configured", store=facts.blob_store))
    for name in sorted({facts.blob_store, *facts.files}):
        if name not in store_problems:
            if name in facts.files:
                problems.append(_l("%(count)d files are in blob store '%(store)s', which is not configured",
                                   count=facts.files[name][0], store=name))
            continue
        problems.extend(store_problems[name])
    return problems


def build_report(settings: Settings, only: Tenant | None = None) -> ResidencyReport:
    """The report for every tenant, or for one (what a tenant's own admins see)."""
    specs = policy.effective_stores(settings)
    store_problems = policy.store_problems(settings)
    stores = [StoreFacts(name, spec.kind, spec.site, _store_location(spec), store_problems[name])
              for name, spec in specs.items()]
    tenants = [only] if only is not None else list(Tenant.select().order_by(Tenant.slug))
    ids = [t.id for t in tenants]
    rows: dict[int, dict[str, int]] = {t.id: {} for t in tenants}
    for model in tenant_models():
        counts = _counts_by_tenant(model, ids) if ids else {}
        for tenant_id in ids:
            rows[tenant_id][model._meta.table_name] = counts.get(tenant_id, 0)
    files: dict[int, dict[str, tuple[int, int]]] = {t.id: {} for t in tenants}
    damaged: dict[int, int] = {}
    if ids:
        query = (Blob.select(Blob.tenant, Blob.store, peewee.fn.COUNT(Blob.id), peewee.fn.SUM(Blob.size),
                             peewee.fn.COUNT(Blob.damaged))
                 .where(Blob.tenant.in_(ids)).group_by(Blob.tenant, Blob.store).tuples())
        for tenant_id, store, count, size, broken in query:
            files[tenant_id][store] = (count, int(size or 0))
            damaged[tenant_id] = damaged.get(tenant_id, 0) + broken
    facts = []
    for tenant in tenants:
        item = TenantFacts(tenant.slug, tenant.name, tenant.blob_store, rows[tenant.id], files[tenant.id],
                           damaged.get(tenant.id, 0))
        item.problems = _tenant_problems(settings, item, store_problems)
        facts.append(item)
    return ResidencyReport(settings.residency.site, settings.residency.role, policy.allowed_sites(settings),
                           redact_url(settings.database), policy.database_site(settings), stores,
                           policy.check_settings(settings), facts)
