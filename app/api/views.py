"""/api/v1: the JSON API for integrations and clients, authenticated by scoped bearer tokens only.

Session cookies are ignored here, so no browser can be tricked into calling the
API (no CSRF), and a token never grants more than its scopes.
"""
from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from app.chat.models import Message
from app.chat.service import (ChatRules, RateLimited, conversation_for, conversations_of, create_group,
                              direct_conversation, edit_message, history, mark_all_read, mark_read, member_ids,
                              message_payload, post_message, read_counts, recall_message, receipts, search)
from app.org.models import Membership, Person
from app.org.service import OrgIndex, search_people
from app.org.status import availability
from app.pagination import paginate
from app.security import csrf
from app.security.permissions import contact_privacy, directory_index
from app.security.tokens import authenticate_token
from app.tenancy.scope import TenantScope
from app.validation import ValidationError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPENAPI = Path(__file__).with_name("openapi.yaml")


def error(status: int, message, **extra):
    return jsonify(error=str(message), **extra), status


def api(scope: str | None):
    """Authenticate the bearer token and require a scope; the view gets g.person and g.token."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            secret = header[7:].strip() if header[:7].lower() == "bearer " else ""
            token = authenticate_token(g.tenant, secret) if secret else None
            if token is None:
                return error(401, _("A valid API token is needed (Authorization: Bearer ...)."))
            if scope is not None and scope not in token.scope_list:
                return error(403, _("This token lacks the %(scope)s permission.", scope=scope))
            g.person, g.token = token.person, token
            return view(*args, **kwargs)

        return csrf.exempt(wrapped)

    return decorate


def _rules() -> ChatRules:
    return current_app.config["ATRIUM_CHAT_RULES"]


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def person_json(person: Person, index: OrgIndex | None = None, department_id: int | None = None,
                hidden: frozenset[str] = frozenset()) -> dict:
    """A person as the API shows them; contact fields in hidden (the privacy policy) are null."""
    data = {"id": person.id, "login": person.login, "name": person.display_name, "title": person.title,
            "email": None if "email" in hidden else person.email,
            "mobile": None if "mobile" in hidden else person.mobile, "active": person.is_active,
            "manager": person.manager_id}
    if index is not None:
        data["department_path"] = [d.name for d in index.path(department_id)]
    return data


@bp.route("/openapi.yaml")
def openapi():
    """The OpenAPI document describing this API."""
    return Response(OPENAPI.read_text(), mimetype="application/yaml")


@bp.route("/me")
@api(None)
def me():
    """The token's owner (a person, or an integration's service account) and the token's scopes."""
    return jsonify(person=person_json(g.person), kind="integration" if g.person.is_integration else "person",
                   scopes=g.token.scope_list, status=availability(g.person))


@bp.route("/people")
@api("directory:read")
def people():
    """Search the directory (name, pinyin, initials, email, mobile, title)."""
    privacy = contact_privacy(g.person)
    page = paginate(search_people(g.tenant, (request.args.get("q") or "")[:100], privacy=privacy),
                    request.args.get("page"), 50)
    index = directory_index(g.tenant)
    primary = dict(TenantScope(g.tenant).select(Membership, Membership.person, Membership.department)
                   .where(Membership.person.in_([p.id for p in page.items] or [0]) & (Membership.is_primary == True))  # noqa: E712
                   .tuples())
    hidden = privacy.hidden_map(page.items)
    return jsonify(people=[person_json(p, index, primary.get(p.id), hidden[p.id]) for p in page.items],
                   page=page.number, pages=page.pages, total=page.total)


@bp.route("/people/<int:person_id>")
@api("directory:read")
def person(person_id: int):
    """One person's card."""
    shown = TenantScope(g.tenant).get_or_none(Person, person_id)
    if shown is None:
        return error(404, _("No such person."))
    index = directory_index(g.tenant)
    primary = (TenantScope(g.tenant).select(Membership).where(Membership.person == shown)
               .order_by(Membership.is_primary.desc()).first())
    return jsonify(person_json(shown, index, primary.department_id if primary else None,
                               contact_privacy(g.person).hidden_for(shown)))


@bp.route("/departments")
@api("directory:read")
def departments():
    """The department tree as a flat list with parents (departments the privacy policy hides are left out)."""
    rows = directory_index(g.tenant).by_id.values()
    return jsonify(departments=[{"id": d.id, "name": d.name, "parent": d.parent_id, "head": d.head_id,
                                 "order": d.sort_order} for d in rows])


@bp.route("/conversations")
@api("messages:read")
def conversations():
    """The token owner's conversations, most recent first, with unread counts."""
    return jsonify(conversations=[{"id": c.id, "kind": c.kind, "title": c.title, "unread": n,
                                   "last_message": c.last_message_id} for c, n in conversations_of(g.person)])


@bp.route("/conversations", methods=["POST"])
@api("messages:write")
def create_conversation():
    """Open a direct conversation ({"kind": "direct", "person": id}) or a group."""
    body = _body()
    try:
        if body.get("kind") == "group":
            members = body.get("members")
            conv = create_group(g.tenant, g.person, body.get("title"), members if isinstance(members, list) else [],
                                _rules())
        elif body.get("kind") == "direct":
            conv = direct_conversation(g.tenant, g.person, body.get("person"))
        else:
            return error(400, _("kind must be direct or group."), field="kind")
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(id=conv.id, kind=conv.kind, title=conv.title, members=member_ids(conv)), 201


def _conversation(conversation_id):
    return conversation_for(g.person, conversation_id)


@bp.route("/conversations/<int:conversation_id>/messages")
@api("messages:read")
def list_messages(conversation_id: int):
    """A page of messages, oldest first; `before` pages back in history."""
    conv = _conversation(conversation_id)
    if conv is None:
        return error(404, _("No such conversation."))
    page = history(conv, request.args.get("before"), int(request.args.get("limit", 50)) if
                   (request.args.get("limit") or "50").isdigit() else 50)
    senders = {p.id: p for p in TenantScope(g.tenant).select(Person).where(
        Person.id.in_({m.sender_id for m in page} or {0}))}
    counts = read_counts(conv, page)
    return jsonify(messages=[{**message_payload(m, senders.get(m.sender_id)), "read": counts[m.id][0],
                              "members": counts[m.id][1]} for m in page])


@bp.route("/conversations/<int:conversation_id>/messages", methods=["POST"])
@api("messages:write")
def create_message(conversation_id: int):
    """Post a text message."""
    conv = _conversation(conversation_id)
    if conv is None:
        return error(404, _("No such conversation."))
    body = _body()
    text = body.get("text")
    if not isinstance(text, str):
        return error(400, _("Write a message first."), field="text")
    try:
        message = post_message(g.tenant, conv, g.person, text, reply_to=body.get("reply_to"), rules=_rules())
    except RateLimited as exc:
        return (*error(429, _("You are sending messages too fast. Wait %(n)d seconds.", n=exc.retry_after)),
                {"Retry-After": str(exc.retry_after)})
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(message_payload(message, g.person)), 201


def _change(conversation_id: int, action):
    if _conversation(conversation_id) is None:
        return error(404, _("No such message."))
    try:
        message = action()
    except LookupError:
        return error(404, _("No such message."))
    except PermissionError:
        return error(403, _("Only the sender can change a message."))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    if message.conversation_id != conversation_id:
        return error(404, _("No such message."))
    return jsonify(message_payload(message, g.person))


@bp.route("/conversations/<int:conversation_id>/messages/<int:message_id>", methods=["PATCH"])
@api("messages:write")
def update_message(conversation_id: int, message_id: int):
    """Edit one's own message within the edit window."""
    text = _body().get("text")
    return _change(conversation_id, lambda: edit_message(g.tenant, g.person, message_id,
                                                         text if isinstance(text, str) else "", _rules()))


@bp.route("/conversations/<int:conversation_id>/messages/<int:message_id>", methods=["DELETE"])
@api("messages:write")
def delete_message(conversation_id: int, message_id: int):
    """Recall one's own message within the recall window."""
    return _change(conversation_id, lambda: recall_message(g.tenant, g.person, message_id, _rules()))


@bp.route("/conversations/<int:conversation_id>/messages/<int:message_id>/receipts")
@api("messages:read")
def message_receipts(conversation_id: int, message_id: int):
    """Who has read the message and who has not."""
    conv = _conversation(conversation_id)
    message = TenantScope(g.tenant).get_or_none(Message, message_id) if conv else None
    if message is None or message.conversation_id != conversation_id:
        return error(404, _("No such message."))
    read, unread = receipts(message)
    return jsonify(read=[{"id": p.id, "name": p.display_name} for p in read],
                   unread=[{"id": p.id, "name": p.display_name} for p in unread])


@bp.route("/conversations/<int:conversation_id>/read", methods=["POST"])
@api("messages:write")
def read(conversation_id: int):
    """Mark a conversation read (up to a message id, or all of it)."""
    conv = _conversation(conversation_id)
    if conv is None:
        return error(404, _("No such conversation."))
    return jsonify(last_read_id=mark_read(g.person, conv, _body().get("up_to")))


@bp.route("/read-all", methods=["POST"])
@api("messages:write")
def read_all():
    """Mark every conversation read."""
    return jsonify(changed=mark_all_read(g.person))


@bp.route("/search")
@api("messages:read")
def search_messages():
    """Full-text search over the token owner's conversations."""
    results = search(g.person, (request.args.get("q") or "")[:200])
    return jsonify(messages=[message_payload(m, m.sender) for m in results])
