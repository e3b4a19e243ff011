"""Notifications: `notify` for every feature, the notification centre's reads and marks, email preferences.

`notify` runs inside the caller's transaction: the notifications, their live
events and their queued emails exist exactly when the change they announce is
committed. Kinds and their params are listed in app.notify.kinds.
"""
from __future__ import annotations

import datetime
import json
import re
import uuid
from email.utils import make_msgid

import peewee
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.brand.pack import LABEL_NAMES
from app.brand.service import brand_for
from app.config import LOCALES
from app.db import db, utcnow
from app.events import publish, publish_to_people
from app.i18n import person_locale
from app.notify import kinds
from app.notify.models import OUTBOX_STATES, EmailSettings, Notification, NotificationPreference, OutgoingEmail
from app.org.models import Person
from app.org.status import next_alert_time
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import ValidationError, clean_email, clean_text

MAX_TEXT = 300            # the excerpt a notification keeps of a message or announcement
_ID = re.compile(r"[0-9]{1,12}")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MIN_DING_DELAY, MAX_DING_DELAY = 1, 24 * 60


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def excerpt(text: str | None, limit: int = MAX_TEXT) -> str:
    """The first `limit` characters of a text, for a notification to carry."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def open_url(notification_id: int) -> str:
    """The path that marks a notification read and goes to what it is about."""
    return f"/notifications/{notification_id}/open"


def _person_ids(people) -> list[int]:
    if isinstance(people, (Person, int)):
        people = [people]
    return list(dict.fromkeys(getattr(p, "id", p) for p in people))


def _settings():
    return current_app.config["ATRIUM"] if has_app_context() else None


def labels_for(tenant: Tenant | None, locale: str) -> dict:
    """The brand's words that notification texts use, in `locale` (call it under force_locale)."""
    settings = _settings()
    brand = brand_for(tenant, settings.branding_dir if settings else "")
    return {"ding": brand.label("ding", locale) or str(LABEL_NAMES["ding"])}


def render(notification: Notification, labels: dict | None = None) -> dict:
    """A notification as its reader sees it, in the current language."""
    params = json.loads(notification.params or "{}")
    return {"id": notification.id, "kind": notification.kind, "title": kinds.title(notification.kind, params, labels),
            "text": params.get("text") or "", "link": notification.link, "url": open_url(notification.id),
            "urgent": kinds.is_urgent(notification.kind), "created_at": _iso(notification.created_at),
            "read_at": _iso(notification.read_at)}


# --- notify ---------------------------------------------------------------------------------

def notify(tenant: Tenant, people, kind: str, params: dict | None = None, *, link: str | None = None,
           ref: str | None = None, email: bool = False, now: datetime.datetime | None = None) -> int:
    """Tell people (a Person, an id, or many) about something: a notification each, a live event each,
    and, when `email` and the tenant sends email, an email each (held off work unless the kind is urgent).

    Inactive people and people of other tenants are left out; returns how many were notified.
    """
    if kind not in kinds.KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    params = {k: v for k, v in (params or {}).items() if isinstance(v, (str, int))}
    ids = _person_ids(people)
    if not ids:
        return 0
    now = now or utcnow()
    recipients = []
    for start in range(0, len(ids), 500):
        recipients += list(TenantScope(tenant).select(Person)
                           .where(Person.id.in_(ids[start:start + 500]) & (Person.is_active == True)))  # noqa: E712
    if not recipients:
        return 0
    text = json.dumps(params, ensure_ascii=False)
    with db.atomic():
        created: dict[int, Notification] = {}
        for start in range(0, len(recipients), 500):
            rows = (Notification.insert_many([{"tenant": tenant.id, "person": p.id, "kind": kind, "params": text,
                                               "link": link, "ref": ref, "email": bool(email), "created_at": now}
                                              for p in recipients[start:start + 500]])
                    .returning(Notification.id, Notification.person).tuples().execute())
            for notification_id, person_id in rows:
                created[person_id] = Notification(id=notification_id, tenant=tenant.id, person=person_id, kind=kind,
                                                  params=text, link=link, ref=ref, email=bool(email), created_at=now)
        counts = unread_counts(list(created))
        payloads = []
        settings = _settings()
        default_locale = settings.default_locale if settings else LOCALES[0]
        by_locale: dict[str, list[Person]] = {}
        for person in recipients:
            by_locale.setdefault(person_locale(person, tenant, default_locale), []).append(person)
        for locale, group in by_locale.items():
            with force_locale(locale):
                labels = labels_for(tenant, locale)
                for person in group:
                    payloads.append((person.id, {**render(created[person.id], labels),
                                                 "unread": counts.get(person.id, 0)}))
        publish_to_people(tenant, "notification", payloads)
        if email and sends_email(tenant):
            queue_emails(tenant, recipients, kind, params, link=link,
                         notification_ids={pid: n.id for pid, n in created.items()}, now=now)
    return len(recipients)


# --- the notification centre ----------------------------------------------------------------

def notifications_for(tenant: Tenant, person: Person, unread_only: bool = False):
    """The person's notifications, newest first."""
    query = TenantScope(tenant).select(Notification).where(Notification.person == person)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_counts(person_ids: list[int]) -> dict[int, int]:
    """Unread notifications per person, for many people in one query per 500."""
    counts: dict[int, int] = {}
    for start in range(0, len(person_ids), 500):
        rows = (Notification.select(Notification.person, peewee.fn.COUNT(Notification.id))
                .where(Notification.person.in_(person_ids[start:start + 500]) & Notification.read_at.is_null())
                .group_by(Notification.person).tuples())
        counts.update(dict(rows))
    return counts


def unread_count(person: Person) -> int:
    """How many of the person's notifications are unread."""
    return (Notification.select().where((Notification.person == person) & Notification.read_at.is_null()).count())


def notification_for(tenant: Tenant, person: Person, notification_id) -> Notification | None:
    """One of the person's notifications, or None (another person's or tenant's does not exist for them)."""
    if not _ID.fullmatch(str(notification_id)):
        return None
    return notifications_for(tenant, person).where(Notification.id == int(notification_id)).first()


def _announce_read(tenant: Tenant, person: Person, ids: list[int] | None) -> None:
    publish(tenant, "notifications_read", {"ids": ids, "unread": unread_count(person)}, person=person)


def mark_read(tenant: Tenant, person: Person, notification_id) -> Notification:
    """Mark one of the person's notifications read (again changes nothing); LookupError when it is not theirs."""
    found = notification_for(tenant, person, notification_id)
    if found is None:
        raise LookupError(notification_id)
    if found.read_at is None:
        with db.atomic():
            if (Notification.update(read_at=utcnow())
                    .where((Notification.id == found.id) & Notification.read_at.is_null()).execute()):
                _announce_read(tenant, person, [found.id])
    return Notification.get_by_id(found.id)


def mark_all_read(tenant: Tenant, person: Person) -> int:
    """Mark every notification of the person read; returns how many changed."""
    with db.atomic():
        changed = (Notification.update(read_at=utcnow())
                   .where((Notification.tenant == tenant) & (Notification.person == person)
                          & Notification.read_at.is_null()).execute())
        if changed:
            _announce_read(tenant, person, None)
    return changed


def mark_read_by_ref(tenant: Tenant, person, ref: str | list[str]) -> int:
    """The person dealt with what `ref` names (confirmed the DING, read the announcement, read the messages that
    mentioned them; a list names several): its notifications read."""
    person_id = getattr(person, "id", person)
    refs = [ref] if isinstance(ref, str) else list(ref)
    if not refs:
        return 0
    with db.atomic():
        ids = [i for (i,) in Notification.select(Notification.id)
               .where((Notification.tenant == tenant) & (Notification.person == person_id)
                      & Notification.ref.in_(refs) & Notification.read_at.is_null()).tuples()]
        if ids:
            Notification.update(read_at=utcnow()).where(Notification.id.in_(ids)).execute()
            _announce_read(tenant, Person.get_by_id(person_id), ids)
    return len(ids)


# --- email ----------------------------------------------------------------------------------

def email_settings(tenant: Tenant) -> EmailSettings:
    """The tenant's email settings (defaults, email off, until an admin saves them)."""
    found = TenantScope(tenant).select(EmailSettings).first()
    return found if found is not None else EmailSettings(tenant=tenant)


def relay_configured() -> bool:
    """Whether the install has an SMTP relay (smtp.host)."""
    settings = _settings()
    return bool(settings and settings.smtp.host)


def sender_address(tenant_settings: EmailSettings, default: str | None = None) -> str | None:
    """The From address: the tenant's own, else `default` (the install's smtp.from_address when not given)."""
    if default is None:
        settings = _settings()
        default = settings.smtp.from_address if settings else ""
    return tenant_settings.from_address or default or None


def sends_email(tenant: Tenant) -> bool:
    """Whether the tenant sends email now: switched on, with a relay to send through."""
    return relay_configured() and email_settings(tenant).enabled


def save_email_settings(tenant: Tenant, form) -> EmailSettings:
    """Check and save what an admin entered; email cannot be switched on without a relay and a sender address."""
    row = email_settings(tenant)
    row.from_address = clean_email(form.get("from_address"), "from_address")
    row.from_name = clean_text(form.get("from_name"), "from_name", max_length=200)
    raw = (form.get("ding_delay_minutes") or "").strip()
    if not _ID.fullmatch(raw) or not MIN_DING_DELAY <= int(raw) <= MAX_DING_DELAY:
        raise ValidationError("ding_delay_minutes", _l("A whole number of minutes from %(low)d to %(high)d.",
                                                       low=MIN_DING_DELAY, high=MAX_DING_DELAY))
    row.ding_delay_minutes = int(raw)
    digest_time = (form.get("digest_time") or "").strip()
    if not _TIME.match(digest_time):
        raise ValidationError("digest_time", _l("Use the form 08:00."))
    row.digest_time = digest_time
    row.enabled = bool(form.get("enabled"))
    if row.enabled and not relay_configured():
        raise ValidationError("enabled", _l("No SMTP relay is configured for this installation (smtp.host)."))
    if row.enabled and not sender_address(row):
        raise ValidationError("from_address", _l("Give the sender address: the installation has no default."))
    row.save()
    return row


def preference(person: Person) -> NotificationPreference:
    """The person's email preferences (defaults until they save some)."""
    found = NotificationPreference.get_or_none(NotificationPreference.person == person)
    return found if found is not None else NotificationPreference(tenant=person.tenant_id, person=person)


def set_daily_digest(person: Person, on: bool) -> None:
    """Opt in to (or out of) the daily digest email of unread notifications."""
    NotificationPreference.insert(tenant=person.tenant_id, person=person.id, daily_digest=bool(on)).on_conflict(
        conflict_target=[NotificationPreference.person],
        update={NotificationPreference.daily_digest: bool(on)}).execute()


def _message_domain(tenant: Tenant, from_address: str | None) -> str:
    hosts = tenant.host_names()
    if hosts:
        return hosts[0]
    return from_address.rsplit("@", 1)[1] if from_address else "atrium.invalid"


def queue_emails(tenant: Tenant, people: list[Person], kind: str, params: dict, *, link: str | None = None,
                 notification_ids: dict[int, int] | None = None, urgent: bool | None = None,
                 now: datetime.datetime | None = None) -> int:
    """Queue an email to each active person with an address, in one insert per 500; returns how many.

    Each Message-ID is fixed now, so every attempt carries the same one. An email that is
    not urgent waits for its person's working hours.
    """
    people = [p for p in people if p.email and p.is_active]
    if not people:
        return 0
    now = now or utcnow()
    urgent = kinds.is_urgent(kind) if urgent is None else urgent
    domain = _message_domain(tenant, sender_address(email_settings(tenant)))
    settings = _settings()
    fallback = settings.default_timezone if settings else "Asia/Shanghai"
    text = json.dumps(params or {}, ensure_ascii=False)
    rows = [{"tenant": tenant.id, "person": p.id, "notification": (notification_ids or {}).get(p.id), "kind": kind,
             "params": text, "link": link, "to_address": p.email, "urgent": urgent, "dedupe_key": None,
             "message_id": make_msgid(idstring=uuid.uuid4().hex, domain=domain), "state": "queued", "attempts": 0,
             "next_attempt_at": now if urgent else next_alert_time(p, now, fallback), "created_at": now}
            for p in people]
    with db.atomic():
        for start in range(0, len(rows), 500):
            OutgoingEmail.insert_many(rows[start:start + 500]).execute()
    return len(rows)


def queue_email(tenant: Tenant, person: Person, kind: str, params: dict, *, link: str | None = None,
                notification_id: int | None = None, dedupe_key: str | None = None, urgent: bool | None = None,
                now: datetime.datetime | None = None) -> OutgoingEmail | None:
    """Queue one email to the person; None when they have no address or the dedupe key was queued already."""
    if not person.email or not person.is_active:
        return None
    now = now or utcnow()
    urgent = kinds.is_urgent(kind) if urgent is None else urgent
    settings = _settings()
    fallback = settings.default_timezone if settings else "Asia/Shanghai"
    message_id = make_msgid(idstring=uuid.uuid4().hex, domain=_message_domain(tenant, sender_address(
        email_settings(tenant))))
    query = OutgoingEmail.insert(
        tenant=tenant.id, person=person.id, notification=notification_id, kind=kind,
        params=json.dumps(params or {}, ensure_ascii=False), link=link, to_address=person.email, urgent=urgent,
        dedupe_key=dedupe_key, message_id=message_id, state="queued", attempts=0,
        next_attempt_at=now if urgent else next_alert_time(person, now, fallback), created_at=now)
    if dedupe_key is not None:
        query = query.on_conflict_ignore()
    with db.atomic():
        query.execute()
        return OutgoingEmail.get_or_none(OutgoingEmail.message_id == message_id)


def outbox_counts(tenant: Tenant | None = None) -> dict[str, int]:
    """How many emails are in each state (queued, sending, handed, sent, failed, skipped), for one tenant or all."""
    query = OutgoingEmail.select(OutgoingEmail.state, peewee.fn.COUNT(OutgoingEmail.id))
    if tenant is not None:
        query = query.where(OutgoingEmail.tenant == tenant)
    counts = dict(query.group_by(OutgoingEmail.state).tuples())
    return {state: counts.get(state, 0) for state in OUTBOX_STATES}


def recent_failures(tenant: Tenant, limit: int = 20):
    """The tenant's emails that failed for good, newest first, with who they were for."""
    return (TenantScope(tenant).select(OutgoingEmail, OutgoingEmail, Person).join(Person)
            .where(OutgoingEmail.state == "failed").order_by(OutgoingEmail.id.desc()).limit(limit))
