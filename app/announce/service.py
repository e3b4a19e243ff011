"""Announcements: publishing, who they reach, read confirmations and read rates; plain functions over a tenant.

The audience is resolved when someone reads, not when it is published: the whole
tenant, or the active people of the addressed departments and their
sub-departments, so a person who joins a department later sees what it was told.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

import peewee
from flask_babel import lazy_gettext as _l

from app.announce.models import Announcement, AnnouncementDepartment, AnnouncementRead
from app.audit import record
from app.db import db, utcnow
from app.events import publish
from app.notify import excerpt, mark_read_by_ref, notify
from app.org.models import INTEGRATION, Membership, Person
from app.org.service import OrgIndex, chosen_departments, departments_reaching, members_under
from app.security.permissions import ANNOUNCE_PUBLISH, ANNOUNCE_STATS, allowed, department_scope
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import ValidationError, clean_long_text, clean_text

MAX_TITLE_LENGTH = 200
MAX_BODY_LENGTH = 10000
_ID = re.compile(r"[0-9]{1,12}")


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def announcement_url(announcement_id: int) -> str:
    """The page of one announcement (a fixed path, so no request is needed to build it)."""
    return f"/announcements/{announcement_id}"


# --- who may publish to whom ----------------------------------------------------------------

def allowed_departments(tenant: Tenant, person: Person, index: OrgIndex | None = None) -> set[int] | None:
    """Departments the person may address: None for an admin or an integration (any, or everyone), else the
    subtrees of those they head. An integration reaches this only with a token an admin gave announcements:write."""
    if person.source == INTEGRATION:
        return None
    return department_scope(person, ANNOUNCE_PUBLISH)


def can_publish(tenant: Tenant, person: Person) -> bool:
    """Admins and department heads publish; everyone else only reads."""
    return allowed(person, ANNOUNCE_PUBLISH)


def announcement_payload(announcement: Announcement, author: Person) -> dict:
    """What clients receive when an announcement is published."""
    return {"id": announcement.id, "title": announcement.title, "author": author.id, "author_name": author.display_name,
            "important": announcement.important, "created_at": _iso(announcement.created_at),
            "url": announcement_url(announcement.id)}


def publish_announcement(tenant: Tenant, author: Person, title, body, *, to_all: bool = False, department_ids=(),
                         important: bool = False, now: datetime.datetime | None = None) -> Announcement:
    """Publish to everyone (admins) or to departments' subtrees; PermissionError for someone who may not publish."""
    reach = allowed_departments(tenant, author)
    if reach == set():
        raise PermissionError(author.id)
    title = clean_text(title, "title", required=True, max_length=MAX_TITLE_LENGTH)
    body = clean_long_text(body, "body", max_length=MAX_BODY_LENGTH, required=True)
    if to_all:
        if reach is not None:
            raise ValidationError("departments", _l("Only admins can address everyone."))
        departments: list[int] = []
    else:
        departments = chosen_departments(tenant, department_ids, reach)
    with db.atomic():
        announcement = Announcement.create(tenant=tenant, author=author, title=title, body=body,
                                           important=bool(important), to_all=bool(to_all), created_at=now or utcnow())
        if departments:
            AnnouncementDepartment.insert_many([{"tenant": tenant.id, "announcement": announcement.id, "department": d}
                                                for d in departments]).execute()
        record("announcement.publish", target=announcement, tenant=tenant, actor=author,
               changes={"after": {"title": title, "to_all": bool(to_all), "departments": departments,
                                  "important": bool(important)}})
        payload = announcement_payload(announcement, author)
        readers = [pid for (pid,) in audience(tenant, announcement).select(Person.id).tuples()]
        if to_all:
            publish(tenant, "announcement", payload)
        else:
            for pid in readers:
                publish(tenant, "announcement", payload, person=pid)
        # Important ones are emailed too (in working hours): the notification centre keeps the rest.
        notify(tenant, readers, "important_announcement" if announcement.important else "announcement",
               {"sender": author.display_name, "title": title, "text": excerpt(body)},
               link=announcement_url(announcement.id), ref=f"announcement:{announcement.id}",
               email=announcement.important, now=announcement.created_at)
    return announcement


# --- who reads what -------------------------------------------------------------------------

def addressed_departments(announcement: Announcement) -> list[int]:
    """The ids of the departments it was addressed to (none when to everyone)."""
    return [d for (d,) in AnnouncementDepartment.select(AnnouncementDepartment.department)
            .where(AnnouncementDepartment.announcement == announcement).tuples()]


def audience(tenant: Tenant, announcement: Announcement, index: OrgIndex | None = None):
    """The active people it addresses now (its author aside), as a query."""
    people = Person.active(tenant).where(Person.id != announcement.author_id)
    if announcement.to_all:
        return people
    return people.where(Person.id.in_(members_under(tenant, addressed_departments(announcement), index)))


def _visible(tenant: Tenant, person: Person, index: OrgIndex | None = None) -> peewee.Expression:
    """Announcements the person may read: to everyone, their own, or to a department they sit in or under."""
    above = departments_reaching(tenant, person, index)
    condition = (Announcement.to_all == True) | (Announcement.author == person.id)  # noqa: E712
    if above:
        condition |= Announcement.id.in_(AnnouncementDepartment.select(AnnouncementDepartment.announcement)
                                         .where(AnnouncementDepartment.department.in_(list(above))))
    return condition


def _read_by(person: Person):
    return AnnouncementRead.select(AnnouncementRead.announcement).where(AnnouncementRead.person == person.id)


def announcements_for(tenant: Tenant, person: Person):
    """The person's announcements with their authors: unread first, then newest."""
    done = peewee.Case(None, [(Announcement.id.in_(_read_by(person)) | (Announcement.author == person.id), 1)], 0)
    return (TenantScope(tenant).select(Announcement, Announcement, Person)
            .join(Person, on=(Announcement.author == Person.id))
            .where(_visible(tenant, person))
            .order_by(done, Announcement.created_at.desc(), Announcement.id.desc()))


def announcement_for(tenant: Tenant, person: Person, announcement_id) -> Announcement | None:
    """One announcement the person may read (with its author), or None: others do not exist for them."""
    if not _ID.fullmatch(str(announcement_id)):
        return None
    return announcements_for(tenant, person).where(Announcement.id == int(announcement_id)).first()


def read_times(person: Person, announcement_ids: list[int]) -> dict[int, datetime.datetime]:
    """When the person confirmed each of these announcements (those not confirmed are absent)."""
    return dict(AnnouncementRead.select(AnnouncementRead.announcement, AnnouncementRead.confirmed_at)
                .where((AnnouncementRead.person == person.id)
                       & AnnouncementRead.announcement.in_(announcement_ids or [0])).tuples())


def confirm_read(tenant: Tenant, person: Person, announcement_id) -> datetime.datetime:
    """Confirm having read an announcement; again changes nothing. LookupError when the person may not read it."""
    found = announcement_for(tenant, person, announcement_id)
    if found is None:
        raise LookupError(announcement_id)
    with db.atomic():
        AnnouncementRead.insert(tenant=tenant.id, announcement=found.id, person=person.id,
                                confirmed_at=utcnow()).on_conflict_ignore().execute()
        mark_read_by_ref(tenant, person, f"announcement:{found.id}")
    return (AnnouncementRead.select(AnnouncementRead.confirmed_at)
            .where((AnnouncementRead.announcement == found.id) & (AnnouncementRead.person == person.id)).scalar())


def may_see_stats(person: Person, announcement: Announcement) -> bool:
    """Its author and the tenant's admins see who has read it."""
    return allowed(person, ANNOUNCE_STATS, announcement)


@dataclass
class DepartmentRate:
    """How many of one department's addressed people have read it."""

    department_id: int | None     # the readers' primary department; None for people without one
    read: int = 0
    total: int = 0


@dataclass
class ReadStats:
    """Read counts overall and per department, and who has not read it yet."""

    read: int = 0
    total: int = 0
    departments: list[DepartmentRate] = field(default_factory=list)
    unread: list[tuple[Person, int | None]] = field(default_factory=list)   # (person, primary department id)

    @property
    def rate(self) -> float:
        return self.read / self.total if self.total else 0.0


def read_stats(tenant: Tenant, announcement: Announcement, index: OrgIndex | None = None) -> ReadStats:
    """Read rate overall and per primary department of the audience, and who has not read it yet."""
    index = index or OrgIndex(tenant)
    read_ids = {p for (p,) in AnnouncementRead.select(AnnouncementRead.person)
                .where(AnnouncementRead.announcement == announcement).tuples()}
    rows = (audience(tenant, announcement, index).select(Person, Membership.department.alias("primary_id"))
            .join(Membership, peewee.JOIN.LEFT_OUTER,
                  on=((Membership.person == Person.id) & (Membership.is_primary == True)))  # noqa: E712
            .order_by(Person.display_name, Person.id).objects())
    stats, by_dept, seen = ReadStats(), {}, set()
    for person in rows:
        if person.id in seen:   # a second primary membership, which the org chart should not have
            continue
        seen.add(person.id)
        dept_id = person.primary_id
        rate = by_dept.setdefault(dept_id, DepartmentRate(dept_id))
        rate.total += 1
        stats.total += 1
        if person.id in read_ids:
            rate.read += 1
            stats.read += 1
        else:
            stats.unread.append((person, dept_id))
    stats.departments = sorted(by_dept.values(), key=lambda r: (r.department_id is None,
                                                                [d.name for d in index.path(r.department_id)]))
    return stats
