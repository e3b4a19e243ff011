"""Tasks: work one person gives to others, with a due date, priority, progress and a timeline of comments."""
from __future__ import annotations

import peewee

from app.chat.models import Message
from app.db import utcnow
from app.org.models import Person
from app.tenancy.models import TenantModel

PRIORITIES = ("low", "normal", "high", "urgent")      # stored as 1..4, so they sort
STATUSES = ("todo", "in_progress", "done", "cancelled")
OPEN_STATUSES = ("todo", "in_progress")


class Task(TenantModel):
    creator = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    title = peewee.CharField(max_length=200)
    description = peewee.TextField(default="")
    priority = peewee.IntegerField(default=2)
    status = peewee.CharField(max_length=16, default="todo")
    percent = peewee.IntegerField(default=0)
    due_at = peewee.DateTimeField(null=True, index=True)      # UTC; entered in the creator's time zone
    # The chat message it was made from; the message may be recalled or deleted later, the task stays.
    source_message = peewee.ForeignKeyField(Message, null=True, on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    completed_at = peewee.DateTimeField(null=True)
    last_reminded_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("creator", "created_at"), False),)   # leads with creator: no index of its own

    @property
    def priority_name(self) -> str:
        return PRIORITIES[min(max(self.priority, 1), len(PRIORITIES)) - 1]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TaskAssignee(TenantModel):
    task = peewee.ForeignKeyField(Task, backref="assignees", on_delete="CASCADE", index=False)
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    assigned_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("task", "person"), True),)   # one row per assignee; leads with task


class TaskComment(TenantModel):
    """A comment, or a progress update (status and percent set) with an optional note."""

    task = peewee.ForeignKeyField(Task, backref="comments", on_delete="CASCADE", index=False)
    author = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    text = peewee.TextField(default="")
    status = peewee.CharField(max_length=16, null=True)
    percent = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("task", "id"), False),)
