"""The tenant-scoped query helper: views reach tenant-owned rows only through it."""
from __future__ import annotations

from werkzeug.exceptions import NotFound

from app.tenancy.models import Tenant, TenantModel


class TenantScope:
    """Queries that can only ever see one tenant's rows."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant

    def select(self, model: type[TenantModel], *fields):
        """model.select(*fields) restricted to this tenant."""
        return model.select(*fields).where(model.tenant == self.tenant)

    def get_or_none(self, model: type[TenantModel], row_id):
        """The row with this id in this tenant, or None (also for ids that are not numbers)."""
        try:
            row_id = int(row_id)
        except (TypeError, ValueError):
            return None
        return self.select(model).where(model.id == row_id).first()

    def get_or_404(self, model: type[TenantModel], row_id):
        """The row with this id in this tenant; another tenant's id is a 404, never a 403."""
        row = self.get_or_none(model, row_id)
        if row is None:
            raise NotFound()
        return row
