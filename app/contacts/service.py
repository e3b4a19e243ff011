"""External contacts: who sees and changes them, stand-ins, handovers, history and CSV import.

Who may see a contact: its responsible employee (the owner), the people it is
shared with, the owner's managers up the chain, the owner's stand-in while the
owner is on leave, and the tenant's admins. A contact always has an owner: when
the owner leaves the company (deactivated by an admin or by the directory sync)
the contacts stay with them, visible to their manager, and the manager (or, with
no active manager up the chain, the tenant's admins) is offered to hand them
over in one step.
"""
from __future__ import annotations

import csv
import datetime
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field

import peewee
from flask_babel import lazy_gettext as _l

from app.contacts.models import (CALL_DIRECTIONS, KINDS, PHONE_LABELS, Contact, ContactImport, ContactPhone,
                                 ContactSettings, ContactShare, ContactTag, ContactTagging, Interaction, StandIn)
from app.contacts.phones import normalise_phone, phone_label_guess, valid_country_code
from app.db import db, utcnow
from app.events import publish
from app.org.models import Person
from app.org.service import on_deactivation
from app.org.status import person_zone
from app.search import person_search_key
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import ValidationError, clean_email, clean_long_text, clean_text
from app.security.permissions import TENANT_MANAGE, allowed

KIND_NAMES = {"customer": _l("Customer"), "supplier": _l("Supplier"), "partner": _l("Partner")}
LABEL_NAMES = {"mobile": _l("Mobile"), "work": _l("Work"), "other": _l("Other")}
USER_KINDS = ("note", "visit", "call")      # what people add to a history; the rest the system writes
MAX_PHONES = 5
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_BODY_LENGTH = 5000
MAX_STAND_IN_DAYS = 366
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 2000
IMPORT_KEEP = datetime.timedelta(days=1)
_ID = re.compile(r"[0-9]{1,12}")
_SPLIT = re.compile(r"\s*[;；,，、]\s*")


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def contact_url(contact_id: int) -> str:
    """The page of one contact (a fixed path, so no request is needed to build it)."""
    return f"/contacts/{contact_id}"


def _int_id(value) -> int | None:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _ID.fullmatch(value))):
        return None
    return int(value)


# --- settings ---------------------------------------------------------------------------------

def country_code(tenant: Tenant) -> str:
    """The country code of numbers written without one (86 until an admin changes it)."""
    found = TenantScope(tenant).select(ContactSettings, ContactSettings.country_code).scalar()
    return found or ContactSettings.country_code.default


def set_country_code(tenant: Tenant, value) -> int:
    """Change the country code and re-read every stored number with it; returns how many numbers changed."""
    code = (value or "").strip().lstrip("+") if isinstance(value, str) else ""
    if not valid_country_code(code):
        raise ValidationError("country_code", _l("Give a country code of 1 to 3 digits, like 86."))
    changed = 0
    with db.atomic():
        if not ContactSettings.update(country_code=code).where(ContactSettings.tenant == tenant).execute():
            ContactSettings.create(tenant=tenant, country_code=code)
        for phone in TenantScope(tenant).select(ContactPhone):
            try:
                normalized = normalise_phone(phone.number, code)
            except ValidationError:
                continue   # a number that reads only with the old code keeps its old digits
            if normalized != phone.normalized:
                ContactPhone.update(normalized=normalized).where(ContactPhone.id == phone.id).execute()
                changed += 1
    return changed


# --- the org chart around an owner -------------------------------------------------------------

def manager_chain(tenant: Tenant, person_id: int | None, limit: int = 50) -> list[Person]:
    """The person's managers, nearest first (stops on a loop in the chain)."""
    chain, seen = [], {person_id}
    current = TenantScope(tenant).get_or_none(Person, person_id) if person_id else None
    while current is not None and current.manager_id and current.manager_id not in seen and len(chain) < limit:
        seen.add(current.manager_id)
        current = TenantScope(tenant).get_or_none(Person, current.manager_id)
        if current is not None:
            chain.append(current)
    return chain


def reports_query(tenant: Tenant, person: Person):
    """The ids of everyone below the person in the manager chain, as one recursive query."""
    base = TenantScope(tenant).select(Person, Person.id).where(Person.manager == person.id)
    cte = base.cte("reports", recursive=True, columns=("id",))
    below = Person.alias()
    cte = cte.union(below.select(below.id).join(cte, on=(below.manager == cte.c.id)))   # UNION ends a loop
    return cte.select_from(cte.c.id)


def successor(tenant: Tenant, departed: Person) -> Person | None:
    """Who is offered a departed owner's contacts: the nearest active manager up the chain (None: the admins)."""
    return next((p for p in manager_chain(tenant, departed.id) if p.is_active), None)


def admins(tenant: Tenant) -> list[Person]:
    return list(Person.active(tenant).where(Person.role == "admin").order_by(Person.id))


# --- stand-ins (temporary handovers) ----------------------------------------------------------

def _active(now: datetime.datetime):
    return StandIn.ended_at.is_null() & (StandIn.starts_at <= now) & (StandIn.ends_at > now)


def stand_in_for(tenant: Tenant, owner_id: int, now: datetime.datetime | None = None) -> StandIn | None:
    """The owner's stand-in in force now: the owner is on leave and the delegate acts for them."""
    return (TenantScope(tenant).select(StandIn).where((StandIn.owner == owner_id) & _active(now or utcnow()))
            .order_by(StandIn.starts_at.desc()).first())


def stand_ins_of(tenant: Tenant, person: Person, now: datetime.datetime | None = None) -> list[StandIn]:
    """Stand-ins not yet over where the person is the owner, the delegate or who arranged it, soonest first."""
    now = now or utcnow()
    return list(TenantScope(tenant).select(StandIn)
                .where(((StandIn.owner == person.id) | (StandIn.delegate == person.id) | (StandIn.created_by == person.id))
                       & StandIn.ended_at.is_null() & (StandIn.ends_at > now))
                .order_by(StandIn.starts_at, StandIn.id))


def may_arrange_for(tenant: Tenant, actor: Person, owner: Person) -> bool:
    """The owner themselves, their managers up the chain and admins arrange an owner's stand-ins and handovers."""
    return (allowed(actor, TENANT_MANAGE) or actor.id == owner.id
            or any(m.id == actor.id for m in manager_chain(tenant, owner.id)))


def _day(value, field_name: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(field_name, _l("Give a date like 2025-03-01."))


def set_stand_in(tenant: Tenant, actor: Person, owner_id, delegate_id, first_day, last_day,
                 now: datetime.datetime | None = None) -> StandIn:
    """The delegate acts for the owner on all their contacts from the first to the last day (in the owner's zone)."""
    now = now or utcnow()
    owner = TenantScope(tenant).get_or_none(Person, _int_id(owner_id))
    if owner is None or not owner.is_active or not may_arrange_for(tenant, actor, owner):
        raise ValidationError("owner", _l("Choose yourself or someone who reports to you."))
    delegate = TenantScope(tenant).get_or_none(Person, _int_id(delegate_id))
    if delegate is None or not delegate.is_active:
        raise ValidationError("delegate", _l("Choose an active colleague from the list."))
    if delegate.id == owner.id:
        raise ValidationError("delegate", _l("Choose someone other than the person on leave."))
    zone = person_zone(owner)
    today = now.replace(tzinfo=datetime.timezone.utc).astimezone(zone).date()
    first = today if first_day in (None, "") else _day(first_day, "first_day")
    if last_day in (None, ""):
        raise ValidationError("last_day", _l("Give the last day of the leave."))
    last = _day(last_day, "last_day")
    if first < today:
        raise ValidationError("first_day", _l("Choose today or a later day."))
    if last < first:
        raise ValidationError("last_day", _l("The last day cannot be before the first."))
    if (last - first).days >= MAX_STAND_IN_DAYS:
        raise ValidationError("last_day", _l("At most %(n)d days.", n=MAX_STAND_IN_DAYS))

    def utc(day: datetime.date) -> datetime.datetime:
        local = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
        return local.astimezone(datetime.timezone.utc).replace(tzinfo=None)

    starts_at, ends_at = utc(first), utc(last + datetime.timedelta(days=1))
    with db.atomic():
        clash = (TenantScope(tenant).select(StandIn).where(
            (StandIn.owner == owner.id) & StandIn.ended_at.is_null() & (StandIn.ends_at > max(starts_at, now))
            & (StandIn.starts_at < ends_at)).first())
        if clash is not None:
            raise ValidationError("first_day", _l("%(name)s already has a stand-in in these days; end it first.",
                                                  name=owner.display_name))
        stand_in = StandIn.create(tenant=tenant, owner=owner, delegate=delegate, starts_at=starts_at, ends_at=ends_at,
                                  created_by=actor, created_at=now)
        _announce_stand_in(tenant, stand_in, owner, delegate)
    return stand_in


def end_stand_in(tenant: Tenant, actor: Person, stand_in_id, now: datetime.datetime | None = None) -> StandIn:
    """End a stand-in now (or cancel one not begun); LookupError unless the actor arranged it, is in it, or may."""
    stand_in = TenantScope(tenant).get_or_none(StandIn, _int_id(stand_in_id))
    if stand_in is None:
        raise LookupError(stand_in_id)
    owner = TenantScope(tenant).get_or_none(Person, stand_in.owner_id)
    if actor.id not in (stand_in.delegate_id, stand_in.created_by_id) and not may_arrange_for(tenant, actor, owner):
        raise LookupError(stand_in_id)
    if stand_in.ended_at is None:
        stand_in.ended_at = now or utcnow()
        stand_in.save()
    return stand_in


# --- who sees and changes what ------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    """What a person may do with one contact: see it (and add to its history), edit and share it, or give it away."""

    view: bool = False
    edit: bool = False
    manage: bool = False
    why: str = ""       # owner, admin, manager, stand_in, shared


NO_ACCESS = Access()


def visible_contacts(tenant: Tenant, person: Person, now: datetime.datetime | None = None):
    """The contacts the person may see, as a query (newest change first)."""
    query = TenantScope(tenant).select(Contact)
    if not allowed(person, TENANT_MANAGE):
        now = now or utcnow()
        standing = StandIn.select(StandIn.owner).where((StandIn.delegate == person.id) & _active(now))
        shared = ContactShare.select(ContactShare.contact).where(ContactShare.person == person.id)
        query = query.where((Contact.owner == person.id) | Contact.owner.in_(reports_query(tenant, person))
                            | Contact.owner.in_(standing) | Contact.id.in_(shared))
    return query.order_by(Contact.updated_at.desc(), Contact.id.desc())


def access(tenant: Tenant, person: Person, contact: Contact, now: datetime.datetime | None = None) -> Access:
    """What the person may do with the contact."""
    if allowed(person, TENANT_MANAGE):
        return Access(True, True, True, "admin")
    if contact.owner_id == person.id:
        return Access(True, True, True, "owner")
    if any(m.id == person.id for m in manager_chain(tenant, contact.owner_id)):
        return Access(True, True, True, "manager")
    stand_in = stand_in_for(tenant, contact.owner_id, now)
    if stand_in is not None and stand_in.delegate_id == person.id:
        return Access(True, True, False, "stand_in")
    if (TenantScope(tenant).select(ContactShare)
            .where((ContactShare.contact == contact.id) & (ContactShare.person == person.id)).exists()):
        return Access(True, False, False, "shared")
    return NO_ACCESS


def contact_for(tenant: Tenant, person: Person, contact_id, now: datetime.datetime | None = None
                ) -> tuple[Contact, Access] | None:
    """One contact the person may see, with what they may do; None when they may not (it does not exist for them)."""
    contact = TenantScope(tenant).get_or_none(Contact, _int_id(contact_id))
    if contact is None:
        return None
    allowed = access(tenant, person, contact, now)
    return (contact, allowed) if allowed.view else None


def watchers(tenant: Tenant, contact: Contact, now: datetime.datetime | None = None) -> set[int]:
    """The active people who see the contact and so get its live updates."""
    ids = {contact.owner_id} | {m.id for m in manager_chain(tenant, contact.owner_id)}
    stand_in = stand_in_for(tenant, contact.owner_id, now)
    if stand_in is not None:
        ids.add(stand_in.delegate_id)
    ids |= {pid for (pid,) in TenantScope(tenant).select(ContactShare, ContactShare.person)
            .where(ContactShare.contact == contact.id).tuples()}
    ids |= {p.id for p in admins(tenant)}
    return {pid for (pid,) in Person.active(tenant).select(Person.id).where(Person.id.in_(list(ids))).tuples()}


FILTERS = ("all", "mine", "shared", "standing_in", "team", "left")


def search_contacts(tenant: Tenant, person: Person, q: str | None = None, *, kind: str | None = None,
                    tag_id=None, which: str = "all", now: datetime.datetime | None = None):
    """The visible contacts matching a search (name, company, pinyin, email, phone digits) and filters."""
    now = now or utcnow()
    query = visible_contacts(tenant, person, now)
    # No name, company or address holds a control or format character (clean_text refuses them), and PostgreSQL
    # refuses a NUL in a query outright: such characters are dropped from the query.
    text = "".join(ch for ch in unicodedata.normalize("NFKC", q or "") if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = text.strip()[:100].lower()
    if text:
        condition = Contact.search_key.contains(text)
        digits = re.sub(r"[^0-9]", "", text).lstrip("0")    # a trunk 0 is not in the stored digits
        if len(digits) >= 4 and len(digits) >= len(text.replace(" ", "")) - 3:
            condition |= Contact.id.in_(ContactPhone.select(ContactPhone.contact).where(
                (ContactPhone.tenant == tenant) & ContactPhone.normalized.contains(digits)))
        query = query.where(condition)
    if kind in KINDS:
        query = query.where(Contact.kind == kind)
    if _int_id(tag_id) is not None:
        query = query.where(Contact.id.in_(ContactTagging.select(ContactTagging.contact)
                                           .where(ContactTagging.tag == _int_id(tag_id))))
    if which == "mine":
        query = query.where(Contact.owner == person.id)
    elif which == "shared":
        query = query.where(Contact.id.in_(ContactShare.select(ContactShare.contact)
                                           .where(ContactShare.person == person.id)))
    elif which == "standing_in":
        query = query.where(Contact.owner.in_(StandIn.select(StandIn.owner)
                                              .where((StandIn.delegate == person.id) & _active(now))))
    elif which == "team":
        query = query.where(Contact.owner.in_(reports_query(tenant, person)))
    elif which == "left":
        query = query.where(Contact.owner.in_(TenantScope(tenant).select(Person, Person.id)
                                              .where(Person.is_active == False)))  # noqa: E712
    return query


# --- what a contact is made of -------------------------------------------------------------------

def fold(name: str) -> str:
    """A tag name as tags are matched: width- and case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()[:MAX_TAG_LENGTH]


def split_list(text) -> list[str]:
    """Items typed in one field, separated by commas, semicolons or 、."""
    return [item for item in _SPLIT.split(text.strip()) if item] if isinstance(text, str) else []


def clean_tag_name(value, field_name: str = "tags") -> str:
    name = clean_text(value, field_name, required=True, max_length=MAX_TAG_LENGTH)
    if any(ch in name for ch in ";；,，、"):
        raise ValidationError(field_name, _l("A tag cannot contain , or ;."))
    return name


def _clean_kind(value) -> str:
    if value in (None, ""):
        return "customer"
    if not isinstance(value, str) or value not in KINDS:
        raise ValidationError("kind", _l("Choose customer, supplier or partner."))
    return value


def _clean_phones(value, code: str) -> list[tuple[str, str, str]]:
    """[(label, number as typed, normalized)] from a list of numbers or {"label", "number"} objects."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("phones", _l("Give the phone numbers as a list."))
    phones, seen = [], set()
    for i, item in enumerate(value):
        label, number = (item.get("label") or "mobile", item.get("number")) if isinstance(item, dict) else ("mobile", item)
        if isinstance(number, str) and not number.strip():
            continue
        if label not in PHONE_LABELS:
            raise ValidationError(f"phone_{i}", _l("Choose mobile, work or other."))
        normalized = normalise_phone(number, code, f"phone_{i}")
        if normalized in seen:
            raise ValidationError(f"phone_{i}", _l("The same number is given twice."))
        seen.add(normalized)
        phones.append((label, number.strip(), normalized))
    if len(phones) > MAX_PHONES:
        raise ValidationError("phones", _l("At most %(n)d phone numbers.", n=MAX_PHONES))
    return phones


def _clean_tags(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("tags", _l("Give the tags as a list."))
    names, seen = [], set()
    for raw in value:
        if isinstance(raw, str) and not raw.strip():
            continue
        name = clean_tag_name(raw if isinstance(raw, str) else None)
        if fold(name) not in seen:
            seen.add(fold(name))
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationError("tags", _l("At most %(n)d tags.", n=MAX_TAGS))
    return names


def _clean_owner(tenant: Tenant, value, default: Person) -> Person:
    if value in (None, ""):
        return default
    owner = TenantScope(tenant).get_or_none(Person, _int_id(value))
    if owner is None or not owner.is_active:
        raise ValidationError("owner", _l("Choose an active colleague from the list."))
    return owner


@dataclass
class CleanContact:
    """A contact's fields, checked."""

    name: str
    kind: str
    company: str | None
    title: str | None
    email: str | None
    phones: list[tuple[str, str, str]]
    tags: list[str]
    owner: Person


FIELDS = ("name", "kind", "company", "title", "email", "phones", "tags", "owner")


def clean_contact(tenant: Tenant, actor: Person, data, code: str | None = None) -> CleanContact:
    """Check a contact's fields (a mapping); ValidationError on the first problem."""
    code = code or country_code(tenant)
    for key in ("name", "company", "title", "email"):
        if data.get(key) is not None and not isinstance(data.get(key), str):
            raise ValidationError(key, _l("Give this as text."))
    return CleanContact(
        name=clean_text(data.get("name"), "name", required=True, max_length=200),
        kind=_clean_kind(data.get("kind")),
        company=clean_text(data.get("company"), "company", max_length=200),
        title=clean_text(data.get("title"), "title", max_length=200),
        email=clean_email(data.get("email")),
        phones=_clean_phones(data.get("phones"), code),
        tags=_clean_tags(data.get("tags")),
        owner=_clean_owner(tenant, data.get("owner"), actor))


def _search_key(name: str, company: str | None, email: str | None) -> str:
    parts = [person_search_key(name, email)]
    if company:
        parts.append(person_search_key(company))
    return " | ".join(parts)[:400]


def _tag_ids(tenant: Tenant, names: list[str]) -> list[int]:
    """The tags with these names, making custom tags of the new ones."""
    ids = []
    for name in names:
        folded = fold(name)
        found = TenantScope(tenant).select(ContactTag, ContactTag.id).where(ContactTag.folded == folded).scalar()
        if found is None:
            ContactTag.insert(tenant=tenant.id, name=name, folded=folded, preset=False).on_conflict_ignore().execute()
            found = TenantScope(tenant).select(ContactTag, ContactTag.id).where(ContactTag.folded == folded).scalar()
        ids.append(found)
    return ids


def _write(tenant: Tenant, actor: Person, contact: Contact | None, clean: CleanContact,
           now: datetime.datetime, origin: str = "created") -> Contact:
    """Save checked fields (a new contact's history starts with `origin`); the caller holds the transaction."""
    creating = contact is None
    if creating:
        contact = Contact(tenant=tenant, owner=clean.owner, created_by=actor, created_at=now)
    contact.name, contact.kind, contact.company, contact.title = clean.name, clean.kind, clean.company, clean.title
    contact.email, contact.updated_at = clean.email, now
    contact.search_key = _search_key(clean.name, clean.company, clean.email)
    contact.save()
    ContactPhone.delete().where(ContactPhone.contact == contact.id).execute()
    if clean.phones:
        ContactPhone.insert_many([{"tenant": tenant.id, "contact": contact.id, "label": label, "number": number,
                                   "normalized": normalized} for label, number, normalized in clean.phones]).execute()
    ContactTagging.delete().where(ContactTagging.contact == contact.id).execute()
    tag_ids = _tag_ids(tenant, clean.tags)
    if tag_ids:
        ContactTagging.insert_many([{"tenant": tenant.id, "contact": contact.id, "tag": t}
                                    for t in dict.fromkeys(tag_ids)]).execute()
    if creating:
        Interaction.create(tenant=tenant, contact=contact, author=actor, kind=origin, happened_at=now,
                           created_at=now, body=_system_body(owner=clean.owner))
    return contact


def create_contact(tenant: Tenant, actor: Person, data, now: datetime.datetime | None = None) -> Contact:
    """A new contact; its owner is the actor unless another active colleague is named."""
    clean = clean_contact(tenant, actor, data)
    now = now or utcnow()
    with db.atomic():
        contact = _write(tenant, actor, None, clean, now)
        if clean.owner.id != actor.id:
            _announce_new_owner(tenant, clean.owner, actor, [contact])
    return contact


def update_contact(tenant: Tenant, actor: Person, contact: Contact, data, now: datetime.datetime | None = None
                   ) -> Contact:
    """Change a contact's fields (not its owner: see transfer_contact); PermissionError without edit access."""
    if not access(tenant, actor, contact, now).edit:
        raise PermissionError(contact.id)
    current = contact_json(tenant, contact)
    merged = {"name": contact.name, "kind": contact.kind, "company": contact.company, "title": contact.title,
              "email": contact.email, "phones": current["phones"], "tags": [t["name"] for t in current["tags"]]}
    merged.update({k: data[k] for k in FIELDS if k in data and k != "owner"})
    clean = clean_contact(tenant, actor, {**merged, "owner": contact.owner_id})
    with db.atomic():
        return _write(tenant, actor, contact, clean, now or utcnow())


def delete_contact(tenant: Tenant, actor: Person, contact: Contact) -> None:
    """Delete a contact and its history; PermissionError unless the actor owns it, manages its owner or is an admin."""
    if not access(tenant, actor, contact).manage:
        raise PermissionError(contact.id)
    contact.delete_instance()


def phones_of(contact_ids: list[int]) -> dict[int, list[ContactPhone]]:
    found: dict[int, list[ContactPhone]] = {}
    for phone in ContactPhone.select().where(ContactPhone.contact.in_(contact_ids or [0])).order_by(ContactPhone.id):
        found.setdefault(phone.contact_id, []).append(phone)
    return found


def tags_of(contact_ids: list[int]) -> dict[int, list[ContactTag]]:
    found: dict[int, list[ContactTag]] = {}
    rows = (ContactTag.select(ContactTag, ContactTagging.contact.alias("contact_id"))
            .join(ContactTagging, on=(ContactTagging.tag == ContactTag.id))
            .where(ContactTagging.contact.in_(contact_ids or [0])).order_by(ContactTag.preset.desc(), ContactTag.name)
            .objects())
    for tag in rows:
        found.setdefault(tag.contact_id, []).append(tag)
    return found


def people_by_id(tenant: Tenant, ids) -> dict[int, Person]:
    ids = [i for i in set(ids) if i]
    return {p.id: p for p in TenantScope(tenant).select(Person).where(Person.id.in_(ids or [0]))}


def contact_json(tenant: Tenant, contact: Contact, owner: Person | None = None) -> dict:
    """A contact as the API and the live updates show it."""
    owner = owner or TenantScope(tenant).get_or_none(Person, contact.owner_id)
    return {"id": contact.id, "kind": contact.kind, "name": contact.name, "company": contact.company,
            "title": contact.title, "email": contact.email,
            "phones": [{"label": p.label, "number": p.number, "normalized": p.normalized}
                       for p in phones_of([contact.id]).get(contact.id, [])],
            "tags": [{"id": t.id, "name": t.name, "preset": t.preset} for t in tags_of([contact.id]).get(contact.id, [])],
            "owner": {"id": owner.id, "name": owner.display_name, "active": owner.is_active},
            "created_at": _iso(contact.created_at), "updated_at": _iso(contact.updated_at)}


# --- tags (admins keep the preset ones) -------------------------------------------------------------

def all_tags(tenant: Tenant) -> list[ContactTag]:
    return list(TenantScope(tenant).select(ContactTag).order_by(ContactTag.preset.desc(), ContactTag.name))


def tag_counts(tenant: Tenant) -> dict[int, int]:
    return dict(TenantScope(tenant).select(ContactTagging, ContactTagging.tag, peewee.fn.COUNT(ContactTagging.id))
                .group_by(ContactTagging.tag).tuples())


def add_preset_tag(tenant: Tenant, name) -> ContactTag:
    """A preset tag everyone is offered; an existing custom tag of that name becomes preset."""
    name = clean_tag_name(name, "name")
    with db.atomic():
        existing = TenantScope(tenant).select(ContactTag).where(ContactTag.folded == fold(name)).first()
        if existing is not None:
            if existing.preset:
                raise ValidationError("name", _l("There is a preset tag of this name already."))
            existing.preset = True
            existing.save()
            return existing
        return ContactTag.create(tenant=tenant, name=name, folded=fold(name), preset=True)


def set_tag_preset(tenant: Tenant, tag_id, preset: bool) -> ContactTag:
    tag = TenantScope(tenant).get_or_none(ContactTag, _int_id(tag_id))
    if tag is None:
        raise LookupError(tag_id)
    tag.preset = bool(preset)
    tag.save()
    return tag


def delete_tag(tenant: Tenant, tag_id) -> None:
    """Delete a tag, taking it off every contact."""
    tag = TenantScope(tenant).get_or_none(ContactTag, _int_id(tag_id))
    if tag is None:
        raise LookupError(tag_id)
    tag.delete_instance()


# --- sharing ---------------------------------------------------------------------------------------

def shares_of(tenant: Tenant, contact: Contact) -> list[Person]:
    return list(TenantScope(tenant).select(Person).join(ContactShare, on=(ContactShare.person == Person.id))
                .where(ContactShare.contact == contact.id).order_by(Person.display_name))


def share_contact(tenant: Tenant, actor: Person, contact: Contact, person_id) -> Person:
    """Let a colleague see the contact and add to its history; sharing again changes nothing."""
    if not access(tenant, actor, contact).edit:
        raise PermissionError(contact.id)
    person = TenantScope(tenant).get_or_none(Person, _int_id(person_id))
    if person is None or not person.is_active:
        raise ValidationError("person", _l("Choose an active colleague from the list."))
    if person.id == contact.owner_id:
        raise ValidationError("person", _l("%(name)s is responsible for this contact already.",
                                           name=person.display_name))
    with db.atomic():
        if not (TenantScope(tenant).select(ContactShare)
                .where((ContactShare.contact == contact.id) & (ContactShare.person == person.id)).exists()):
            ContactShare.insert(tenant=tenant.id, contact=contact.id, person=person.id, shared_by=actor.id,
                                created_at=utcnow()).on_conflict_ignore().execute()
            _announce_share(tenant, contact, person, actor)
    return person


def unshare_contact(tenant: Tenant, actor: Person, contact: Contact, person_id) -> None:
    """Stop sharing with a colleague (who may also leave a share themselves)."""
    pid = _int_id(person_id)
    if pid != actor.id and not access(tenant, actor, contact).edit:
        raise PermissionError(contact.id)
    ContactShare.delete().where((ContactShare.contact == contact.id) & (ContactShare.person == pid)).execute()


# --- history ---------------------------------------------------------------------------------------

def _system_body(**people: Person) -> str:
    """What a system entry records: the people it names, with their names at the time."""
    return json.dumps({key: {"id": p.id, "name": p.display_name} for key, p in people.items()}, ensure_ascii=False)


def system_facts(interaction: Interaction) -> dict:
    """The people a system entry (created, handover, import) names."""
    try:
        facts = json.loads(interaction.body or "{}")
    except ValueError:
        return {}
    return facts if isinstance(facts, dict) else {}


def parse_moment(value, zone: datetime.tzinfo, now: datetime.datetime, field_name: str = "happened_at"
                 ) -> datetime.datetime:
    """Naive UTC from ISO text read in `zone` unless it has an offset; empty means now; the future is refused."""
    if value in (None, ""):
        return now
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    else:
        moment = None
        if isinstance(value, str) and len(value) <= 40:
            try:
                moment = datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        if moment is None:
            raise ValidationError(field_name, _l("Give a date and time like 2025-03-01 09:30."))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
    moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if moment > now + datetime.timedelta(minutes=5):
        raise ValidationError(field_name, _l("Choose a time that is not in the future."))
    if moment < now - datetime.timedelta(days=3650):
        raise ValidationError(field_name, _l("Choose a time within the last ten years."))
    return moment


def _answered(value) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("1", "true", "yes", "answered"):
        return True
    if value in ("0", "false", "no", "not_answered"):
        return False
    raise ValidationError("answered", _l("Say whether the call was answered."))


def add_interaction(tenant: Tenant, actor: Person, contact: Contact, kind, body=None, *, happened_at=None,
                    answered=None, direction=None, now: datetime.datetime | None = None,
                    check_access: bool = True) -> Interaction:
    """Add a note, a visit or a call attempt to a contact's history (anyone who sees the contact may)."""
    now = now or utcnow()
    if check_access and not access(tenant, actor, contact, now).view:
        raise PermissionError(contact.id)
    if kind not in USER_KINDS:
        raise ValidationError("kind", _l("Choose a note, a visit or a call."))
    text = clean_long_text(body, "body", max_length=MAX_BODY_LENGTH, required=kind != "call",
                           missing=_l("Write what happened."))
    moment = parse_moment(happened_at, person_zone(actor), now)
    if kind == "call":
        answered = _answered(answered)
        direction = direction or "outbound"
        if direction not in CALL_DIRECTIONS:
            raise ValidationError("direction", _l("Choose outbound or inbound."))
    else:
        answered = direction = None
    with db.atomic():
        interaction = Interaction.create(tenant=tenant, contact=contact, author=actor, kind=kind, body=text,
                                         happened_at=moment, created_at=now, answered=answered, direction=direction)
        Contact.update(updated_at=now).where(Contact.id == contact.id).execute()
        _publish_interaction(tenant, contact, interaction, actor, now)
    return interaction


def history(tenant: Tenant, contact: Contact, limit: int = 200) -> list[Interaction]:
    """The contact's history, newest first, with each entry's author."""
    return list(TenantScope(tenant).select(Interaction).where(Interaction.contact == contact.id)
                .order_by(Interaction.happened_at.desc(), Interaction.id.desc()).limit(limit))


def interaction_json(interaction: Interaction, author: Person | None) -> dict:
    data = {"id": interaction.id, "contact": interaction.contact_id, "kind": interaction.kind,
            "author": {"id": author.id, "name": author.display_name} if author else None,
            "body": interaction.body if interaction.kind in USER_KINDS else "",
            "happened_at": _iso(interaction.happened_at), "created_at": _iso(interaction.created_at),
            "answered": interaction.answered, "direction": interaction.direction}
    if interaction.kind not in USER_KINDS:
        data["facts"] = system_facts(interaction)
    return data


# --- handing contacts over ----------------------------------------------------------------------------

def transfer_contact(tenant: Tenant, actor: Person, contact: Contact, new_owner_id,
                     now: datetime.datetime | None = None) -> Contact:
    """Make another active colleague responsible for the contact (owner, their managers and admins may)."""
    if not access(tenant, actor, contact, now).manage:
        raise PermissionError(contact.id)
    if new_owner_id in (None, ""):
        raise ValidationError("owner", _l("Choose who takes the contact over."))
    new_owner = _clean_owner(tenant, new_owner_id, actor)
    if new_owner.id == contact.owner_id:
        raise ValidationError("owner", _l("%(name)s is responsible for this contact already.",
                                          name=new_owner.display_name))
    _hand_over(tenant, actor, [contact], new_owner, now or utcnow())
    return contact


def _hand_over(tenant: Tenant, actor: Person, contacts: list[Contact], new_owner: Person,
               now: datetime.datetime) -> None:
    owners = people_by_id(tenant, [c.owner_id for c in contacts])
    with db.atomic():
        ids = [c.id for c in contacts]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            Contact.update(owner=new_owner.id, updated_at=now).where(Contact.id.in_(chunk)).execute()
            ContactShare.delete().where(ContactShare.contact.in_(chunk) & (ContactShare.person == new_owner.id)).execute()
        Interaction.insert_many([
            {"tenant": tenant.id, "contact": c.id, "author": actor.id, "kind": "handover", "happened_at": now,
             "created_at": now, "body": _system_body(**{"from": owners[c.owner_id], "to": new_owner})}
            for c in contacts]).execute()
        for c in contacts:
            c.owner = new_owner
        _announce_new_owner(tenant, new_owner, actor, contacts)


@dataclass(frozen=True)
class PendingHandover:
    """A departed owner whose contacts wait for a new owner."""

    departed: Person
    count: int


def departed_owners(tenant: Tenant) -> dict[int, int]:
    """Deactivated people who still own contacts -> how many."""
    inactive = TenantScope(tenant).select(Person, Person.id).where(Person.is_active == False)  # noqa: E712
    return dict(TenantScope(tenant).select(Contact, Contact.owner, peewee.fn.COUNT(Contact.id))
                .where(Contact.owner.in_(inactive)).group_by(Contact.owner).tuples())


def pending_handovers(tenant: Tenant, person: Person) -> list[PendingHandover]:
    """The handovers offered to the person: departed owners whose nearest active manager they are, or, for
    an admin, departed owners with no active manager up the chain."""
    pending = []
    counts = departed_owners(tenant)
    for departed in people_by_id(tenant, counts).values():
        heir = successor(tenant, departed)
        if (heir is not None and heir.id == person.id) or (heir is None and allowed(person, TENANT_MANAGE)):
            pending.append(PendingHandover(departed, counts[departed.id]))
    return sorted(pending, key=lambda p: (p.departed.display_name, p.departed.id))


def may_hand_over(tenant: Tenant, actor: Person, departed: Person) -> bool:
    """A departed owner's contacts are handed over by their managers up the chain or an admin."""
    return not departed.is_active and (allowed(actor, TENANT_MANAGE) or any(m.id == actor.id
                                                             for m in manager_chain(tenant, departed.id)))


def hand_over_departed(tenant: Tenant, actor: Person, departed_id, new_owner_id,
                       now: datetime.datetime | None = None) -> int:
    """Give all of a departed owner's contacts to one active colleague in one step; returns how many."""
    departed = TenantScope(tenant).get_or_none(Person, _int_id(departed_id))
    if departed is None or not may_hand_over(tenant, actor, departed):
        raise LookupError(departed_id)
    if new_owner_id in (None, ""):
        raise ValidationError("owner", _l("Choose who takes the contacts over."))
    new_owner = _clean_owner(tenant, new_owner_id, actor)
    now = now or utcnow()
    with db.atomic():
        contacts = list(TenantScope(tenant).select(Contact).where(Contact.owner == departed.id))
        if contacts:
            _hand_over(tenant, actor, contacts, new_owner, now)
        StandIn.update(ended_at=now).where((StandIn.owner == departed.id) & StandIn.ended_at.is_null()).execute()
    return len(contacts)


@on_deactivation
def offer_handovers(tenant: Tenant, person_ids: list[int]) -> None:
    """Offer each deactivated owner's contacts to their nearest active manager (or the admins) at once; handovers
    that waited with one of the deactivated people move up to the next manager, who is offered them too."""
    leaving = set(person_ids)
    counts = departed_owners(tenant)
    for departed in people_by_id(tenant, counts).values():
        chain = manager_chain(tenant, departed.id)
        held_by = next((m for m in chain if m.is_active or m.id in leaving), None)
        if departed.id in leaving or (held_by is not None and held_by.id in leaving):
            heir = next((m for m in chain if m.is_active), None)
            _offer_handover_to_manager(tenant, departed, [heir] if heir else admins(tenant), counts[departed.id])


# --- live updates, one function per occasion (where notifications will be sent from as well) ----------

def _offer_handover_to_manager(tenant: Tenant, departed: Person, heirs: list[Person], count: int) -> None:
    """A departed owner's contacts wait for the heirs (their manager, or the admins) to hand them over."""
    payload = {"person": departed.id, "name": departed.display_name, "count": count,
               "url": f"/contacts/handover/{departed.id}"}
    for heir in heirs:
        publish(tenant, "contact_handover", payload, person=heir.id)


def _announce_new_owner(tenant: Tenant, new_owner: Person, actor: Person, contacts: list[Contact]) -> None:
    """Contacts were handed to a new responsible employee."""
    if new_owner.id == actor.id:
        return
    url = contact_url(contacts[0].id) if len(contacts) == 1 else "/contacts/?which=mine"
    publish(tenant, "contact_owner", {"count": len(contacts), "by": actor.display_name, "url": url},
            person=new_owner.id)


def _announce_share(tenant: Tenant, contact: Contact, person: Person, actor: Person) -> None:
    """A contact was shared with a colleague."""
    publish(tenant, "contact_shared", {"id": contact.id, "name": contact.name, "by": actor.display_name,
                                       "url": contact_url(contact.id)}, person=person.id)


def _announce_stand_in(tenant: Tenant, stand_in: StandIn, owner: Person, delegate: Person) -> None:
    """Someone was made the stand-in for a colleague's contacts during their leave."""
    publish(tenant, "contact_stand_in", {"id": stand_in.id, "owner": owner.id, "name": owner.display_name,
                                         "starts_at": _iso(stand_in.starts_at), "ends_at": _iso(stand_in.ends_at),
                                         "url": "/contacts/stand-in"}, person=delegate.id)


def _publish_interaction(tenant: Tenant, contact: Contact, interaction: Interaction, author: Person,
                         now: datetime.datetime) -> None:
    """A new history entry reaches the open pages of everyone who sees the contact."""
    payload = interaction_json(interaction, author)
    for pid in watchers(tenant, contact, now):
        publish(tenant, "contact_interaction", payload, person=pid)


# --- CSV import ------------------------------------------------------------------------------------------

COLUMNS = {
    "name": ("name", "姓名", "联系人"), "company": ("company", "公司", "单位"), "kind": ("kind", "type", "类型"),
    "title": ("title", "职位", "职务"), "email": ("email", "邮箱", "电子邮件"),
    "phones": ("phones", "phone", "电话", "手机"), "tags": ("tags", "标签"), "owner": ("owner", "负责人"),
    "note": ("note", "notes", "备注"),
}
KIND_WORDS = {"customer": "customer", "客户": "customer", "supplier": "supplier", "供应商": "supplier",
              "partner": "partner", "合作伙伴": "partner"}
TEMPLATE_CSV = ("name,company,kind,title,email,phones,tags,owner,note\r\n"
                "Wang Fang,Example Trading Co.,customer,Buyer,wang.fang@example.com,+86 138 0013 8000,"
                "Key account;North region,,Met at the trade fair\r\n")


@dataclass
class ImportRow:
    line: int
    values: dict
    errors: list[tuple[str, str]] = field(default_factory=list)   # (column, message)
    clean: CleanContact | None = None
    note: str = ""


@dataclass
class ImportPreview:
    rows: list[ImportRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)       # about the file as a whole

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if r.errors)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows) and not self.errors


def decode_upload(data: bytes) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), else GB18030 as spreadsheets in China save it."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError("file", _l("The file is larger than %(n)d MB.", n=MAX_IMPORT_BYTES // (1024 * 1024)))
    if not data.strip():
        raise ValidationError("file", _l("The file is empty."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise ValidationError("file", _l("The file is not a text file in UTF-8 or GB18030."))


def start_import(tenant: Tenant, person: Person, filename, data: bytes, now: datetime.datetime | None = None
                 ) -> ContactImport:
    """Keep an uploaded CSV file for its preview (files older than a day are dropped)."""
    text = decode_upload(data)
    now = now or utcnow()
    name = (clean_text((filename or "contacts.csv")[:200], "file", max_length=200) or "contacts.csv")
    with db.atomic():
        ContactImport.delete().where((ContactImport.tenant == tenant)
                                     & (ContactImport.created_at < now - IMPORT_KEEP)).execute()
        return ContactImport.create(tenant=tenant, person=person, filename=name, content=text, created_at=now)


def import_for(tenant: Tenant, person: Person, import_id) -> ContactImport | None:
    """An upload of the person's own, or None."""
    upload = TenantScope(tenant).get_or_none(ContactImport, _int_id(import_id))
    return upload if upload is not None and upload.person_id == person.id else None


def _columns(header: list[str]) -> tuple[dict[int, str], list[str]]:
    aliases = {alias.casefold(): key for key, names in COLUMNS.items() for alias in names}
    found, problems, seen = {}, [], set()
    for i, raw in enumerate(header):
        name = unicodedata.normalize("NFKC", raw or "").strip().casefold()
        if not name:
            continue
        key = aliases.get(name)
        if key is None:
            problems.append(str(_l("Unknown column “%(name)s”; known columns: %(known)s.", name=raw.strip()[:40],
                                   known=", ".join(COLUMNS))))
        elif key in seen:
            problems.append(str(_l("The column “%(name)s” appears twice.", name=raw.strip()[:40])))
        else:
            seen.add(key)
            found[i] = key
    if "name" not in seen:
        problems.append(str(_l("The file needs a “name” column.")))
    return found, problems


def preview_import(tenant: Tenant, person: Person, text: str) -> ImportPreview:
    """Read the file and check every row as a new contact would be checked; nothing is saved."""
    preview = ImportPreview()
    try:
        sample = text[:4096]
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.count("\n") else csv.excel
    except csv.Error:
        dialect = csv.excel
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error:
        preview.problems.append(str(_l("The file is not readable as CSV.")))
        return preview
    if not records:
        preview.problems.append(str(_l("The file is empty.")))
        return preview
    columns, problems = _columns(records[0])
    preview.problems += problems
    if problems:
        return preview
    body = [(n, r) for n, r in enumerate(records[1:], 2) if any(cell.strip() for cell in r)]
    if len(body) > MAX_IMPORT_ROWS:
        preview.problems.append(str(_l("At most %(n)d rows at a time.", n=MAX_IMPORT_ROWS)))
        return preview
    if not body:
        preview.problems.append(str(_l("The file has a header but no contacts.")))
        return preview
    code = country_code(tenant)
    logins = {p.login: p for p in Person.active(tenant)}
    for line, record in body:
        values = {key: (record[i].strip() if i < len(record) else "") for i, key in columns.items()}
        row = ImportRow(line, values)
        if len(record) > len(records[0]):
            row.errors.append(("", str(_l("The row has more cells than the header."))))
        preview.rows.append(row)
        _check_row(tenant, person, row, code, logins)
    return preview


def _check_row(tenant: Tenant, person: Person, row: ImportRow, code: str, logins: dict[str, Person]) -> None:
    values = row.values
    data: dict = {}
    for key in ("name", "company", "title", "email"):
        data[key] = values.get(key)
    kind = (values.get("kind") or "").strip().casefold()
    if kind and kind not in KIND_WORDS:
        row.errors.append(("kind", str(_l("Choose customer, supplier or partner."))))
    data["kind"] = KIND_WORDS.get(kind, "customer")
    owner_login = (values.get("owner") or "").strip().lower()
    owner = person
    if owner_login:
        owner = logins.get(owner_login)
        if owner is None:
            row.errors.append(("owner", str(_l("No active colleague has the login name %(login)s.",
                                               login=owner_login[:64]))))
            owner = person
    numbers = split_list(values.get("phones"))
    checks = [
        ("name", lambda: clean_text(data["name"], "name", required=True, max_length=200)),
        ("company", lambda: clean_text(data["company"], "company", max_length=200)),
        ("title", lambda: clean_text(data["title"], "title", max_length=200)),
        ("email", lambda: clean_email(data["email"])),
        ("phones", lambda: _clean_phones(numbers, code)),
        ("tags", lambda: _clean_tags(split_list(values.get("tags")))),
        ("note", lambda: clean_long_text(values.get("note"), "note", max_length=MAX_BODY_LENGTH)),
    ]
    results = {}
    for column, check in checks:
        try:
            results[column] = check()
        except ValidationError as exc:
            row.errors.append((column, str(exc.message)))
    if not row.errors:
        phones = [(phone_label_guess(n), number, n) for _label, number, n in results["phones"]]
        row.clean = CleanContact(results["name"], data["kind"], results["company"], results["title"],
                                 results["email"], phones, results["tags"], owner)
        row.note = results["note"]


def run_import(tenant: Tenant, person: Person, upload: ContactImport, now: datetime.datetime | None = None
               ) -> tuple[ImportPreview, int]:
    """Import every row of a checked file, or none: returns the preview and how many contacts were made."""
    preview = preview_import(tenant, person, upload.content)
    if not preview.ok:
        return preview, 0
    now = now or utcnow()
    handed: dict[int, tuple[Person, list[Contact]]] = {}
    with db.atomic():
        for row in preview.rows:
            contact = _write(tenant, person, None, row.clean, now, origin="import")
            if row.note:
                Interaction.create(tenant=tenant, contact=contact, author=person, kind="note", body=row.note,
                                   happened_at=now, created_at=now)
            handed.setdefault(row.clean.owner.id, (row.clean.owner, []))[1].append(contact)
        for owner, contacts in handed.values():
            _announce_new_owner(tenant, owner, person, contacts)
        upload.delete_instance()
    return preview, len(preview.rows)
