"""Chat: conversations, messages, read positions and department groups; plain functions over a tenant."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

import peewee
from flask_babel import lazy_gettext as _l

from app.chat.models import Conversation, ConversationMember, Message, MessageMention
from app.chat.render import MENTION, render_text
from app.db import db, is_postgres, utcnow
from app.events import publish
from app.notify import excerpt, mark_read_by_ref, notify
from app.org.models import Department, Membership, Person
from app.org.service import OrgIndex
from app.search import normalise, query_tokens
from app.tenancy.models import Tenant
from app.tenancy.scope import MAX_ROW_ID, TenantScope, as_row_id
from app.validation import ValidationError, clean_text


@dataclass(frozen=True)
class ChatRules:
    """Limits from the settings ([chat] section)."""

    max_message_length: int = 5000
    edit_minutes: int = 15
    recall_minutes: int = 120
    rate_messages: int = 30
    rate_seconds: int = 10
    max_attachment_bytes: int = 20 * 1024 * 1024
    max_group_members: int = 2000


class RateLimited(Exception):
    """Too many messages in a short time; retry_after is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


# --- membership ---------------------------------------------------------------------------

def member_row(conversation_id, person: Person) -> ConversationMember | None:
    """The person's membership of a conversation in their own tenant, or None (also for bad ids)."""
    conversation_id = as_row_id(conversation_id)
    if conversation_id is None:
        return None
    return (TenantScope(person.tenant).select(ConversationMember)
            .where((ConversationMember.conversation == conversation_id) & (ConversationMember.person == person))
            .first())


def conversation_for(person: Person, conversation_id) -> Conversation | None:
    """A conversation the person is in; None for one they are not in, of any tenant, or that does not exist."""
    member = member_row(conversation_id, person)
    return None if member is None else TenantScope(person.tenant).get_or_none(Conversation, member.conversation_id)


def member_ids(conversation: Conversation) -> list[int]:
    return [pid for (pid,) in ConversationMember.select(ConversationMember.person)
            .where(ConversationMember.conversation == conversation).tuples()]


def _add_members(conversation: Conversation, person_ids, by: Person | None = None) -> list[int]:
    existing = set(member_ids(conversation))
    added = [pid for pid in dict.fromkeys(person_ids) if pid not in existing]
    if added:
        # A newcomer starts with the history marked read: nobody's unread count jumps by the backlog.
        start = conversation.last_message_id or 0
        ConversationMember.insert_many(
            [{"tenant": conversation.tenant_id, "conversation": conversation.id, "person": pid, "last_read_id": start,
              "joined_at": utcnow()} for pid in added]).execute()
        for pid in added:
            publish(conversation.tenant_id, "member_added", {"conversation": conversation.id}, person=pid)
    return added


def _remove_members(conversation: Conversation, person_ids) -> None:
    person_ids = list(person_ids)
    if not person_ids:
        return
    ConversationMember.delete().where((ConversationMember.conversation == conversation)
                                      & ConversationMember.person.in_(person_ids)).execute()
    for pid in person_ids:
        publish(conversation.tenant_id, "member_removed", {"conversation": conversation.id}, person=pid)


def _active_people(tenant: Tenant, ids) -> list[Person]:
    wanted = []
    for raw in ids:
        number = as_row_id(raw)
        if number is None:
            raise ValidationError("members", _l("Choose people from the list."))
        wanted.append(number)
    people = list(Person.active(tenant).where(Person.id.in_(wanted))) if wanted else []
    if len(people) != len(set(wanted)):
        raise ValidationError("members", _l("Choose people from the list."))
    return people


def direct_conversation(tenant: Tenant, me: Person, other_id) -> Conversation:
    """The one direct conversation between two people of the tenant, made on first use."""
    (other,) = _active_people(tenant, [other_id])
    if other.id == me.id:
        raise ValidationError("members", _l("Choose someone other than yourself."))
    key = f"{min(me.id, other.id)}:{max(me.id, other.id)}"
    found = TenantScope(tenant).select(Conversation).where(Conversation.direct_key == key).first()
    if found is not None:
        return found
    try:
        with db.atomic():
            conversation = Conversation.create(tenant=tenant, kind="direct", direct_key=key, created_by=me)
            _add_members(conversation, [me.id, other.id])
    except peewee.IntegrityError:  # a second click raced the first one
        return TenantScope(tenant).select(Conversation).where(Conversation.direct_key == key).get()
    return conversation


def create_group(tenant: Tenant, creator: Person, title, member_ids_: list, rules: ChatRules = ChatRules()) -> Conversation:
    """A group conversation of the creator and the chosen people."""
    title = clean_text(title, "title", required=True, max_length=200)
    people = _active_people(tenant, member_ids_)
    if not people:
        raise ValidationError("members", _l("Choose at least one person."))
    if len(people) + 1 > rules.max_group_members:
        raise ValidationError("members", _l("A group has at most %(n)d members.", n=rules.max_group_members))
    with db.atomic():
        conversation = Conversation.create(tenant=tenant, kind="group", title=title, created_by=creator)
        _add_members(conversation, [creator.id] + [p.id for p in people])
        _system_message(conversation, creator, "created")
    return conversation


def add_to_group(conversation: Conversation, by: Person, person_ids: list) -> list[int]:
    if conversation.kind != "group":
        raise ValidationError("members", _l("Members of this conversation follow the org chart or are fixed."))
    people = _active_people(by.tenant, person_ids)
    with db.atomic():
        return _add_members(conversation, [p.id for p in people])


def leave(conversation: Conversation, person: Person) -> None:
    if conversation.kind != "group":
        raise ValidationError("members", _l("You cannot leave this conversation."))
    with db.atomic():
        _remove_members(conversation, [person.id])


# --- department groups ----------------------------------------------------------------------

def enable_department_group(tenant: Tenant, department: Department, by: Person | None = None) -> Conversation:
    """The department's group chat, created if needed, with members kept in step with the org chart."""
    found = TenantScope(tenant).select(Conversation).where(Conversation.department == department).first()
    if found is None:
        found = Conversation.create(tenant=tenant, kind="department", department=department, title=department.name,
                                    created_by=by)
    sync_department_groups(tenant)
    return found


def sync_department_groups(tenant: Tenant) -> dict[int, tuple[int, int]]:
    """Make each department group hold exactly the active people of its department and sub-departments.

    Returns {conversation id: (added, removed)} for the groups that changed.
    """
    scope = TenantScope(tenant)
    groups = list(scope.select(Conversation).where(Conversation.kind == "department"))
    if not groups:
        return {}
    index = OrgIndex(tenant)
    members_by_dept: dict[int, set[int]] = {}
    rows = (scope.select(Membership, Membership.department, Membership.person).join(Person)
            .where(Person.is_active == True).tuples())  # noqa: E712
    for dept_id, pid in rows:
        members_by_dept.setdefault(dept_id, set()).add(pid)
    changes = {}
    with db.atomic():
        for conversation in groups:
            if conversation.department_id is None:
                continue
            wanted = set()
            for dept_id in index.subtree_ids(conversation.department_id):
                wanted |= members_by_dept.get(dept_id, set())
            current = set(member_ids(conversation))
            added = _add_members(conversation, sorted(wanted - current))
            removed = sorted(current - wanted)
            _remove_members(conversation, removed)
            if conversation.department_id in index.by_id and conversation.title != index.by_id[conversation.department_id].name:
                conversation.title = index.by_id[conversation.department_id].name
                conversation.save()
            if added or removed:
                changes[conversation.id] = (len(added), len(removed))
    return changes


# --- messages -----------------------------------------------------------------------------------

def _check_rate(person: Person, rules: ChatRules) -> None:
    since = utcnow() - datetime.timedelta(seconds=rules.rate_seconds)
    # The rate_messages-th most recent message inside the window, if there is one: one row, not the window.
    nth = (Message.select(Message.created_at)
           .where((Message.sender == person) & (Message.created_at > since))
           .order_by(Message.created_at.desc()).offset(rules.rate_messages - 1).limit(1).scalar())
    if nth is not None:
        raise RateLimited(max(1, int((nth - since).total_seconds()) + 1))


def _mentions(tenant: Tenant, text: str, conversation: Conversation) -> dict[str, Person]:
    logins = {m.group(1).lower() for m in MENTION.finditer(text)}
    if not logins:
        return {}
    rows = (TenantScope(tenant).select(Person).join(ConversationMember, on=(ConversationMember.person == Person.id))
            .where((ConversationMember.conversation == conversation) & Person.login.in_(list(logins))))
    return {p.login: p for p in rows}


def post_message(tenant: Tenant, conversation: Conversation, sender: Person, text, *, reply_to=None,
                 attachment=None, attachment_name: str | None = None, kind: str = "text",
                 rules: ChatRules = ChatRules()) -> Message:
    """Post a message as a member: checked, stored, the sender's read position moved, and announced live."""
    text = (text or "").strip()
    if not text and attachment is None:
        raise ValidationError("text", _l("Write a message first."))
    if len(text) > rules.max_message_length:
        raise ValidationError("text", _l("At most %(n)d characters.", n=rules.max_message_length))
    if "\x00" in text:
        raise ValidationError("text", _l("Contains characters that are not allowed."))
    member = member_row(conversation.id, sender)
    if member is None:
        raise LookupError(conversation.id)
    _check_rate(sender, rules)
    quoted = None
    if reply_to:
        quoted = TenantScope(tenant).get_or_none(Message, reply_to)
        if quoted is None or quoted.conversation_id != conversation.id:
            raise ValidationError("reply_to", _l("You can only quote a message of this conversation."))
    mentioned = _mentions(tenant, text, conversation)
    with db.atomic():
        message = Message.create(tenant=tenant, conversation=conversation, sender=sender, kind=kind, text=text,
                                 search_text=normalise(text), reply_to=quoted, attachment=attachment,
                                 attachment_name=attachment_name)
        if mentioned:
            MessageMention.insert_many([{"tenant": tenant.id, "message": message.id, "person": p.id}
                                        for p in mentioned.values()]).execute()
        Conversation.update(last_message_id=message.id, last_message_at=message.created_at).where(
            Conversation.id == conversation.id).execute()
        ConversationMember.update(last_read_id=message.id).where(ConversationMember.id == member.id).execute()
        publish(tenant, "message", message_payload(message, sender, mentioned, quoted), conversation=conversation)
        notify(tenant, [p.id for p in mentioned.values() if p.id != sender.id], "mention",
               {"sender": sender.display_name, "conversation": conversation.title or "", "text": excerpt(text)},
               link=f"/chat/{conversation.id}#m{message.id}", ref=f"message:{message.id}")
    return message


def _system_message(conversation: Conversation, person: Person, what: str) -> Message:
    message = Message.create(tenant=conversation.tenant_id, conversation=conversation, sender=person, kind="system",
                             text=what, search_text="")
    Conversation.update(last_message_id=message.id, last_message_at=message.created_at).where(
        Conversation.id == conversation.id).execute()
    return message


def message_payload(message: Message, sender: Person | None, mentioned: dict[str, Person] | None = None,
                    quoted: Message | None = None) -> dict:
    """What clients receive about a message (its text already rendered safe)."""
    recalled = message.recalled_at is not None
    return {
        "id": message.id, "conversation": message.conversation_id, "kind": message.kind,
        "sender": sender.id if sender else None, "sender_name": sender.display_name if sender else "",
        "html": "" if recalled else str(render_text(message.text, {k: p.display_name for k, p in (mentioned or {}).items()})),
        "text": "" if recalled else message.text,
        "created_at": message.created_at.isoformat() + "Z",
        "edited": message.edited_at is not None, "recalled": recalled,
        "reply_to": message.reply_to_id,
        "quote": (quoted.text[:200] if quoted is not None and quoted.recalled_at is None else None),
        "attachment": message.attachment_name if message.attachment_id and not recalled else None,
        "mentions": [p.id for p in (mentioned or {}).values()],
    }


def _own_message(tenant: Tenant, person: Person, message_id) -> Message:
    message = TenantScope(tenant).get_or_none(Message, message_id)
    if message is None or member_row(message.conversation_id, person) is None:
        raise LookupError(message_id)
    if message.sender_id != person.id:
        raise PermissionError(message_id)
    return message


def edit_message(tenant: Tenant, person: Person, message_id, text, rules: ChatRules = ChatRules()) -> Message:
    """Change one's own message within the edit window."""
    message = _own_message(tenant, person, message_id)
    if message.recalled_at is not None or message.kind != "text":
        raise ValidationError("text", _l("This message can no longer be changed."))
    if utcnow() - message.created_at > datetime.timedelta(minutes=rules.edit_minutes):
        raise ValidationError("text", _l("Messages can be edited for %(n)d minutes.", n=rules.edit_minutes))
    text = (text or "").strip()
    if not text or len(text) > rules.max_message_length:
        raise ValidationError("text", _l("At most %(n)d characters.", n=rules.max_message_length))
    with db.atomic():
        message.text, message.search_text, message.edited_at = text, normalise(text), utcnow()
        message.save()
        conversation = message.conversation
        publish(tenant, "message_updated", message_payload(message, person, _mentions(tenant, text, conversation)),
                conversation=message.conversation_id)
    return message


def recall_message(tenant: Tenant, person: Person, message_id, rules: ChatRules = ChatRules()) -> Message:
    """Take back one's own message within the recall window; everyone sees that it was recalled."""
    message = _own_message(tenant, person, message_id)
    if message.recalled_at is not None:
        return message
    if utcnow() - message.created_at > datetime.timedelta(minutes=rules.recall_minutes):
        raise ValidationError("text", _l("Messages can be recalled for %(n)d minutes.", n=rules.recall_minutes))
    with db.atomic():
        message.recalled_at, message.search_text = utcnow(), ""
        message.save()
        publish(tenant, "message_updated", message_payload(message, person), conversation=message.conversation_id)
    return message


# --- reading ------------------------------------------------------------------------------------

def history(conversation: Conversation, before=None, limit: int = 50) -> list[Message]:
    """Up to `limit` messages older than `before` (newest page when None), oldest first."""
    rows = Message.select().where(Message.conversation == conversation)
    try:
        if before is not None:
            rows = rows.where(Message.id < max(0, min(int(before), MAX_ROW_ID + 1)))
    except (TypeError, ValueError):
        pass
    return list(reversed(rows.order_by(Message.id.desc()).limit(max(1, min(limit, 200)))))


def mark_read(person: Person, conversation: Conversation, up_to=None) -> int:
    """Move the person's read position forward (never back); announces it so senders see receipts change."""
    member = member_row(conversation.id, person)
    if member is None:
        raise LookupError(conversation.id)
    # The newest message from the database: the caller's conversation object may predate it.
    target = (Conversation.select(Conversation.last_message_id).where(Conversation.id == conversation.id)
              .scalar() or 0)
    try:
        if up_to is not None:
            target = min(int(up_to), target)
    except (TypeError, ValueError):
        pass
    if target <= member.last_read_id:
        return member.last_read_id
    with db.atomic():
        ConversationMember.update(last_read_id=target).where(
            (ConversationMember.id == member.id) & (ConversationMember.last_read_id < target)).execute()
        publish(person.tenant_id, "read", {"conversation": conversation.id, "person": person.id, "last_read_id": target},
                conversation=conversation)
        # Having read the messages that mentioned them, the person has no need of those notifications either.
        mentions = (MessageMention.select(MessageMention.message)
                    .join(Message, on=(MessageMention.message == Message.id))
                    .where((MessageMention.person == person.id) & (Message.conversation == conversation.id)
                           & (Message.id > member.last_read_id) & (Message.id <= target)))
        mark_read_by_ref(person.tenant_id, person, [f"message:{m}" for (m,) in mentions.tuples()])
    return target


def mark_all_read(person: Person) -> int:
    """One click clears every unread badge; returns how many conversations changed."""
    changed = 0
    for conversation, _count in unread_counts(person).items():
        mark_read(person, conversation)
        changed += 1
    return changed


def unread_counts(person: Person) -> dict[Conversation, int]:
    """Conversations with messages from others after the person's read position, and how many."""
    scope = TenantScope(person.tenant)
    rows = (scope.select(ConversationMember, ConversationMember.conversation, peewee.fn.COUNT(Message.id))
            .join(Message, on=((Message.conversation == ConversationMember.conversation)
                               & (Message.id > ConversationMember.last_read_id)))
            .where((ConversationMember.person == person) & (Message.sender != person)
                   & Message.recalled_at.is_null() & (Message.kind != "system"))
            .group_by(ConversationMember.conversation).tuples())
    counts = {cid: n for cid, n in rows if n}
    if not counts:
        return {}
    conversations = scope.select(Conversation).where(Conversation.id.in_(list(counts)))
    return {c: counts[c.id] for c in conversations}


def conversations_of(person: Person) -> list[tuple[Conversation, int]]:
    """The person's conversations, most recent first, with unread counts."""
    scope = TenantScope(person.tenant)
    unread = {c.id: n for c, n in unread_counts(person).items()}
    rows = (scope.select(Conversation).join(ConversationMember, on=(ConversationMember.conversation == Conversation.id))
            .where(ConversationMember.person == person)
            .order_by(peewee.fn.COALESCE(Conversation.last_message_at, Conversation.created_at).desc()))
    return [(c, unread.get(c.id, 0)) for c in rows]


def receipts(message: Message) -> tuple[list[Person], list[Person]]:
    """(read, unread): the other members of the conversation by whether they have read the message."""
    rows = (Person.select(Person, ConversationMember.last_read_id)
            .join(ConversationMember, on=(ConversationMember.person == Person.id))
            .where((ConversationMember.conversation == message.conversation_id) & (Person.id != message.sender_id))
            .order_by(Person.display_name))
    read, unread = [], []
    for person in rows:
        (read if person.conversationmember.last_read_id >= message.id else unread).append(person)
    return read, unread


def read_counts(conversation: Conversation, messages: list[Message]) -> dict[int, tuple[int, int]]:
    """message id -> (read, total) among the other members, for a page of messages in one query."""
    positions = [(pid, last) for pid, last in ConversationMember.select(
        ConversationMember.person, ConversationMember.last_read_id)
        .where(ConversationMember.conversation == conversation).tuples()]
    result = {}
    for m in messages:
        others = [last for pid, last in positions if pid != m.sender_id]
        result[m.id] = (sum(1 for last in others if last >= m.id), len(others))
    return result


def search(person: Person, query: str, limit: int = 50) -> list[Message]:
    """Messages matching the query in the conversations the person is in, newest first."""
    tokens = query_tokens(query)
    if not tokens:
        return []
    mine = (ConversationMember.select(ConversationMember.conversation)
            .where(ConversationMember.person == person))
    base = TenantScope(person.tenant).select(Message).where(
        Message.conversation.in_(mine) & Message.recalled_at.is_null() & (Message.kind == "text"))
    # The tokens in order, the last one as a prefix ("进度 rev" finds "进度 review"). Tokens are word
    # characters only, so nothing of the query syntax of either engine can be smuggled in.
    if is_postgres():
        expression = " <-> ".join(tokens[:-1] + [tokens[-1] + ":*"])
        base = base.where(peewee.SQL("to_tsvector('simple', search_text) @@ to_tsquery('simple', %s)", (expression,)))
    else:
        expression = '"' + " ".join(tokens) + '" *'
        base = base.where(Message.id.in_(peewee.SQL("(SELECT rowid FROM message_fts WHERE message_fts MATCH ?)",
                                                    (expression,))))
    return list(base.order_by(Message.id.desc()).limit(limit))
