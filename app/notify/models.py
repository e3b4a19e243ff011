"""Notifications per person, their email preferences, the tenant's email settings, and the email outbox."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.tenancy.models import Tenant, TenantModel

OUTBOX_STATES = ("queued", "sending", "handed", "sent", "failed", "skipped")


class Notification(TenantModel):
    """One thing a person should know about; its text is made from `params` in the reader's language."""

    person = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    kind = peewee.CharField(max_length=32)           # a key of app.notify.kinds.KINDS
    params = peewee.TextField(default="{}")          # JSON: the values its text is made of (names, titles, excerpts)
    link = peewee.CharField(max_length=300, null=True)   # a path on the tenant's host
    ref = peewee.CharField(max_length=64, null=True)     # what it is about, e.g. "ding:12": handling that reads it
    email = peewee.BooleanField(default=False)       # it warrants an email
    created_at = peewee.DateTimeField(default=utcnow)
    read_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = (   # unread counts; a person's list newest first (both lead with person: no index of its own)
            (("person", "read_at"), False),
            (("person", "created_at"), False),
        )


class NotificationPreference(TenantModel):
    """A person's choices about email: the daily digest of unread notifications."""

    person = peewee.ForeignKeyField(Person, on_delete="CASCADE", unique=True)
    daily_digest = peewee.BooleanField(default=False)
    last_digest_at = peewee.DateTimeField(null=True)   # UTC; at most one digest per local day


class EmailSettings(TenantModel):
    """A tenant's email: on or off, its sender, when an unconfirmed DING is emailed, when digests go out."""

    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE", unique=True)   # one row per tenant
    enabled = peewee.BooleanField(default=False)
    from_address = peewee.CharField(max_length=254, null=True)   # empty: the install's smtp.from_address
    from_name = peewee.CharField(max_length=200, null=True)      # empty: the brand's product name
    ding_delay_minutes = peewee.IntegerField(default=10)
    digest_time = peewee.CharField(max_length=5, default="08:00")   # local time in each person's zone


class OutgoingEmail(TenantModel):
    """One email to one person, queued in the database and sent by the worker (see app.notify.outbox)."""

    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    notification = peewee.ForeignKeyField(Notification, null=True, on_delete="SET NULL")
    kind = peewee.CharField(max_length=32)
    params = peewee.TextField(default="{}")
    link = peewee.CharField(max_length=300, null=True)
    to_address = peewee.CharField(max_length=254)
    urgent = peewee.BooleanField(default=False)      # goes out even off work (DINGs)
    dedupe_key = peewee.CharField(max_length=100, null=True)   # one email per key and tenant, however often queued
    message_id = peewee.CharField(max_length=250, unique=True)  # fixed when queued: every attempt carries it
    state = peewee.CharField(max_length=16, default="queued")
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(default=utcnow)
    claim = peewee.CharField(max_length=32, null=True)          # the token of the worker holding it
    lease_until = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    handed_at = peewee.DateTimeField(null=True)
    sent_at = peewee.DateTimeField(null=True)
    detail = peewee.CharField(max_length=300, null=True)        # the last error, or how the outcome was decided

    class Meta:
        indexes = (
            (("state", "next_attempt_at"), False),
            (("tenant", "dedupe_key"), True),
        )
