"""Conversations, their members (with how far each has read) and messages."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Department, Person
from app.residency.models import Blob
from app.tenancy.models import TenantModel

KINDS = ("direct", "group", "department")


class Conversation(TenantModel):
    kind = peewee.CharField(max_length=16)
    title = peewee.CharField(max_length=200, null=True)
    direct_key = peewee.CharField(max_length=40, null=True)   # "lowid:highid" so a pair has one direct chat
    department = peewee.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    created_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    last_message_id = peewee.IntegerField(null=True)
    last_message_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "direct_key"), True),)


class ConversationMember(TenantModel):
    conversation = peewee.ForeignKeyField(Conversation, backref="members", on_delete="CASCADE")
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    last_read_id = peewee.IntegerField(default=0)   # every message up to this id is read
    joined_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("conversation", "person"), True),)


class Message(TenantModel):
    conversation = peewee.ForeignKeyField(Conversation, on_delete="CASCADE")
    sender = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    kind = peewee.CharField(max_length=16, default="text")
    text = peewee.TextField()
    search_text = peewee.TextField()
    reply_to = peewee.ForeignKeyField("self", null=True, on_delete="SET NULL")
    attachment = peewee.ForeignKeyField(Blob, null=True, on_delete="SET NULL")
    attachment_name = peewee.CharField(max_length=200, null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    edited_at = peewee.DateTimeField(null=True)
    recalled_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("conversation", "id"), False), (("sender", "created_at"), False))


class MessageMention(TenantModel):
    message = peewee.ForeignKeyField(Message, on_delete="CASCADE")
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
