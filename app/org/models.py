"""The org chart: departments, people and who sits where."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.security.permissions import ROLES  # noqa: F401 - the role names live with the permission checks
from app.tenancy.models import Tenant, TenantModel

# An integration is a service account: it acts through API tokens only, cannot log in, and is not listed in the
# directory (app.security.integrations).
INTEGRATION = "integration"
SOURCES = ("local", "directory", INTEGRATION)


def subtree(children: dict[int | None, list[int]], roots) -> set[int]:
    """The roots and every department below them, given each department's children (a loop stops the walk)."""
    found: set[int] = set()
    todo = list(roots)
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


class Department(TenantModel):
    name = peewee.CharField(max_length=200)
    parent = peewee.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    sort_order = peewee.IntegerField(default=0)
    head = peewee.DeferredForeignKey("Person", null=True, on_delete="SET NULL")
    source = peewee.CharField(max_length=16, default="local")
    external_id = peewee.CharField(max_length=128, null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "external_id"), True),)


class Person(TenantModel):
    login = peewee.CharField(max_length=128)
    display_name = peewee.CharField(max_length=200)
    email = peewee.CharField(max_length=254, null=True)
    mobile = peewee.CharField(max_length=40, null=True)
    title = peewee.CharField(max_length=200, null=True)
    employee_no = peewee.CharField(max_length=64, null=True)
    manager = peewee.ForeignKeyField("self", null=True, backref="reports", on_delete="SET NULL")
    role = peewee.CharField(max_length=16, default="member")
    is_active = peewee.BooleanField(default=True)
    deactivated_by = peewee.CharField(max_length=16, null=True)
    source = peewee.CharField(max_length=16, default="local")
    external_id = peewee.CharField(max_length=128, null=True)
    password_hash = peewee.CharField(max_length=255, null=True)
    must_change_password = peewee.BooleanField(default=False)
    session_epoch = peewee.IntegerField(default=0)
    locale = peewee.CharField(max_length=16, null=True)
    timezone = peewee.CharField(max_length=64, null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    last_login_at = peewee.DateTimeField(null=True)
    search_key = peewee.CharField(max_length=400, null=True)  # name, its pinyin and initials, login, email
    work_start = peewee.CharField(max_length=5, null=True)    # "09:00" in the person's time zone
    work_end = peewee.CharField(max_length=5, null=True)
    work_days = peewee.CharField(max_length=20, null=True)    # ISO weekdays, "12345"
    dnd_until = peewee.DateTimeField(null=True)               # do not disturb until (UTC)
    # A department admin's department: they manage its subtree (see app.security.permissions).
    admin_department = peewee.ForeignKeyField(Department, null=True, backref="administrators", on_delete="SET NULL")
    failed_logins = peewee.IntegerField(default=0)            # consecutive failed password checks
    locked_at = peewee.DateTimeField(null=True)               # locked out by the tenant's policy until an admin unlocks

    class Meta:
        indexes = (
            (("tenant", "login"), True),
            (("tenant", "external_id"), True),
        )

    @property
    def is_admin(self) -> bool:
        """A tenant admin (a fact about the row; permission checks go through app.security.permissions)."""
        return self.role == "admin"

    @property
    def is_integration(self) -> bool:
        return self.source == INTEGRATION

    @classmethod
    def in_directory(cls):
        """The condition for people the directory lists and pickers offer: active, and not an integration."""
        return (cls.is_active == True) & (cls.source != INTEGRATION)  # noqa: E712

    @classmethod
    def active(cls, tenant: Tenant):
        """The tenant's active people (integrations are not people)."""
        return cls.select().where((cls.tenant == tenant) & cls.in_directory())


class Membership(TenantModel):
    person = peewee.ForeignKeyField(Person, backref="memberships", on_delete="CASCADE")
    department = peewee.ForeignKeyField(Department, backref="memberships", on_delete="CASCADE")
    is_primary = peewee.BooleanField(default=True)

    class Meta:
        indexes = ((("person", "department"), True),)

