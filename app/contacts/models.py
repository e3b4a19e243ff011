"""External contacts: customers, suppliers and partners, each with a responsible employee."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.tenancy.models import Tenant, TenantModel

KINDS = ("customer", "supplier", "partner")
PHONE_LABELS = ("mobile", "work", "other")
INTERACTION_KINDS = ("note", "visit", "call", "created", "handover", "import")
CALL_DIRECTIONS = ("outbound", "inbound")


class Contact(TenantModel):
    kind = peewee.CharField(max_length=16, default="customer")
    name = peewee.CharField(max_length=200)
    company = peewee.CharField(max_length=200, null=True)
    title = peewee.CharField(max_length=200, null=True)
    email = peewee.CharField(max_length=254, null=True)
    # Never without an owner: the column is required and a person is never deleted, only deactivated;
    # a departed owner's contacts wait, visible to their manager, until someone takes them over.
    owner = peewee.ForeignKeyField(Person, on_delete="RESTRICT")
    created_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=False)
    search_key = peewee.CharField(max_length=400)   # name and company with their pinyin, email
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class ContactPhone(TenantModel):
    contact = peewee.ForeignKeyField(Contact, backref="phones", on_delete="CASCADE")
    label = peewee.CharField(max_length=16, default="mobile")
    number = peewee.CharField(max_length=40)        # as typed
    normalized = peewee.CharField(max_length=20)    # digits with the country code: what the switchboard matches

    class Meta:
        indexes = ((("tenant", "normalized"), False),)


class ContactTag(TenantModel):
    name = peewee.CharField(max_length=40)
    folded = peewee.CharField(max_length=40)        # the name folded, so "Key account" and "key ACCOUNT" are one tag
    preset = peewee.BooleanField(default=False)     # offered to everyone by the admins; others are custom

    class Meta:
        indexes = ((("tenant", "folded"), True),)


class ContactTagging(TenantModel):
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE", index=False)
    tag = peewee.ForeignKeyField(ContactTag, on_delete="CASCADE")

    class Meta:
        indexes = ((("contact", "tag"), True),)     # leads with contact: no index of its own


class ContactShare(TenantModel):
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE", index=False)
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    shared_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=False)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contact", "person"), True),)


class StandIn(TenantModel):
    """A temporary handover: while the owner is on leave the delegate acts for them on all their contacts."""

    owner = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    delegate = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    starts_at = peewee.DateTimeField()              # UTC: the owner's local midnight of the first day
    ends_at = peewee.DateTimeField()                # UTC: the owner's local midnight after the last day
    ended_at = peewee.DateTimeField(null=True)      # ended early
    created_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL", index=False)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner", "ends_at"), False),)


class Interaction(TenantModel):
    """One entry of a contact's history: a note, a visit, a call attempt, or what happened to the contact."""

    contact = peewee.ForeignKeyField(Contact, backref="interactions", on_delete="CASCADE", index=False)
    author = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    kind = peewee.CharField(max_length=16)
    body = peewee.TextField(default="")
    happened_at = peewee.DateTimeField(default=utcnow)
    created_at = peewee.DateTimeField(default=utcnow)
    answered = peewee.BooleanField(null=True)       # calls only
    direction = peewee.CharField(max_length=8, null=True)   # calls only: outbound (we called) or inbound

    class Meta:
        indexes = ((("contact", "happened_at"), False),)


class ContactImport(TenantModel):
    """An uploaded CSV file between its preview and the import (kept a day at most)."""

    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    filename = peewee.CharField(max_length=200)
    content = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow)


class ContactSettings(TenantModel):
    """Per-tenant settings of contacts: the country code of numbers written without one."""

    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE", unique=True)
    country_code = peewee.CharField(max_length=4, default="86")
    created_at = peewee.DateTimeField(default=utcnow)
