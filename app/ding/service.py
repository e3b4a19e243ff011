"""DING: urgent messages each recipient must confirm; plain functions over a tenant and plain values.

A DING alerts its recipients at once (or at its scheduled time) and then again
every `remind_minutes` until each confirms or the sender stops it. Reminders
come from `due_work`, which the worker runs; one conditional UPDATE per DING
decides who is due, so two workers running at the same moment alert once.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import peewee
from flask_babel import lazy_gettext as _l

from app.db import db, utcnow
from app.ding.models import Ding, DingRecipient
from app.events import publish
from app.notify import excerpt, mark_read_by_ref, notify
from app.org.models import Person
from app.org.status import person_zone
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope, as_row_id
from app.validation import ValidationError, clean_long_text

MIN_REMIND_MINUTES = 5            # the floor: nobody is alerted more often, whatever a row says
MAX_REMIND_MINUTES = 24 * 60
REMIND_CHOICES = (5, 10, 15, 30, 60)
MAX_TEXT_LENGTH = 1000
MAX_RECIPIENTS = 1000
MAX_SCHEDULE_DAYS = 30
BATCH = 500                       # DINGs handled per kind of work in one pass; the next pass takes the rest
_ID = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class SentDing:
    """A DING as its sender sees it: how many recipients confirmed out of how many."""

    ding: Ding
    confirmed: int
    total: int


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def ding_url(ding_id: int) -> str:
    """The page of one DING (paths are fixed, so the worker needs no request to build them)."""
    return f"/ding/{ding_id}"


# --- checking what the sender typed ---------------------------------------------------------

def _recipients(tenant: Tenant, sender: Person, recipient_ids) -> list[Person]:
    if not isinstance(recipient_ids, (list, tuple)) or not recipient_ids:
        raise ValidationError("recipients", _l("Choose at least one person."))
    ids = []
    for raw in recipient_ids:
        number = as_row_id(raw) if isinstance(raw, int) or (isinstance(raw, str) and _ID.fullmatch(raw)) else None
        if number is None:
            raise ValidationError("recipients", _l("Choose people from the list."))
        ids.append(number)
    # The sender needs no alert of their own DING; a list of only themselves is refused below.
    ids = [pid for pid in dict.fromkeys(ids) if pid != sender.id]
    if not ids:
        raise ValidationError("recipients", _l("Choose at least one person other than yourself."))
    if len(ids) > MAX_RECIPIENTS:
        raise ValidationError("recipients", _l("At most %(n)d people.", n=MAX_RECIPIENTS))
    people = list(TenantScope(tenant).select(Person).where(Person.id.in_(ids) & (Person.is_active == True)))  # noqa: E712
    if len(people) != len(ids):
        raise ValidationError("recipients", _l("Choose active people from the list."))
    return people


def _remind_minutes(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not _ID.fullmatch(str(value).strip()):
        raise ValidationError("remind_minutes", _l("Choose how often to remind from the list."))
    minutes = int(str(value).strip())
    if not MIN_REMIND_MINUTES <= minutes <= MAX_REMIND_MINUTES:
        raise ValidationError("remind_minutes", _l("Remind every %(low)d minutes to every %(high)d hours.",
                                                   low=MIN_REMIND_MINUTES, high=MAX_REMIND_MINUTES // 60))
    return minutes


def parse_send_at(value, zone: datetime.tzinfo, now: datetime.datetime) -> datetime.datetime | None:
    """Naive UTC send time (None: at once): ISO text read in `zone` unless it has an offset, or a naive UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError("send_at", _l("Give a date and time like 2025-03-01 09:30.")) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
    else:
        raise ValidationError("send_at", _l("Give a date and time like 2025-03-01 09:30."))
    moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if moment <= now:
        raise ValidationError("send_at", _l("Choose a time in the future."))
    if moment > now + datetime.timedelta(days=MAX_SCHEDULE_DAYS):
        raise ValidationError("send_at", _l("At most %(n)d days ahead.", n=MAX_SCHEDULE_DAYS))
    return moment


# --- sending, confirming, stopping ----------------------------------------------------------

def ding_payload(ding: Ding, sender: Person, alert: int) -> dict:
    """What a recipient's client receives with each alert; `urgent` tells it to alert even off work."""
    return {"id": ding.id, "sender": sender.id, "sender_name": sender.display_name, "text": ding.text,
            "created_at": _iso(ding.created_at), "sent_at": _iso(ding.sent_at), "url": ding_url(ding.id),
            "confirm_url": ding_url(ding.id) + "/confirm", "alert": alert, "urgent": True}


def send_ding(tenant: Tenant, sender: Person, text, recipient_ids, send_at=None,
              remind_minutes=MIN_REMIND_MINUTES, *, zone: datetime.tzinfo | None = None,
              now: datetime.datetime | None = None) -> Ding:
    """Send a DING now or at send_at (read in `zone`, the sender's by default); a refused value saves nothing."""
    now = now or utcnow()
    text = clean_long_text(text, "text", max_length=MAX_TEXT_LENGTH, required=True,
                           missing=_l("Write what the DING is about."))
    people = _recipients(tenant, sender, recipient_ids)
    scheduled = parse_send_at(send_at, zone or person_zone(sender), now)
    minutes = _remind_minutes(remind_minutes)
    with db.atomic():
        ding = Ding.create(tenant=tenant, sender=sender, text=text, created_at=now, send_at=scheduled,
                           sent_at=None if scheduled else now, remind_minutes=minutes)
        DingRecipient.insert_many([{"tenant": tenant.id, "ding": ding.id, "person": p.id,
                                    "last_alert_at": None if scheduled else now, "alerts": 0 if scheduled else 1}
                                   for p in people]).execute()
        if not scheduled:
            payload = ding_payload(ding, sender, 1)
            for person in people:
                publish(tenant, "ding", payload, person=person)
            _notify(tenant, ding, sender, [p.id for p in people], now)
    return ding


def _notify(tenant: Tenant | int, ding: Ding, sender: Person, person_ids: list[int], now: datetime.datetime) -> None:
    """The recipients' notifications; an email follows from the worker if it stays unconfirmed."""
    if not isinstance(tenant, Tenant):
        tenant = Tenant.get_by_id(tenant)
    notify(tenant, person_ids, "ding", {"sender": sender.display_name, "text": excerpt(ding.text)},
           link=ding_url(ding.id), ref=f"ding:{ding.id}", now=now)


def _counts(ding: Ding) -> tuple[int, int]:
    total, confirmed = (DingRecipient.select(peewee.fn.COUNT(DingRecipient.id),
                                             peewee.fn.COUNT(DingRecipient.confirmed_at))
                        .where(DingRecipient.ding == ding).tuples().get())
    return confirmed, total


def update_payload(ding: Ding, person: Person | None = None, confirmed_at: datetime.datetime | None = None) -> dict:
    """What the sender's client receives when a recipient confirms or the sender stops reminders."""
    confirmed, total = _counts(ding)
    return {"id": ding.id, "confirmed": confirmed, "total": total, "stopped": ding.stopped_at is not None,
            "person": person.id if person else None, "person_name": person.display_name if person else None,
            "confirmed_at": _iso(confirmed_at)}


def received_row(tenant: Tenant, person: Person, ding_id) -> DingRecipient | None:
    """The person's recipient row of a DING that has gone out; None for anything else (also bad ids)."""
    if not _ID.fullmatch(str(ding_id)):
        return None
    return (TenantScope(tenant).select(DingRecipient).join(Ding)
            .where((DingRecipient.ding == int(ding_id)) & (DingRecipient.person == person)
                   & Ding.sent_at.is_null(False)).first())


def ding_for(tenant: Tenant, person: Person, ding_id) -> tuple[Ding, DingRecipient | None] | None:
    """A DING the person sent or received (with their recipient row), or None: others' DINGs do not exist."""
    ding = TenantScope(tenant).get_or_none(Ding, ding_id)
    if ding is None:
        return None
    if ding.sender_id == person.id:
        return ding, received_row(tenant, person, ding.id)
    row = received_row(tenant, person, ding.id)
    return None if row is None else (ding, row)


def confirm(tenant: Tenant, person: Person, ding_id) -> DingRecipient:
    """Confirm a received DING; confirming again changes nothing. LookupError when it is not theirs."""
    row = received_row(tenant, person, ding_id)
    if row is None:
        raise LookupError(ding_id)
    if row.confirmed_at is not None:
        return row
    now = utcnow()
    with db.atomic():
        # Two clicks (or two tabs) at once: only the update that finds it unconfirmed tells the sender.
        changed = (DingRecipient.update(confirmed_at=now)
                   .where((DingRecipient.id == row.id) & DingRecipient.confirmed_at.is_null()).execute())
        if changed:
            ding = Ding.get_by_id(row.ding_id)
            publish(tenant, "ding_updated", update_payload(ding, person, now), person=ding.sender_id)
            publish(tenant, "ding_updated", {"id": ding.id, "person": person.id, "confirmed_at": _iso(now)},
                    person=person)
            mark_read_by_ref(tenant, person, f"ding:{ding.id}")
    return DingRecipient.get_by_id(row.id)


def stop(tenant: Tenant, sender: Person, ding_id) -> Ding:
    """Stop reminders (a scheduled DING is never sent); LookupError if unseen, PermissionError if not the sender's."""
    found = ding_for(tenant, sender, ding_id)
    if found is None:
        raise LookupError(ding_id)
    ding = found[0]
    if ding.sender_id != sender.id:
        raise PermissionError(ding_id)
    if ding.stopped_at is None:
        now = utcnow()
        with db.atomic():
            if Ding.update(stopped_at=now).where((Ding.id == ding.id) & Ding.stopped_at.is_null()).execute():
                ding.stopped_at = now
                publish(tenant, "ding_updated", update_payload(ding), person=sender)
    return Ding.get_by_id(ding.id)


# --- what people see ------------------------------------------------------------------------

def received(tenant: Tenant, person: Person, limit: int = 100) -> list[tuple[DingRecipient, Ding, Person]]:
    """DINGs the person received: unconfirmed first, then newest first."""
    unconfirmed_first = peewee.Case(None, [(DingRecipient.confirmed_at.is_null(), 0)], 1)
    rows = (TenantScope(tenant).select(DingRecipient, DingRecipient, Ding, Person).join(Ding)
            .join(Person, on=(Ding.sender == Person.id))
            .where((DingRecipient.person == person) & Ding.sent_at.is_null(False))
            .order_by(unconfirmed_first, Ding.sent_at.desc(), Ding.id.desc()).limit(limit))
    return [(row, row.ding, row.ding.sender) for row in rows]


def pending(tenant: Tenant, person: Person) -> list[dict]:
    """Alerts for the person's unconfirmed DINGs still being reminded, as the live event would carry them."""
    return [ding_payload(ding, sender, row.alerts) for row, ding, sender in received(tenant, person, limit=20)
            if row.confirmed_at is None and ding.stopped_at is None]


def sent(tenant: Tenant, person: Person, limit: int = 50) -> list[SentDing]:
    """DINGs the person sent, newest first, with confirmed and total counts."""
    rows = (TenantScope(tenant).select(Ding, Ding, peewee.fn.COUNT(DingRecipient.confirmed_at).alias("n_confirmed"),
                                       peewee.fn.COUNT(DingRecipient.id).alias("n_total"))
            .join(DingRecipient, peewee.JOIN.LEFT_OUTER).where(Ding.sender == person)
            .group_by(Ding.id).order_by(Ding.created_at.desc(), Ding.id.desc()).limit(limit))
    return [SentDing(d, d.n_confirmed, d.n_total) for d in rows]


def recipients_of(ding: Ding) -> tuple[list[tuple[Person, DingRecipient]], list[tuple[Person, DingRecipient]]]:
    """Who confirmed (earliest first) and who has not yet (by name)."""
    rows = (DingRecipient.select(DingRecipient, Person).join(Person, on=(DingRecipient.person == Person.id))
            .where(DingRecipient.ding == ding).order_by(DingRecipient.confirmed_at, Person.display_name))
    done = [(r.person, r) for r in rows if r.confirmed_at is not None]
    waiting = sorted(((r.person, r) for r in rows if r.confirmed_at is None), key=lambda pr: pr[0].display_name)
    return done, waiting


# --- the worker's part ----------------------------------------------------------------------

def _deliver(ding_id: int, now: datetime.datetime) -> bool:
    with db.atomic():
        # Claiming the DING is the transaction's first statement: of two workers, one claims it, the other finds it sent.
        claimed = (Ding.update(sent_at=now)
                   .where((Ding.id == ding_id) & Ding.sent_at.is_null() & Ding.stopped_at.is_null()
                          & (Ding.send_at <= now)).execute())
        if not claimed:
            return False
        alerted = [pid for (pid,) in DingRecipient.update(last_alert_at=now, alerts=1)
                   .where((DingRecipient.ding == ding_id) & DingRecipient.confirmed_at.is_null())
                   .returning(DingRecipient.person).tuples()]
        ding = Ding.get_by_id(ding_id)
        sender = Person.get_by_id(ding.sender_id)
        payload = ding_payload(ding, sender, 1)
        for pid in alerted:
            publish(ding.tenant_id, "ding", payload, person=pid)
        _notify(ding.tenant_id, ding, sender, alerted, now)
    return True


def _remind(ding_id: int, remind_minutes: int, person_ids: list[int], now: datetime.datetime) -> int:
    cutoff = now - datetime.timedelta(minutes=max(remind_minutes, MIN_REMIND_MINUTES))
    still_running = Ding.select(Ding.id).where((Ding.id == ding_id) & Ding.stopped_at.is_null())
    with db.atomic():
        # The UPDATE itself checks that the last alert is old enough, against the committed row: a second
        # worker doing the same at the same moment waits for the first and then finds nobody due. Events are
        # published only after it, because publishing takes the event lock, held until commit.
        alerted = list(DingRecipient.update(last_alert_at=now, alerts=DingRecipient.alerts + 1)
                       .where((DingRecipient.ding == ding_id) & DingRecipient.person.in_(person_ids)
                              & DingRecipient.confirmed_at.is_null() & (DingRecipient.last_alert_at <= cutoff)
                              & DingRecipient.ding.in_(still_running))
                       .returning(DingRecipient.person, DingRecipient.alerts).tuples())
        if alerted:
            ding = Ding.get_by_id(ding_id)
            sender = Person.get_by_id(ding.sender_id)
            for pid, alerts in alerted:
                publish(ding.tenant_id, "ding", ding_payload(ding, sender, alerts), person=pid)
    return len(alerted)


def due_work(now: datetime.datetime | None = None) -> dict[str, int]:
    """Deliver scheduled DINGs whose time has come and remind the unconfirmed; one transaction per DING."""
    now = now or utcnow()
    due = [i for (i,) in Ding.select(Ding.id)
           .where(Ding.sent_at.is_null() & Ding.stopped_at.is_null() & (Ding.send_at <= now))
           .order_by(Ding.send_at).limit(BATCH).tuples()]
    delivered = sum(_deliver(ding_id, now) for ding_id in due)
    # Candidates by the 5-minute floor; each DING's own interval is applied by its UPDATE.
    floor = now - datetime.timedelta(minutes=MIN_REMIND_MINUTES)
    candidates = (DingRecipient.select(DingRecipient.ding, Ding.remind_minutes, DingRecipient.person)
                  .join(Ding).join(Person, on=(DingRecipient.person == Person.id))
                  .where(DingRecipient.confirmed_at.is_null() & (DingRecipient.last_alert_at <= floor)
                         & Ding.sent_at.is_null(False) & Ding.stopped_at.is_null() & (Person.is_active == True))  # noqa: E712
                  .order_by(DingRecipient.ding).limit(BATCH * 20).tuples())
    by_ding: dict[int, tuple[int, list[int]]] = {}
    for ding_id, minutes, person_id in candidates:
        by_ding.setdefault(ding_id, (minutes, []))[1].append(person_id)
    reminded = sum(_remind(ding_id, minutes, people, now)
                   for ding_id, (minutes, people) in list(by_ding.items())[:BATCH])
    return {"delivered": delivered, "reminded": reminded}
