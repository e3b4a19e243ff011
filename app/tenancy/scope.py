"""The tenant-scoped query helper: views reach tenant-owned rows only through it."""
from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from app.tenancy.models import Tenant, TenantModel

# Row ids are 32-bit on PostgreSQL (SERIAL): a bigger number names no row, and SQLite cannot even bind one
# past 64 bits, so such a number is answered as "no such row" before it reaches a query.
MAX_ROW_ID = 2**31 - 1


def as_row_id(value) -> int | None:
    """The value as a row id, or None when it cannot be one (not a whole number, or outside the ids' range)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_ROW_ID else None


class RowIdConverter(IntegerConverter):
    """<int:...> in routes: a number beyond the ids' range is a 404 rather than a failed query."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ROW_ID:
            raise NotFound()   # not a mismatch: another rule of the same shape would make it a 405
        return number


class TenantScope:
    """Queries that can only ever see one tenant's rows."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant

    def select(self, model: type[TenantModel], *fields):
        """model.select(*fields) restricted to this tenant."""
        return model.select(*fields).where(model.tenant == self.tenant)

    def get_or_none(self, model: type[TenantModel], row_id):
        """The row with this id in this tenant, or None (also for ids that are not numbers or out of range)."""
        number = as_row_id(row_id)
        if number is None:
            return None
        return self.select(model).where(model.id == number).first()

    def get_or_404(self, model: type[TenantModel], row_id):
        """The row with this id in this tenant; another tenant's id is a 404, never a 403."""
        row = self.get_or_none(model, row_id)
        if row is None:
            raise NotFound()
        return row
