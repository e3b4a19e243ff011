"""Work circle: posts with images, likes and comments, seen by the tenant or by chosen departments.

A post addressed to departments is seen by the active people of those
departments and their sub-departments (resolved when someone reads, as for
announcements), by its author and by the tenant's admins; to anyone else it
does not exist. Every change is announced live to those who see the post,
through one `_announce_*` function per occasion.
"""
from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass, field

import peewee
from flask_babel import lazy_gettext as _l

from app.chat.render import render_text
from app.circle.images import MAX_IMAGES, PreparedImage, prepare_image
from app.circle.models import CircleComment, CircleImage, CircleLike, CirclePost, CirclePostDepartment
from app.db import db, utcnow
from app.events import publish
from app.org.models import Person
from app.org.service import chosen_departments, departments_reaching, members_under
from app.residency.blobs import BlobError, get_store, save_blob
from app.residency.models import Blob
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import ValidationError, clean_long_text
from app.security.permissions import TENANT_MANAGE, allowed

log = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 5000
MAX_COMMENT_LENGTH = 1000
LATEST_COMMENTS = 3               # comments shown under a post in the feed; its page shows them all
_ID = re.compile(r"[0-9]{1,12}")


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def post_url(post_id: int) -> str:
    """The page of one post (a fixed path, so no request is needed to build it)."""
    return f"/circle/posts/{post_id}"


# --- who sees what -----------------------------------------------------------------------------

def addressed_departments(post: CirclePost) -> list[int]:
    """The ids of the departments a post is addressed to (none when to the whole tenant)."""
    return [d for (d,) in CirclePostDepartment.select(CirclePostDepartment.department)
            .where(CirclePostDepartment.post == post.id).tuples()]


def _visible(tenant: Tenant, person: Person) -> peewee.Expression:
    """Posts the person may see: to everyone, their own, to a department they sit in or under; admins see all."""
    if allowed(person, TENANT_MANAGE):
        return CirclePost.id.is_null(False)
    above = departments_reaching(tenant, person)
    condition = (CirclePost.to_all == True) | (CirclePost.author == person.id)  # noqa: E712
    if above:
        condition |= CirclePost.id.in_(CirclePostDepartment.select(CirclePostDepartment.post)
                                       .where(CirclePostDepartment.department.in_(list(above))))
    return condition


def posts_for(tenant: Tenant, person: Person):
    """The posts the person sees, newest first, each with its author."""
    return (TenantScope(tenant).select(CirclePost, CirclePost, Person)
            .join(Person, on=(CirclePost.author == Person.id))
            .where(_visible(tenant, person))
            .order_by(CirclePost.created_at.desc(), CirclePost.id.desc()))


def post_for(tenant: Tenant, person: Person, post_id) -> CirclePost | None:
    """One post the person sees (with its author), or None: others do not exist for them."""
    if not _ID.fullmatch(str(post_id)):
        return None
    return posts_for(tenant, person).where(CirclePost.id == int(post_id)).first()


def audience_ids(tenant: Tenant, post: CirclePost) -> list[int] | None:
    """Who sees a post now: None for the whole tenant, else the people of its departments, its author, admins."""
    if post.to_all:
        return None
    members = members_under(tenant, addressed_departments(post))
    people = Person.active(tenant).where(Person.id.in_(members) | (Person.role == "admin"))
    return sorted({pid for (pid,) in people.select(Person.id).tuples()} | {post.author_id})


def may_delete_post(person: Person, post: CirclePost) -> bool:
    return allowed(person, TENANT_MANAGE) or post.author_id == person.id


def may_delete_comment(person: Person, post: CirclePost, comment: CircleComment) -> bool:
    return allowed(person, TENANT_MANAGE) or post.author_id == person.id or comment.author_id == person.id


# --- what a page of posts shows ----------------------------------------------------------------

@dataclass
class PostDetails:
    """A post's images, likes and comments as the feed shows them to one person."""

    images: list[CircleImage] = field(default_factory=list)
    likes: int = 0
    liked: bool = False
    comments: list[CircleComment] = field(default_factory=list)   # the latest ones, oldest first
    comment_count: int = 0
    departments: list[int] = field(default_factory=list)


def details(posts: list[CirclePost], person: Person, latest: int | None = LATEST_COMMENTS) -> dict[int, PostDetails]:
    """post id -> what the feed shows of it; latest=None gives every comment."""
    ids = [p.id for p in posts]
    found = {pid: PostDetails() for pid in ids}
    if not ids:
        return found
    for image in (CircleImage.select().where(CircleImage.post.in_(ids))
                  .order_by(CircleImage.post, CircleImage.position)):
        found[image.post_id].images.append(image)
    for pid, count in (CircleLike.select(CircleLike.post, peewee.fn.COUNT(CircleLike.id))
                       .where(CircleLike.post.in_(ids)).group_by(CircleLike.post).tuples()):
        found[pid].likes = count
    for (pid,) in (CircleLike.select(CircleLike.post)
                   .where(CircleLike.post.in_(ids) & (CircleLike.person == person.id)).tuples()):
        found[pid].liked = True
    for pid, count in (CircleComment.select(CircleComment.post, peewee.fn.COUNT(CircleComment.id))
                       .where(CircleComment.post.in_(ids)).group_by(CircleComment.post).tuples()):
        found[pid].comment_count = count
    for pid, dept in (CirclePostDepartment.select(CirclePostDepartment.post, CirclePostDepartment.department)
                      .where(CirclePostDepartment.post.in_(ids)).tuples()):
        found[pid].departments.append(dept)
    for pid in ids:
        if not found[pid].comment_count:
            continue
        rows = (CircleComment.select(CircleComment, Person).join(Person, on=(CircleComment.author == Person.id))
                .where(CircleComment.post == pid).order_by(CircleComment.id.desc()))
        if latest is not None:
            rows = rows.limit(latest)
        found[pid].comments = list(reversed(list(rows)))
    return found


# --- live updates: one function per occasion ---------------------------------------------------

def comment_json(comment: CircleComment, author: Person) -> dict:
    """A comment as clients receive it (its text already rendered safe)."""
    return {"id": comment.id, "post": comment.post_id, "author": {"id": author.id, "name": author.display_name},
            "text": comment.text, "html": str(render_text(comment.text)), "created_at": _iso(comment.created_at)}


def _publish(tenant: Tenant, post: CirclePost, payload: dict) -> None:
    people = audience_ids(tenant, post)
    if people is None:
        publish(tenant, "circle", payload)
        return
    for pid in people:
        publish(tenant, "circle", payload, person=pid)


def _announce_post(tenant: Tenant, post: CirclePost, author: Person) -> None:
    """A new post reaches everyone who sees it."""
    _publish(tenant, post, {"action": "post", "id": post.id, "author": author.id, "author_name": author.display_name,
                            "url": post_url(post.id)})


def _announce_like(tenant: Tenant, post: CirclePost, person: Person, liked: bool, likes: int) -> None:
    """Someone liked a post, or took the like back; the post's author is the one who cares."""
    _publish(tenant, post, {"action": "like", "id": post.id, "person": person.id, "person_name": person.display_name,
                            "liked": liked, "likes": likes, "author": post.author_id})


def _announce_comment(tenant: Tenant, post: CirclePost, comment: CircleComment, author: Person, count: int) -> None:
    """Someone commented on a post; its author is the one who cares."""
    _publish(tenant, post, {"action": "comment", "id": post.id, "comment": comment_json(comment, author),
                            "comments": count, "author": post.author_id})


def _announce_comment_deleted(tenant: Tenant, post: CirclePost, comment_id: int, count: int) -> None:
    """A comment was deleted: it disappears from every page."""
    _publish(tenant, post, {"action": "comment_deleted", "id": post.id, "comment": comment_id, "comments": count})


def _announce_post_deleted(tenant: Tenant, post: CirclePost, audience: list[int] | None) -> None:
    """A post was deleted: it disappears from every page (its audience is taken before the rows go)."""
    payload = {"action": "post_deleted", "id": post.id}
    if audience is None:
        publish(tenant, "circle", payload)
    else:
        for pid in audience:
            publish(tenant, "circle", payload, person=pid)


# --- posting, liking, commenting, deleting -------------------------------------------------------

def _delete_blobs(found: list[Blob]) -> None:
    """Rows first, then files: a file whose deletion fails is an orphan `atrium storage fsck` finds."""
    if not found:
        return
    Blob.delete().where(Blob.id.in_([b.id for b in found])).execute()
    for blob in found:
        try:
            get_store(blob.store).delete(blob.key)
        except (BlobError, OSError) as exc:
            log.warning("circle image blob %s stays in store %s for `atrium storage fsck`: %s", blob.id, blob.store,
                        type(exc).__name__)


def create_post(tenant: Tenant, author: Person, text, *, to_all: bool = True, department_ids=(),
                images: list[bytes] = (), now: datetime.datetime | None = None) -> CirclePost:
    """Post to the tenant or to departments, with up to MAX_IMAGES images; a refused value saves nothing."""
    text = clean_long_text(text, "text", max_length=MAX_TEXT_LENGTH, required=False)
    if len(images) > MAX_IMAGES:
        raise ValidationError("images", _l("At most %(n)d images.", n=MAX_IMAGES))
    if not text and not images:
        raise ValidationError("text", _l("Write something or add an image."))
    departments = [] if to_all else chosen_departments(tenant, department_ids)
    prepared: list[PreparedImage] = [prepare_image(data) for data in images]
    stored: list[tuple[PreparedImage, Blob, Blob]] = []
    try:
        # The files are written before the transaction, so a slow store never holds the database's write lock.
        for image in prepared:
            blob = save_blob(tenant, image.data, image.content_type)
            stored.append((image, blob, save_blob(tenant, image.thumb, image.content_type)))
        with db.atomic():
            post = CirclePost.create(tenant=tenant, author=author, text=text, to_all=bool(to_all),
                                     created_at=now or utcnow())
            if departments:
                CirclePostDepartment.insert_many([{"tenant": tenant.id, "post": post.id, "department": d}
                                                  for d in departments]).execute()
            for position, (image, blob, thumb) in enumerate(stored):
                CircleImage.create(tenant=tenant, post=post, blob=blob, thumb=thumb, position=position,
                                   width=image.width, height=image.height)
            _announce_post(tenant, post, author)
    except BaseException:
        _delete_blobs([b for _image, blob, thumb in stored for b in (blob, thumb)])
        raise
    return post


def delete_post(tenant: Tenant, person: Person, post_id) -> None:
    """Delete a post with its images, likes and comments (its author or an admin); LookupError when unseen."""
    post = post_for(tenant, person, post_id)
    if post is None:
        raise LookupError(post_id)
    if not may_delete_post(person, post):
        raise PermissionError(post_id)
    audience = audience_ids(tenant, post)
    images = list(CircleImage.select().where(CircleImage.post == post.id))
    blobs = list(Blob.select().where(Blob.id.in_([i.blob_id for i in images] + [i.thumb_id for i in images] or [0])))
    with db.atomic():
        CirclePost.delete().where(CirclePost.id == post.id).execute()
        _announce_post_deleted(tenant, post, audience)
    _delete_blobs(blobs)


def _likes(post: CirclePost) -> int:
    return CircleLike.select().where(CircleLike.post == post.id).count()


def set_like(tenant: Tenant, person: Person, post_id, liked: bool) -> tuple[bool, int]:
    """Like a post or take the like back; again changes nothing. (liked, likes); LookupError when unseen."""
    post = post_for(tenant, person, post_id)
    if post is None:
        raise LookupError(post_id)
    mine = (CircleLike.post == post.id) & (CircleLike.person == person.id)
    with db.atomic():
        if liked:
            changed = not CircleLike.select().where(mine).exists()
            if changed:
                CircleLike.insert(tenant=tenant.id, post=post.id, person=person.id,
                                  created_at=utcnow()).on_conflict_ignore().execute()
        else:
            changed = bool(CircleLike.delete().where(mine).execute())
        count = _likes(post)
        if changed:
            _announce_like(tenant, post, person, liked, count)
    return liked, count


def _comments(post: CirclePost) -> int:
    return CircleComment.select().where(CircleComment.post == post.id).count()


def add_comment(tenant: Tenant, person: Person, post_id, text) -> CircleComment:
    """Comment on a post one sees; LookupError when unseen."""
    post = post_for(tenant, person, post_id)
    if post is None:
        raise LookupError(post_id)
    text = clean_long_text(text, "text", max_length=MAX_COMMENT_LENGTH, required=True)
    with db.atomic():
        comment = CircleComment.create(tenant=tenant, post=post, author=person, text=text)
        _announce_comment(tenant, post, comment, person, _comments(post))
    return comment


def delete_comment(tenant: Tenant, person: Person, post_id, comment_id) -> None:
    """Delete a comment (its author, the post's author or an admin); LookupError when unseen."""
    post = post_for(tenant, person, post_id)
    comment = TenantScope(tenant).get_or_none(CircleComment, comment_id) if post else None
    if comment is None or comment.post_id != post.id:
        raise LookupError(comment_id)
    if not may_delete_comment(person, post, comment):
        raise PermissionError(comment_id)
    with db.atomic():
        CircleComment.delete().where(CircleComment.id == comment.id).execute()
        _announce_comment_deleted(tenant, post, comment.id, _comments(post))


def image_for(tenant: Tenant, person: Person, image_id) -> CircleImage | None:
    """An image of a post the person sees, or None."""
    image = TenantScope(tenant).get_or_none(CircleImage, image_id)
    if image is None or post_for(tenant, person, image.post_id) is None:
        return None
    return image
