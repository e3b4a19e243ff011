"""The Server-Sent-Events stream: replay from Last-Event-ID, then live events from the hub."""
from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, g, request, session

from app.db import db
from app.events import hub as hubmod
from app.events.hub import CLOSE, Subscription, frame
from app.events.models import Event
from app.security.auth import login_required, session_deadline
from app.security.policy import policy_for
from app.tenancy.scope import MAX_ROW_ID, TenantScope

bp = Blueprint("events", __name__)

HEARTBEAT_SECONDS = 15
REPLAY_LIMIT = 1000


def conversation_ids(tenant, person) -> set[int]:
    from app.chat.models import ConversationMember

    rows = (TenantScope(tenant).select(ConversationMember, ConversationMember.conversation)
            .where(ConversationMember.person == person).tuples())
    return {cid for (cid,) in rows}


def replay(tenant, person, conversations: set[int], after: int, upto: int) -> list[str] | None:
    """Frames of the events in (after, upto] this person may see; None when too many to replay."""
    if upto <= after:
        return []
    visible = ((Event.audience == "tenant")
               | ((Event.audience == "person") & (Event.audience_id == person.id)))
    if conversations:
        visible |= (Event.audience == "conversation") & (Event.audience_id.in_(list(conversations)))
    rows = list(TenantScope(tenant).select(Event, Event.id, Event.kind, Event.payload)
                .where((Event.id > after) & (Event.id <= upto) & visible)
                .order_by(Event.id).limit(REPLAY_LIMIT + 1).tuples())
    if len(rows) > REPLAY_LIMIT:
        return None
    return [frame(*row) for row in rows]


def _after_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("after")
    try:
        return max(0, min(int(raw), MAX_ROW_ID)) if raw is not None else None
    except ValueError:
        return None


@bp.route("/events")
@login_required
def stream():
    """This person's live events; a client that reconnects with Last-Event-ID misses nothing."""
    person, tenant = g.person, g.tenant
    sub = hubmod.hub.subscribe(Subscription(tenant.id, person.id, conversation_ids(tenant, person)))
    after = _after_id()
    frames = [] if after is None else replay(tenant, person, sub.conversation_ids, after, sub.live_from)
    if frames is None:
        frames = [frame(sub.live_from, "resync", "{}")]   # too far behind: the page reloads instead
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    ends_at = session.get("at", time.time()) + lifetime
    policy_end, _reason = session_deadline(policy_for(tenant))   # the tenant's session lifetime or idle limit
    if policy_end is not None:
        ends_at = min(ends_at, policy_end)
    deadline = time.monotonic() + max(0.0, ends_at - time.time())
    # No database connection is held while the stream is open.
    if not db.is_closed():
        db.close()

    def generate():
        try:
            yield "retry: 3000\n\n"
            yield from frames
            while time.monotonic() < deadline:
                item = sub.get(timeout=HEARTBEAT_SECONDS)
                if item is CLOSE:
                    return
                yield item if item is not None else ": ping\n\n"
        finally:
            hubmod.hub.unsubscribe(sub)

    response = Response(generate(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"   # nginx must not buffer the stream
    return response
