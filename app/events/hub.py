"""One hub per worker process: a poller thread reads new events and fans them out to its SSE clients.

The database is the only thing workers and nodes share: every hub reads the
same event table. On PostgreSQL a LISTEN connection wakes the poller as soon as
an event commits; otherwise it polls at a short interval.
"""
from __future__ import annotations

import json
import logging
import queue
import select
import threading
import time

import peewee

from app.db import db, is_postgres
from app.events.models import Event

log = logging.getLogger(__name__)

CLOSE = object()          # put in a subscription's queue to end its stream
BATCH = 2000


class Subscription:
    """One open stream: a person in a tenant, the conversations they are in, and a queue of frames."""

    def __init__(self, tenant_id: int, person_id: int, conversation_ids: set[int]):
        self.tenant_id = tenant_id
        self.person_id = person_id
        self.conversation_ids = set(conversation_ids)
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.live_from = 0    # events above this id reach the queue; the stream replays the rest from the table

    def get(self, timeout: float):
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


def frame(event_id: int, kind: str, payload: str) -> str:
    """An event in the Server-Sent-Events wire format."""
    return f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n"


class Hub:
    def __init__(self, poll_interval: float = 0.02):
        self.poll_interval = poll_interval
        self.lock = threading.Lock()
        self.by_person: dict[int, set[Subscription]] = {}
        self.by_conversation: dict[int, set[Subscription]] = {}
        self.by_tenant: dict[int, set[Subscription]] = {}
        self.last_id: int | None = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    # --- subscriptions ------------------------------------------------------------------

    def subscribe(self, sub: Subscription) -> Subscription:
        """Register a stream; events newer than sub.live_from will be queued for it."""
        self._ensure_running()
        return self.subscribe_without_poller(sub)

    def subscribe_without_poller(self, sub: Subscription) -> Subscription:
        """Register a stream on a hub whose polling the caller drives (poll_once)."""
        with self.lock:
            sub.live_from = self.last_id or 0
            self.by_person.setdefault(sub.person_id, set()).add(sub)
            self.by_tenant.setdefault(sub.tenant_id, set()).add(sub)
            for cid in sub.conversation_ids:
                self.by_conversation.setdefault(cid, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self.lock:
            for index, key in ((self.by_person, sub.person_id), (self.by_tenant, sub.tenant_id)):
                index.get(key, set()).discard(sub)
                if not index.get(key):
                    index.pop(key, None)
            for cid in sub.conversation_ids:
                subs = self.by_conversation.get(cid)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        self.by_conversation.pop(cid, None)

    def connected(self) -> int:
        with self.lock:
            return sum(len(s) for s in self.by_tenant.values())

    # --- routing ------------------------------------------------------------------------

    def route(self, event_id: int, tenant_id: int, audience: str, audience_id: int | None, kind: str,
              payload: str) -> None:
        """Queue one event for every subscription allowed to see it."""
        text = frame(event_id, kind, payload)
        with self.lock:
            if audience == "person":
                targets = [s for s in self.by_person.get(audience_id, ()) if s.tenant_id == tenant_id]
                if kind in ("member_added", "member_removed"):
                    self._membership(targets, kind, payload)
            elif audience == "conversation":
                targets = list(self.by_conversation.get(audience_id, ()))
            else:
                targets = list(self.by_tenant.get(tenant_id, ()))
            for sub in targets:
                sub.queue.put(text)
                if kind == "session_revoked":
                    sub.queue.put(CLOSE)
            self.last_id = event_id

    def _membership(self, subs: list[Subscription], kind: str, payload: str) -> None:
        cid = json.loads(payload).get("conversation")
        for sub in subs:
            if kind == "member_added":
                sub.conversation_ids.add(cid)
                self.by_conversation.setdefault(cid, set()).add(sub)
            else:
                sub.conversation_ids.discard(cid)
                self.by_conversation.get(cid, set()).discard(sub)

    # --- the poller ---------------------------------------------------------------------

    def _ensure_running(self) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            with db.connection_context():
                self.last_id = Event.select(peewee.fn.MAX(Event.id)).scalar() or 0
            self.stopping.clear()
            self.thread = threading.Thread(target=self._run, name="atrium-event-hub", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def poll_once(self) -> int:
        """Route every event newer than the last one seen; returns how many."""
        rows = (Event.select(Event.id, Event.tenant, Event.audience, Event.audience_id, Event.kind, Event.payload)
                .where(Event.id > self.last_id).order_by(Event.id).limit(BATCH).tuples())
        count = 0
        for row in rows:
            self.route(*row)
            count += 1
        return count

    def _run(self) -> None:
        listener = None
        while not self.stopping.is_set():
            try:
                if listener is None and is_postgres():
                    listener = _listen()
                # The poller keeps its own connection open between polls (opening one costs more than a poll).
                db.connect(reuse_if_open=True)
                while self.poll_once() == BATCH:
                    pass
                if is_postgres():
                    db.close()   # give the pooled connection back while waiting for NOTIFY
                self._wait(listener)
            except Exception:  # the hub must outlive a database hiccup; clients resume by Last-Event-ID
                log.exception("event hub poll failed; retrying")
                if listener is not None:
                    listener.close()
                    listener = None
                if not db.is_closed():
                    db.close()
                self.stopping.wait(1.0)
        if not db.is_closed():
            db.close()

    def _wait(self, listener) -> None:
        if listener is None:
            self.stopping.wait(self.poll_interval)
            return
        # NOTIFY wakes us at once; the timeout is the safety net if a notification is lost.
        ready, _, _ = select.select([listener], [], [], 1.0)
        if ready:
            listener.poll()
            listener.notifies.clear()


def _listen():
    """A dedicated autocommit connection LISTENing for new events."""
    import psycopg2

    target = db.obj
    conn = psycopg2.connect(dbname=target.database, **target.connect_params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("LISTEN atrium_events")
    return conn


hub = Hub()


def reset_for_tests(poll_interval: float = 0.02) -> Hub:
    """A fresh hub (each test app has its own database)."""
    global hub
    hub.stop()
    hub = Hub(poll_interval)
    return hub


def wait_until_routed(event_id: int, timeout: float = 5.0) -> bool:
    """Block until this process's hub has routed event_id (for tests and the benchmark's self-check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (hub.last_id or 0) >= event_id:
            return True
        time.sleep(0.01)
    return False
