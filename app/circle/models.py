"""Work circle: a tenant-internal feed of posts with images, likes and comments."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Department, Person
from app.residency.models import Blob
from app.tenancy.models import TenantModel


class CirclePost(TenantModel):
    author = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    text = peewee.TextField(default="")
    to_all = peewee.BooleanField(default=True)   # else: the people of the chosen departments' subtrees
    created_at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("author", "created_at"), False),)


class CirclePostDepartment(TenantModel):
    post = peewee.ForeignKeyField(CirclePost, backref="departments", on_delete="CASCADE", index=False)
    department = peewee.ForeignKeyField(Department, on_delete="CASCADE")

    class Meta:
        indexes = ((("post", "department"), True),)


class CircleImage(TenantModel):
    """One image of a post: the re-encoded picture and its thumbnail, both without metadata."""

    post = peewee.ForeignKeyField(CirclePost, backref="images", on_delete="CASCADE", index=False)
    blob = peewee.ForeignKeyField(Blob, backref="circle_images", on_delete="CASCADE")
    thumb = peewee.ForeignKeyField(Blob, backref="circle_thumbs", on_delete="CASCADE")
    position = peewee.IntegerField(default=0)
    width = peewee.IntegerField()
    height = peewee.IntegerField()

    class Meta:
        indexes = ((("post", "position"), False),)


class CircleLike(TenantModel):
    post = peewee.ForeignKeyField(CirclePost, backref="likes", on_delete="CASCADE", index=False)
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("post", "person"), True),)


class CircleComment(TenantModel):
    post = peewee.ForeignKeyField(CirclePost, backref="comments", on_delete="CASCADE", index=False)
    author = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    text = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("post", "id"), False),)
