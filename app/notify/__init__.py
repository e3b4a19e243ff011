"""Notifications: the notification centre, live badges, and email through the customer's SMTP relay.

Every feature tells people about things with one call, inside its own transaction:

    notify(tenant, people, kind, params, link=..., ref=..., email=...)

which stores a notification per person (shown at /notifications, counted in the
unread badge, pushed live over the event stream) and, when `email` is set and
the tenant sends email, queues an email per person. The kinds, their params and
how approvals and tasks call it are in app.notify.kinds; the outbox and its
guarantees in app.notify.outbox; the worker's jobs in app.notify.jobs.
"""
from app.notify.service import excerpt, mark_read_by_ref, notify

__all__ = ["excerpt", "mark_read_by_ref", "notify"]
