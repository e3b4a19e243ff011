"""Switchboard routing: who is on duty per department, and the log of every routing decision."""
from __future__ import annotations

import peewee

from app.contacts.models import Contact
from app.db import utcnow
from app.org.models import Department, Person
from app.tenancy.models import TenantModel

RULES = ("last_caller", "owner", "delegate", "duty", "none")


class DutyPerson(TenantModel):
    """Who takes a department's calls when no one closer to the caller can; no department = the whole company."""

    department = peewee.ForeignKeyField(Department, null=True, on_delete="CASCADE", index=False)
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    set_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=False)
    updated_at = peewee.DateTimeField(default=utcnow)
    # One per department and one for the company: a unique index on (tenant, COALESCE(department, 0)),
    # which the migration creates (peewee cannot express it).


class RoutingDecision(TenantModel):
    """One answer of the switchboard: the number, the contact it matched, who takes the call and why."""

    number = peewee.CharField(max_length=40)
    normalized = peewee.CharField(max_length=20)
    contact = peewee.ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    person = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=False)
    rule = peewee.CharField(max_length=16)
    steps = peewee.TextField()          # JSON: each rule considered, in order, with its code and arguments
    origin = peewee.CharField(max_length=16, default="api")     # api, or try (an admin's test on the page)
    requested_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=False)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "created_at"), False),)
