"""Live updates: events are appended to one table; each worker's hub streams them to its clients.

Publishing happens inside the writer's transaction, so an event exists exactly
when the change it announces is committed. On PostgreSQL an advisory lock makes
event ids commit in id order, so a reader that has seen id N has seen every id
below N; SQLite has one writer at a time and the same property for free.
"""
from __future__ import annotations

import json

from app.db import db, is_postgres, utcnow
from app.events.models import Event
from app.tenancy.models import Tenant

EVENT_LOCK = 4242002


def publish(tenant: Tenant | int, kind: str, payload: dict, *, person=None, conversation=None) -> Event:
    """Append an event for one person, one conversation's members, or (neither) the whole tenant."""
    if person is not None:
        audience, audience_id = "person", getattr(person, "id", person)
    elif conversation is not None:
        audience, audience_id = "conversation", getattr(conversation, "id", conversation)
    else:
        audience, audience_id = "tenant", None
    with db.atomic():
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (EVENT_LOCK,))
        event = Event.create(tenant=getattr(tenant, "id", tenant), audience=audience, audience_id=audience_id,
                             kind=kind, payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                             created_at=utcnow())
        if is_postgres():
            db.execute_sql("NOTIFY atrium_events")
    return event


def publish_to_people(tenant: Tenant | int, kind: str, payloads: list[tuple[int, dict]]) -> int:
    """Append one event per (person id, payload) in a single insert: what a notification to many people needs."""
    if not payloads:
        return 0
    tenant_id = getattr(tenant, "id", tenant)
    now = utcnow()
    with db.atomic():
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (EVENT_LOCK,))
        for start in range(0, len(payloads), 500):
            Event.insert_many([{"tenant": tenant_id, "audience": "person", "audience_id": person_id, "kind": kind,
                                "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                                "created_at": now} for person_id, payload in payloads[start:start + 500]]).execute()
        if is_postgres():
            db.execute_sql("NOTIFY atrium_events")
    return len(payloads)


def latest_id() -> int:
    """The newest event id (0 when there are none): where a freshly rendered page starts listening."""
    return Event.select(Event.id).order_by(Event.id.desc()).limit(1).scalar() or 0
