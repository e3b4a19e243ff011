"""Approvals: the templates people fill in, the requests they make, each request's route, copies and history."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.residency.models import Blob
from app.tenancy.models import TenantModel

KINDS = ("leave", "expense", "general", "attendance_correction")
STATUSES = ("pending", "approved", "rejected", "returned", "withdrawn")
ROUTE_MODES = ("manager", "department_head")
STEP_STATES = ("waiting", "pending", "approved", "rejected", "returned", "cancelled")


class ApprovalTemplate(TenantModel):
    """One kind of request in one tenant: its extra fields and its route, both set by the tenant's admins."""

    kind = peewee.CharField(max_length=32)
    name = peewee.CharField(max_length=100, null=True)          # None: the built-in name, in the reader's language
    description = peewee.CharField(max_length=500, null=True)
    enabled = peewee.BooleanField(default=True)
    fields = peewee.TextField(default="[]")                     # the admins' extra fields, JSON
    route_mode = peewee.CharField(max_length=16, default="manager")
    route_depth = peewee.IntegerField(default=1)                 # managers (or department heads) up the chart
    extra_approvers = peewee.TextField(default="[]")             # person ids after the chain, JSON
    copied = peewee.TextField(default="[]")                      # person ids who see every request, JSON
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "kind"), True),)


class Approval(TenantModel):
    """A request someone made, with the values they gave and where it stands."""

    template = peewee.ForeignKeyField(ApprovalTemplate, on_delete="RESTRICT")
    kind = peewee.CharField(max_length=32)
    applicant = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    fields = peewee.TextField()                 # the form's fields when it was (re)submitted, JSON
    answers = peewee.TextField()                # what the applicant gave, JSON keyed by field
    title = peewee.CharField(max_length=200, null=True)
    amount_minor = peewee.BigIntegerField(null=True)            # an expense in the currency's minor unit
    currency = peewee.CharField(max_length=3, null=True)
    starts_on = peewee.DateField(null=True)                     # a leave's first and last day
    ends_on = peewee.DateField(null=True)
    status = peewee.CharField(max_length=16, default="pending")
    round = peewee.IntegerField(default=1)                      # one more each time it is resubmitted
    version = peewee.IntegerField(default=1)                    # one more with every change: stale forms are refused
    submit_key = peewee.CharField(max_length=64)                # a form sent twice finds the request it made
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    decided_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = (
            (("applicant", "submit_key"), True),
            (("applicant", "created_at"), False),
            (("kind", "status", "starts_on"), False),
        )


class ApprovalStep(TenantModel):
    """One approver's turn on a request's route, in one round."""

    approval = peewee.ForeignKeyField(Approval, backref="steps", on_delete="CASCADE", index=False)
    round = peewee.IntegerField()
    position = peewee.IntegerField()
    approver = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    assigned_from = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")   # whom it was meant for
    role = peewee.CharField(max_length=16)      # manager, department_head, extra, admin
    level = peewee.IntegerField(default=1)
    state = peewee.CharField(max_length=16, default="waiting")
    acted_at = peewee.DateTimeField(null=True)
    comment = peewee.TextField(null=True)

    class Meta:
        indexes = (
            (("approval", "round", "position"), True),
            (("approver", "state"), False),
        )


class ApprovalCopy(TenantModel):
    """Someone copied on a request: they may read it and hear of its outcome."""

    approval = peewee.ForeignKeyField(Approval, backref="copies", on_delete="CASCADE", index=False)
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")

    class Meta:
        indexes = ((("approval", "person"), True),)


class ApprovalAction(TenantModel):
    """One line of a request's history: who did what, or where the route went and why."""

    approval = peewee.ForeignKeyField(Approval, backref="actions", on_delete="CASCADE", index=False)
    actor = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    action = peewee.CharField(max_length=24)
    note = peewee.TextField(null=True)          # a reason or comment as typed
    detail = peewee.TextField(default="{}")     # names and reasons for rerouting, JSON
    round = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("approval", "id"), False),)


class ApprovalAttachment(TenantModel):
    """A file given with a request (receipts of an expense), kept in the tenant's blob store."""

    approval = peewee.ForeignKeyField(Approval, backref="attachments", on_delete="CASCADE")
    blob = peewee.ForeignKeyField(Blob, null=True, on_delete="SET NULL")
    name = peewee.CharField(max_length=200)
    created_at = peewee.DateTimeField(default=utcnow)
