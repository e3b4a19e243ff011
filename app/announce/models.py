"""Announcements: published to the whole tenant or to departments, each reader confirming."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Department, Person
from app.tenancy.models import TenantModel


class Announcement(TenantModel):
    author = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    title = peewee.CharField(max_length=200)
    body = peewee.TextField()
    important = peewee.BooleanField(default=False)
    to_all = peewee.BooleanField(default=False)   # else: the people of the addressed departments' subtrees
    created_at = peewee.DateTimeField(default=utcnow, index=True)


class AnnouncementDepartment(TenantModel):
    announcement = peewee.ForeignKeyField(Announcement, backref="departments", on_delete="CASCADE", index=False)
    department = peewee.ForeignKeyField(Department, on_delete="CASCADE")

    class Meta:
        indexes = ((("announcement", "department"), True),)   # leads with announcement: no index of its own


class AnnouncementRead(TenantModel):
    announcement = peewee.ForeignKeyField(Announcement, backref="reads", on_delete="CASCADE", index=False)
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    confirmed_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("announcement", "person"), True),)   # one confirmation each; leads with announcement
