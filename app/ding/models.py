"""DINGs: urgent messages each recipient must confirm, reminded until they do."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.tenancy.models import TenantModel


class Ding(TenantModel):
    sender = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    text = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow)
    send_at = peewee.DateTimeField(null=True, index=True)   # scheduled for later; None means at once
    sent_at = peewee.DateTimeField(null=True)               # when recipients were first alerted
    stopped_at = peewee.DateTimeField(null=True)            # the sender stopped reminders (or cancelled)
    remind_minutes = peewee.IntegerField(default=5)

    class Meta:
        # Composite indexes lead with the foreign keys, which therefore need none of their own.
        indexes = ((("sender", "created_at"), False),)


class DingRecipient(TenantModel):
    ding = peewee.ForeignKeyField(Ding, backref="recipients", on_delete="CASCADE", index=False)
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    confirmed_at = peewee.DateTimeField(null=True)
    last_alert_at = peewee.DateTimeField(null=True)
    alerts = peewee.IntegerField(default=0)
    escalated_at = peewee.DateTimeField(null=True)          # when the still unconfirmed DING was emailed

    class Meta:
        indexes = (   # one row per recipient; a person's unconfirmed DINGs; who is due for a reminder
            (("ding", "person"), True),
            (("person", "confirmed_at"), False),
            (("confirmed_at", "last_alert_at"), False),
        )
