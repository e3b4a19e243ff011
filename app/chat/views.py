"""Chat pages: the conversation list, a conversation, posting, receipts, attachments, search."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import navigation
from app.chat import attachments
from app.chat.models import ConversationMember, Message
from app.chat.service import (ChatRules, RateLimited, conversation_for, conversations_of, create_group,
                              direct_conversation, edit_message, history, mark_all_read, mark_read, member_ids,
                              message_payload, post_message, read_counts, recall_message, receipts, search)
from app.events import latest_id
from app.org.models import Person
from app.org.status import availability
from app.residency.blobs import BlobError, read_blob
from app.security.auth import login_required
from app.security.permissions import FILE_DOWNLOAD, require
from app.security.policy import policy_for
from app.validation import ValidationError

bp = Blueprint("chat", __name__, url_prefix="/chat")
navigation.register("chat", "chat.index", _l("Chat"))


def rules() -> ChatRules:
    return current_app.config["ATRIUM_CHAT_RULES"]


def _conversation_or_404(conversation_id):
    conversation = conversation_for(g.person, conversation_id)
    if conversation is None:
        abort(404)   # not a member, another tenant's, or no such conversation: all look the same
    return conversation


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


@bp.route("/")
@login_required
def index():
    """The person's conversations with unread counts, and starting a new one."""
    rows = conversations_of(g.person)
    people = g.scope.select(Person).where(Person.in_directory() & (Person.id != g.person.id)).order_by(
        Person.display_name)
    titles = _titles([c for c, _n in rows])
    return render_template("chat/index.html", rows=rows, titles=titles, people=people,
                           last_event_id=latest_id())


def _titles(conversations) -> dict[int, str]:
    """What each conversation is called for this person: a direct chat is named after the other person."""
    direct = [c.id for c in conversations if c.kind == "direct"]
    names = {}
    if direct:
        rows = (g.scope.select(ConversationMember, ConversationMember.conversation, Person.display_name)
                .join(Person, on=(ConversationMember.person == Person.id))
                .where(ConversationMember.conversation.in_(direct) & (ConversationMember.person != g.person.id))
                .tuples())
        names = {cid: name for cid, name in rows}
    return {c.id: (names.get(c.id) or _("(just you)")) if c.kind == "direct" else c.title for c in conversations}


@bp.route("/new", methods=["POST"])
@login_required
def new():
    """Start a direct conversation, or a group with a title."""
    try:
        if request.form.get("kind") == "group":
            conversation = create_group(g.tenant, g.person, request.form.get("title"),
                                        request.form.getlist("members"), rules())
        else:
            conversation = direct_conversation(g.tenant, g.person, request.form.get("person"))
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("chat.index"))
    return redirect(url_for("chat.conversation", conversation_id=conversation.id))


@bp.route("/with/<int:person_id>", methods=["POST"])
@login_required
def with_person(person_id: int):
    """Open the direct conversation with someone (from their person card)."""
    try:
        conversation = direct_conversation(g.tenant, g.person, person_id)
    except ValidationError:
        abort(404)
    return redirect(url_for("chat.conversation", conversation_id=conversation.id))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark every conversation read."""
    count = mark_all_read(g.person)
    if _wants_json():
        return jsonify(changed=count)
    flash(_("All conversations are marked read."), "success")
    return redirect(url_for("chat.index"))


@bp.route("/<int:conversation_id>")
@login_required
def conversation(conversation_id: int):
    """A conversation: its latest messages, who read them, and the composer."""
    conv = _conversation_or_404(conversation_id)
    messages = history(conv, request.args.get("before"))
    senders = {p.id: p for p in g.scope.select(Person).where(Person.id.in_(
        {m.sender_id for m in messages if m.sender_id} or {0}))}
    payloads = [message_payload(m, senders.get(m.sender_id)) for m in messages]
    counts = read_counts(conv, messages)
    members = list(g.scope.select(Person).where(Person.id.in_(member_ids(conv))).order_by(Person.display_name))
    mark_read(g.person, conv)
    positions = dict(g.scope.select(ConversationMember, ConversationMember.person, ConversationMember.last_read_id)
                     .where(ConversationMember.conversation == conv).tuples())
    others = [p for p in members if p.id != g.person.id]
    status = availability(others[0]) if conv.kind == "direct" and others else None
    return render_template("chat/conversation.html", conv=conv, title=_titles([conv])[conv.id], payloads=payloads,
                           counts=counts, members=members, status=status, last_event_id=latest_id(),
                           positions=positions,
                           oldest=messages[0].id if messages else None, rules=rules())


@bp.route("/<int:conversation_id>/messages", methods=["GET"])
@login_required
def messages(conversation_id: int):
    """Older messages as JSON, for "load earlier"."""
    conv = _conversation_or_404(conversation_id)
    page = history(conv, request.args.get("before"))
    senders = {p.id: p for p in g.scope.select(Person).where(Person.id.in_({m.sender_id for m in page} or {0}))}
    counts = read_counts(conv, page)
    return jsonify(messages=[{**message_payload(m, senders.get(m.sender_id)), "read": counts[m.id][0],
                              "members": counts[m.id][1]} for m in page])


@bp.route("/<int:conversation_id>/messages", methods=["POST"])
@login_required
def post(conversation_id: int):
    """Post a message (with an optional attachment) to a conversation one is in."""
    conv = _conversation_or_404(conversation_id)
    try:
        blob, name = attachments.store_upload(g.tenant, request.files.get("attachment"), rules(),
                                              policy_for(g.tenant).files)
        message = post_message(g.tenant, conv, g.person, request.form.get("text"), reply_to=request.form.get("reply_to"),
                               attachment=blob, attachment_name=name, rules=rules())
    except RateLimited as exc:
        message_text = _("You are sending messages too fast. Wait %(n)d seconds.", n=exc.retry_after)
        if _wants_json():
            return jsonify(error=message_text), 429, {"Retry-After": str(exc.retry_after)}
        flash(message_text, "error")
        return redirect(url_for("chat.conversation", conversation_id=conv.id)), 303, {"Retry-After": str(exc.retry_after)}
    except ValidationError as exc:
        if _wants_json():
            return jsonify(error=str(exc.message), field=exc.field), 400
        flash(str(exc.message), "error")
        return redirect(url_for("chat.conversation", conversation_id=conv.id))
    except BlobError:
        error = _("The attachment could not be stored. Nothing was sent; try again later.")
        if _wants_json():
            return jsonify(error=error), 503
        flash(error, "error")
        return redirect(url_for("chat.conversation", conversation_id=conv.id))
    if _wants_json():
        return jsonify(message_payload(message, g.person)), 201
    return redirect(url_for("chat.conversation", conversation_id=conv.id))


def _message_action(conversation_id: int, message_id: int, action):
    _conversation_or_404(conversation_id)
    try:
        message = action()
    except LookupError:
        abort(404)
    except PermissionError:
        abort(403)
    except ValidationError as exc:
        if _wants_json():
            return jsonify(error=str(exc.message)), 400
        flash(str(exc.message), "error")
        return redirect(url_for("chat.conversation", conversation_id=conversation_id))
    if message.conversation_id != conversation_id:
        abort(404)
    if _wants_json():
        return jsonify(message_payload(message, g.person))
    return redirect(url_for("chat.conversation", conversation_id=conversation_id))


@bp.route("/<int:conversation_id>/messages/<int:message_id>/edit", methods=["POST"])
@login_required
def edit(conversation_id: int, message_id: int):
    """Change one's own message within the edit window."""
    return _message_action(conversation_id, message_id,
                           lambda: edit_message(g.tenant, g.person, message_id, request.form.get("text"), rules()))


@bp.route("/<int:conversation_id>/messages/<int:message_id>/recall", methods=["POST"])
@login_required
def recall(conversation_id: int, message_id: int):
    """Recall one's own message within the recall window."""
    return _message_action(conversation_id, message_id, lambda: recall_message(g.tenant, g.person, message_id, rules()))


def _message_in(conv, message_id) -> Message:
    message = g.scope.get_or_none(Message, message_id)
    if message is None or message.conversation_id != conv.id:
        abort(404)
    return message


@bp.route("/<int:conversation_id>/messages/<int:message_id>/receipts")
@login_required
def message_receipts(conversation_id: int, message_id: int):
    """Who has read a message and who has not."""
    conv = _conversation_or_404(conversation_id)
    message = _message_in(conv, message_id)
    read, unread = receipts(message)
    if _wants_json():
        return jsonify(read=[{"id": p.id, "name": p.display_name} for p in read],
                       unread=[{"id": p.id, "name": p.display_name} for p in unread])
    return render_template("chat/receipts.html", conv=conv, message=message, read=read, unread=unread)


@bp.route("/<int:conversation_id>/read", methods=["POST"])
@login_required
def read(conversation_id: int):
    """Move one's read position in a conversation."""
    conv = _conversation_or_404(conversation_id)
    return jsonify(last_read_id=mark_read(g.person, conv, request.form.get("up_to")))


@bp.route("/<int:conversation_id>/attachments/<int:message_id>")
@login_required
def attachment(conversation_id: int, message_id: int):
    """Download a message's attachment (members only, unless the file policy turns downloads off for their role)."""
    conv = _conversation_or_404(conversation_id)
    message = _message_in(conv, message_id)
    if message.attachment_id is None or message.recalled_at is not None:
        abort(404)
    require(FILE_DOWNLOAD)
    blob = message.attachment
    try:
        data = read_blob(blob)
    except BlobError:
        abort(503)
    return Response(data, content_type=blob.content_type, headers={
        "Content-Disposition": attachments.content_disposition(message.attachment_name or "attachment"),
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store"})


@bp.route("/search")
@login_required
def search_page():
    """Search the messages of one's own conversations."""
    q = (request.args.get("q") or "").strip()[:200]
    results = search(g.person, q) if q else []
    titles = _titles({m.conversation for m in results})
    senders = {p.id: p for p in g.scope.select(Person).where(Person.id.in_({m.sender_id for m in results} or {0}))}
    return render_template("chat/search.html", q=q, results=[(m, message_payload(m, senders.get(m.sender_id)))
                                                             for m in results], titles=titles)
