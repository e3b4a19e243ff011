"""The worker's notification jobs: emailing DINGs left unconfirmed, and queueing the daily digests.

Both run for every tenant that sends email and claim their work with conditional
updates, so two workers running at once queue each email once.
"""
from __future__ import annotations

import datetime
import re

from app.config import Settings
from app.db import db, utcnow
from app.ding.models import Ding, DingRecipient
from app.notify.models import EmailSettings, Notification, NotificationPreference
from app.notify.service import queue_email
from app.org.models import Person
from app.org.status import person_zone
from app.tenancy.models import Tenant

DIGEST_ITEMS = 50        # notifications listed in one digest; the count says how many there are in all
BATCH = 500
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _sending_tenants(settings: Settings) -> list[tuple[Tenant, EmailSettings]]:
    if not settings.smtp.host:
        return []
    rows = EmailSettings.select(EmailSettings, Tenant).join(Tenant).where(EmailSettings.enabled == True)  # noqa: E712
    return [(row.tenant, row) for row in rows]


def escalate_dings(settings: Settings, now: datetime.datetime | None = None) -> int:
    """Email each recipient of a DING still unconfirmed after the tenant's delay, once, even off work."""
    now = now or utcnow()
    queued = 0
    for tenant, tenant_settings in _sending_tenants(settings):
        cutoff = now - datetime.timedelta(minutes=tenant_settings.ding_delay_minutes)
        rows = (DingRecipient.select(DingRecipient.id, Ding.id, Ding.text, Person.id)
                .join(Ding).switch(DingRecipient).join(Person, on=(DingRecipient.person == Person.id))
                .where((DingRecipient.tenant == tenant) & DingRecipient.confirmed_at.is_null()
                       & DingRecipient.escalated_at.is_null() & Ding.sent_at.is_null(False) & (Ding.sent_at <= cutoff)
                       & Ding.stopped_at.is_null() & (Person.is_active == True))  # noqa: E712
                .limit(BATCH).tuples())
        for row_id, ding_id, text, person_id in list(rows):
            with db.atomic():
                # The claim is the transaction's first write: of two workers, one marks it and queues the email.
                if not (DingRecipient.update(escalated_at=now)
                        .where((DingRecipient.id == row_id) & DingRecipient.escalated_at.is_null()).execute()):
                    continue
                ding = Ding.get_by_id(ding_id)
                sender = Person.get_by_id(ding.sender_id)
                notification_id = (Notification.select(Notification.id)
                                   .where((Notification.person == person_id) & (Notification.ref == f"ding:{ding_id}"))
                                   .scalar())
                if queue_email(tenant, Person.get_by_id(person_id), "ding", {"sender": sender.display_name,
                                                                            "text": text},
                               link=f"/ding/{ding_id}", notification_id=notification_id, urgent=True,
                               dedupe_key=f"ding:{ding_id}:{person_id}", now=now):
                    queued += 1
    return queued


def _local(moment: datetime.datetime, zone) -> datetime.datetime:
    return moment.replace(tzinfo=datetime.timezone.utc).astimezone(zone)


def queue_digests(settings: Settings, now: datetime.datetime | None = None) -> int:
    """Queue the daily digest of unread notifications for those who opted in, once a local day after its time."""
    now = now or utcnow()
    queued = 0
    for tenant, tenant_settings in _sending_tenants(settings):
        digest_time = tenant_settings.digest_time if _TIME.match(tenant_settings.digest_time or "") else "08:00"
        pref = NotificationPreference
        opted_in = (pref.tenant == tenant) & (pref.daily_digest == True)  # noqa: E712
        rows = (NotificationPreference.select(NotificationPreference, Person).join(Person)
                .where(opted_in & (Person.is_active == True) & Person.email.is_null(False)))  # noqa: E712
        for pref in rows:
            person = pref.person
            zone = person_zone(person, settings.default_timezone)
            local_now = _local(now, zone)
            if local_now.strftime("%H:%M") < digest_time:
                continue
            last = pref.last_digest_at
            if last is not None and _local(last, zone).date() >= local_now.date():
                continue
            since = last if last is not None else now - datetime.timedelta(days=1)
            unread = (Notification.select(Notification.id)
                      .where((Notification.person == person) & Notification.read_at.is_null()
                             & (Notification.created_at > since) & (Notification.created_at <= now))
                      .order_by(Notification.created_at.desc(), Notification.id.desc()))
            with db.atomic():
                seen = NotificationPreference.last_digest_at
                claimed = (NotificationPreference.update(last_digest_at=now)
                           .where((NotificationPreference.id == pref.id)
                                  & (seen.is_null() if last is None else (seen == last))).execute())
                if not claimed:
                    continue
                total = unread.count()
                if not total:
                    continue   # nothing unread: no email, and the day counts as done
                ids = [i for (i,) in unread.limit(DIGEST_ITEMS).tuples()]
                if queue_email(tenant, person, "digest", {"ids": ids, "count": total}, link="/notifications",
                               urgent=False, dedupe_key=f"digest:{person.id}:{local_now.date().isoformat()}", now=now):
                    queued += 1
    return queued
