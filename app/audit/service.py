"""Recording audit entries, and reading them back: one `record` call per audited action.

`record` takes who and where from the request (the logged-in person or the API token's owner, the tenant, the
client's address) or, outside a request, from the command line (the OS user, and the SSH client's address when
there is one). Arguments override either. Secrets never reach the log: values under secret-sounding keys are
replaced, and token-like strings and passwords in URLs are masked wherever they appear.
"""
from __future__ import annotations

import datetime
import getpass
import ipaddress
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l

from app.audit.models import AppendOnly, AuditEvent
from app.db import utcnow
from app.tenancy.models import Tenant

VIAS = ("web", "api", "cli", "worker")
OUTCOMES = ("ok", "failed", "refused")
REDACTED = "[redacted]"
INTEGRATION = "integration"          # Person.source of an integration's service account (app.org.models)

# What each action code means, for the admin page; a code not listed here is shown as it is.
ACTIONS = {
    "login.success": _l("Logged in"),
    "login.failed": _l("Failed login"),
    "login.logout": _l("Logged out"),
    "password.change": _l("Changed own password"),
    "person.create": _l("Person created"),
    "person.update": _l("Person changed"),
    "person.deactivate": _l("Person deactivated"),
    "person.reactivate": _l("Person reactivated"),
    "person.password_reset": _l("Password reset"),
    "department.create": _l("Department created"),
    "department.update": _l("Department changed"),
    "department.delete": _l("Department deleted"),
    "tenant.create": _l("Tenant created"),
    "tenant.update": _l("Tenant settings changed"),
    "directory.config": _l("Directory settings changed"),
    "directory.test": _l("Directory connection tested"),
    "directory.sync": _l("Directory sync"),
    "brand.apply": _l("Brand applied"),
    "brand.rollback": _l("Brand rolled back"),
    "residency.export": _l("Tenant exported"),
    "residency.import": _l("Tenant imported"),
    "residency.delete": _l("Tenant deleted"),
    "residency.backup": _l("Backup written"),
    "residency.restore": _l("Backup restored"),
    "residency.fsck_repair": _l("Storage repaired"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
    "integration.token_create": _l("Integration token created"),
    "integration.token_revoke": _l("Integration token revoked"),
    "announcement.publish": _l("Announcement published"),
    "audit.export": _l("Audit log exported"),
    "policy.update": _l("Security policies changed"),
    "person.unlock": _l("Person unlocked"),
}
OUTCOME_NAMES = {"ok": _l("OK"), "failed": _l("Failed"), "refused": _l("Refused")}
VIA_NAMES = {"web": _l("web"), "api": _l("API"), "cli": _l("command line"), "worker": _l("background job")}

_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_ACTION_FILTER_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
# Keys whose values are secrets wherever they appear in `changes`.
_SECRET_KEY_RE = re.compile(r"password|passphrase|secret|token|private_key|api_key|credential|_hash$|^key$",
                            re.IGNORECASE)
# Secrets that can hide inside ordinary text: API tokens, and passwords in URLs.
_TOKEN_RE = re.compile(r"atr_[A-Za-z0-9_-]{8,}")
_URL_PASSWORD_RE = re.compile(r"(://[^:/@\s]+:)[^@\s]*@")
MAX_VALUE_LENGTH = 500
MAX_ITEMS = 200


@dataclass(frozen=True)
class Actor:
    """Who acted: a person's id (when a person did) and a label a reader understands."""

    id: int | None
    label: str
    via: str | None = None

    @classmethod
    def person(cls, person) -> "Actor":
        """A person, or an integration's service account, as the actor."""
        if getattr(person, "source", None) == INTEGRATION:
            return cls(person.id, f"integration {person.display_name}")
        return cls(person.id, person.login)

    @classmethod
    def cli(cls) -> "Actor":
        """The operator at the command line, by OS user (and the user who ran sudo)."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = f"uid {os.getuid()}"
        sudo = os.environ.get("SUDO_USER")
        return cls(None, f"cli ({sudo} as {user})" if sudo and sudo != user else f"cli ({user})", "cli")

    @classmethod
    def system(cls, label: str, via: str = "worker") -> "Actor":
        """A part of the product acting on its own, such as the scheduled directory sync."""
        return cls(None, label, via)


DIRECTORY_SYNC = Actor.system("directory sync")


@dataclass(frozen=True)
class Target:
    """What an action was done to, when it is not a row with an id and a name."""

    type: str
    id: Any = None
    label: str | None = None


def _target_facts(target) -> tuple[str | None, str | None, str | None]:
    if target is None:
        return None, None, None
    if isinstance(target, Target):
        return target.type, None if target.id is None else str(target.id), target.label
    kind = target._meta.table_name
    if kind == "person":
        label = f"{target.display_name} ({target.login})"
    elif isinstance(target, Tenant):
        label = target.slug
    else:
        label = next((str(getattr(target, name)) for name in ("name", "title", "number")
                      if getattr(target, name, None) is not None), None)
    if kind == "api_token":
        label = f"{target.name} ({target.prefix}…)"
    return kind, None if target.get_id() is None else str(target.get_id()), label


def _mask(text: str) -> str:
    text = _TOKEN_RE.sub(REDACTED, text)
    text = _URL_PASSWORD_RE.sub(lambda m: m.group(1) + REDACTED + "@", text)
    return text[:MAX_VALUE_LENGTH] + ("…" if len(text) > MAX_VALUE_LENGTH else "")


def redact(value, key: str | None = None):
    """A copy of `changes` fit for the log: secrets replaced, long text and lists cut short."""
    if key is not None and _SECRET_KEY_RE.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        return [redact(v, key) for v in items[:MAX_ITEMS]]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    return _mask(str(value))


def difference(before: Mapping, after: Mapping) -> dict:
    """{"before": {...}, "after": {...}} holding only the keys whose values differ."""
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after.get(k) for k in keys}}


def flatten(values: Mapping, prefix: str = "") -> dict:
    """Nested settings as one level of dotted keys, so a difference names the setting that changed."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _cli_address() -> str:
    """The SSH client's address when the command runs in an SSH session, else "local"."""
    for variable in ("SSH_CONNECTION", "SSH_CLIENT"):
        first = (os.environ.get(variable) or "").split(" ")[0]
        try:
            return str(ipaddress.ip_address(first))
        except ValueError:
            continue
    return "local"


def log_exists() -> bool:
    """False on a database not yet upgraded to the release that keeps an audit log (a backup of an old install)."""
    return AuditEvent.table_exists()


def current_actor() -> Actor:
    """Who is acting now: the request's person (or token owner), else the command line's user."""
    if has_request_context():
        person = g.get("person")
        return Actor.person(person) if person is not None else Actor(None, "anonymous")
    return Actor.cli()


def acting_as(person) -> bool:
    """True when the person acting now is this person (they change something of their own)."""
    return has_request_context() and g.get("person") is not None and g.person.id == person.id


def record(action: str, *, target=None, changes: Mapping | None = None, outcome: str = "ok",
           actor: Actor | Any = None, tenant: Tenant | None = None, via: str | None = None,
           address: str | None = None) -> AuditEvent:
    """Append one entry to the audit log; who, where and the tenant come from the request or the command line.

    target: a row (Person, Department, Tenant, ApiToken, ...) or a Target; changes: plain values, typically
    difference(before, after); actor: an Actor or a Person. The tenant is, in order: the one given, the request's,
    the target's own.
    """
    if not _ACTION_RE.match(action) or len(action) > 64:
        raise ValueError(f"not an action code: {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"not an outcome: {outcome!r}")
    if actor is None:
        actor = current_actor()
    elif not isinstance(actor, Actor):
        actor = Actor.person(actor)
    in_request = has_request_context()
    if via is None:
        via = actor.via or (("api" if g.get("token") is not None else "web") if in_request else "cli")
    if via not in VIAS:
        raise ValueError(f"not a channel: {via!r}")
    if address is None:
        address = (request.remote_addr or "unknown") if in_request else _cli_address()
    if tenant is None and in_request:
        tenant = g.get("tenant")
    if tenant is None and target is not None and not isinstance(target, Target):
        tenant = target if isinstance(target, Tenant) else getattr(target, "tenant", None)
    target_type, target_id, target_label = _target_facts(target)
    data = json.dumps(redact(changes), ensure_ascii=False, sort_keys=True, default=str) if changes else None
    return AuditEvent.create(
        tenant_id=tenant.id if tenant is not None else None, tenant_slug=tenant.slug if tenant is not None else None,
        at=utcnow(), actor_id=actor.id, actor_label=_mask(actor.label)[:200], via=via, address=address[:64],
        action=action, target_type=target_type, target_id=(target_id or "")[:64] or None,
        target_label=_mask(target_label)[:200] if target_label else None, changes=data, outcome=outcome)


# --- reading the log ------------------------------------------------------------------------------

class BadFilter(ValueError):
    """A filter value cannot be understood; `field` names it, `message` says why."""

    def __init__(self, field: str, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_moment(text: str, field: str, *, end_of_day: bool = False) -> datetime.datetime:
    """2026-11-01, 2026-11-01T08:00, 2026-11-01T08:00:00Z or with an offset, as naive UTC.

    A date alone is the start of that day (UTC), or with end_of_day the start of the next one.
    """
    value = (text or "").strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            moment = datetime.datetime.combine(datetime.date.fromisoformat(value), datetime.time())
            return moment + datetime.timedelta(days=1) if end_of_day else moment
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", value):
            raise ValueError(value)
        moment = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise BadFilter(field, _l("Not a date: use 2026-11-01 or 2026-11-01T08:00:00Z.")) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


@dataclass
class Filters:
    """What the admin page or the export asks for; every field optional."""

    actor: str = ""
    action: str = ""
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None     # exclusive
    text: str = ""
    outcome: str = ""


def _searchable(value) -> str:
    """Free text to look for; a NUL is dropped (PostgreSQL refuses one in a query, and stores none to find)."""
    return (value or "").replace("\x00", "").strip()[:100]


def filters_from(args: Mapping) -> Filters:
    """The page's query arguments as Filters; BadFilter names the first bad one."""
    found = Filters(actor=_searchable(args.get("actor")), text=_searchable(args.get("q")))
    action = (args.get("action") or "").strip()
    if action and (not _ACTION_FILTER_RE.match(action) or len(action) > 64):
        raise BadFilter("action", _l("Choose an action from the list."))
    found.action = action
    outcome = (args.get("outcome") or "").strip()
    if outcome and outcome not in OUTCOMES:
        raise BadFilter("outcome", _l("Choose an outcome from the list."))
    found.outcome = outcome
    if (args.get("since") or "").strip():
        found.since = parse_moment(args["since"], "since")
    if (args.get("until") or "").strip():
        found.until = parse_moment(args["until"], "until", end_of_day=True)
    if found.since and found.until and found.since >= found.until:
        raise BadFilter("until", _l("The end is before the start."))
    return found


def events(tenant: Tenant | None, filters: Filters = Filters(), *, install_wide: bool = False):
    """A tenant's entries (and the install's own with install_wide; tenant None: every entry), newest first."""
    query = AuditEvent.select()
    if tenant is not None:
        mine = AuditEvent.tenant_id == tenant.id
        query = query.where(mine | AuditEvent.tenant_id.is_null() if install_wide else mine)
    if filters.actor:
        query = query.where(AuditEvent.actor_label.contains(filters.actor))
    if filters.action:
        query = query.where((AuditEvent.action == filters.action)
                            | AuditEvent.action.startswith(filters.action + "."))
    if filters.since:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.at < filters.until)
    if filters.outcome:
        query = query.where(AuditEvent.outcome == filters.outcome)
    if filters.text:
        text = filters.text
        query = query.where(AuditEvent.target_label.contains(text) | AuditEvent.actor_label.contains(text)
                            | AuditEvent.action.contains(text) | AuditEvent.changes.contains(text)
                            | AuditEvent.address.contains(text) | AuditEvent.tenant_slug.contains(text))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def action_choices() -> list[tuple[str, str]]:
    """(code, label) for the action filter: each group of actions, then each action."""
    groups = sorted({code.split(".")[0] for code in ACTIONS})
    return [(group, f"{group}.*") for group in groups] + [(code, f"{ACTIONS[code]} ({code})")
                                                         for code in sorted(ACTIONS)]


def action_label(code: str) -> str:
    return str(ACTIONS.get(code, code))


def changes_of(event: AuditEvent):
    """The entry's changes as data: {"before", "after"} or any other shape, None when there are none."""
    if not event.changes:
        return None
    try:
        return json.loads(event.changes)
    except ValueError:
        return {"?": event.changes}


@dataclass(frozen=True)
class ChangeLine:
    """One line of an entry's changes on the page: a key with its value, or its value before and after."""

    key: str
    before: Any = None
    after: Any = None
    kind: str = "value"      # value (after holds it), diff, added (after only), removed (before only)


def change_lines(changes) -> list[ChangeLine]:
    """An entry's changes as lines to show; {"before": {...}, "after": {...}} pairs up the keys."""
    if not changes:
        return []
    if not isinstance(changes, Mapping):
        return [ChangeLine("", after=changes)]
    halves = {k: v for k, v in changes.items() if k in ("before", "after")}
    if halves and len(halves) == len(changes) and all(isinstance(v, Mapping) for v in halves.values()):
        before, after = halves.get("before"), halves.get("after")
        keys = dict.fromkeys([*(before or {}), *(after or {})])
        kind = "diff" if before is not None and after is not None else "added" if after is not None else "removed"
        return [ChangeLine(k, (before or {}).get(k), (after or {}).get(k), kind) for k in keys]
    return [ChangeLine(str(k), after=v) for k, v in changes.items()]


def as_json(event: AuditEvent) -> dict:
    """One entry with stable keys and ISO-8601 UTC times, as the export writes it."""
    return {"id": event.id, "at": event.at.isoformat(timespec="microseconds") + "Z",
            "tenant": event.tenant_slug, "tenant_id": event.tenant_id,
            "actor": event.actor_label, "actor_id": event.actor_id, "via": event.via, "address": event.address,
            "action": event.action, "target": {"type": event.target_type, "id": event.target_id,
                                               "label": event.target_label},
            "changes": changes_of(event), "outcome": event.outcome}


def stream(tenant: Tenant | None, since: datetime.datetime, until: datetime.datetime | None = None,
           batch: int = 1000) -> Iterator[AuditEvent]:
    """Entries oldest first, in batches by id, so an export of millions holds one batch in memory at a time."""
    last = 0
    while True:
        query = AuditEvent.select().where((AuditEvent.id > last) & (AuditEvent.at >= since))
        if until is not None:
            query = query.where(AuditEvent.at < until)
        if tenant is not None:
            query = query.where(AuditEvent.tenant_id == tenant.id)
        rows = list(query.order_by(AuditEvent.id).limit(batch))
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].id


__all__ = ["Actor", "AppendOnly", "AuditEvent", "DIRECTORY_SYNC", "Target", "acting_as", "current_actor",
           "difference", "flatten", "record", "redact"]
