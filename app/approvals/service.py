"""Approvals: templates, requests, their route along the org chart, decisions and history; plain functions.

A request's route is planned when it is submitted (the applicant's managers up
to the template's depth, or the heads of their departments upwards, then any
extra approvers) and walked one step at a time. When a step's turn comes and its
approver has been deactivated, the step goes to that person's nearest active
manager, or to a tenant admin, and the history says so; a route with nobody on
it goes to a tenant admin. Every change bumps the request's version with a
conditional UPDATE, so a second click or a form opened before someone else acted
changes nothing (StaleAction).
"""
from __future__ import annotations

import datetime
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Callable, Iterable

import peewee
from flask_babel import lazy_gettext as _l

from app.approvals.forms import (KIND_NAMES, MAX_ATTACHMENTS, Answers, check_answers,
                                 check_custom_fields, form_fields)
from app.approvals.models import (KINDS, ROUTE_MODES, Approval, ApprovalAction, ApprovalAttachment, ApprovalCopy,
                                  ApprovalStep, ApprovalTemplate)
from app.chat.attachments import Upload
from app.db import db, utcnow
from app.events import publish
from app.notify import mark_read_by_ref, notify
from app.org.models import Membership, Person
from app.org.service import OrgIndex
from app.residency.blobs import save_blob
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope, as_row_id
from app.validation import ValidationError, clean_long_text, clean_text

log = logging.getLogger(__name__)

MAX_DEPTH = 5
MAX_EXTRA_APPROVERS = 5
MAX_COPIED = 20
MAX_REASON = 1000
_ID = re.compile(r"[0-9]{1,12}")
_SUBMIT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
OPEN = ("pending", "returned")


class StaleAction(Exception):
    """The request changed since the form was opened, or this is a second click: nothing was done."""


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def approval_url(approval_id: int) -> str:
    """The page of one request (a fixed path, so the worker needs no request to build it)."""
    return f"/approvals/{approval_id}"


def _ids(raw: str) -> list[int]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [i for i in value if isinstance(i, int)] if isinstance(value, list) else []


# --- what other capabilities add to a kind ------------------------------------------------------

@dataclass(frozen=True)
class KindHooks:
    """What a capability does for a kind of request: whether the tenant offers it, and what approval changes."""

    available: Callable[[Tenant], bool]
    approved: Callable[[Approval], str | None]     # returns a history action to record, if any


_hooks: dict[str, KindHooks] = {}


def register_kind(kind: str, hooks: KindHooks) -> None:
    """Attendance registers its corrections here: offered where attendance is taken, applied when approved."""
    _hooks[kind] = hooks


# --- templates ------------------------------------------------------------------------------

def templates_of(tenant: Tenant) -> list[ApprovalTemplate]:
    """The tenant's templates, one per kind, made with their defaults the first time they are asked for."""
    scope = TenantScope(tenant)
    found = {t.kind: t for t in scope.select(ApprovalTemplate)}
    missing = [k for k in KINDS if k not in found]
    if missing:
        ApprovalTemplate.insert_many([{"tenant": tenant.id, "kind": k, "fields": "[]", "extra_approvers": "[]",
                                       "copied": "[]", "updated_at": utcnow()} for k in missing]
                                     ).on_conflict_ignore().execute()
        found = {t.kind: t for t in scope.select(ApprovalTemplate)}
    return [found[k] for k in KINDS]


def template_for(tenant: Tenant, kind) -> ApprovalTemplate | None:
    """The tenant's template of a kind, or None for a kind that does not exist."""
    if kind not in KINDS:
        return None
    return next(t for t in templates_of(tenant) if t.kind == kind)


def offered(tenant: Tenant, template: ApprovalTemplate) -> bool:
    """Whether people can make this kind of request now: enabled, and offered by the capability behind it."""
    hooks = _hooks.get(template.kind)
    return template.enabled and (hooks is None or hooks.available(tenant))


def available_templates(tenant: Tenant) -> list[ApprovalTemplate]:
    """The templates people may fill in."""
    return [t for t in templates_of(tenant) if offered(tenant, t)]


def template_name(template: ApprovalTemplate) -> str:
    """The name the admins gave, else the built-in one in the reader's language."""
    return template.name or str(KIND_NAMES[template.kind])


def custom_fields(template: ApprovalTemplate) -> list[dict]:
    try:
        fields = json.loads(template.fields or "[]")
    except ValueError:
        return []
    return fields if isinstance(fields, list) else []


def fields_of(template: ApprovalTemplate) -> list[dict]:
    """The template's whole form: built-in fields, then the admins' extra ones."""
    return form_fields(template.kind, custom_fields(template))


def extra_approvers_of(template: ApprovalTemplate) -> list[int]:
    return _ids(template.extra_approvers)


def copied_of(template: ApprovalTemplate) -> list[int]:
    return _ids(template.copied)


def _people(tenant: Tenant, raw, field: str, limit: int, exclude: int | None = None) -> list[int]:
    """Ids of active people of the tenant, as chosen in a list; ValidationError for anything else."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, (list, tuple)):
        raise ValidationError(field, _l("Choose people from the list."))
    ids = []
    for value in raw:
        if value in (None, ""):
            continue
        as_text = isinstance(value, str) and _ID.fullmatch(value)
        number = as_row_id(value) if isinstance(value, int) or as_text else None
        if number is None:   # not a number, or one no row can have (a JSON body's 10**30)
            raise ValidationError(field, _l("Choose people from the list."))
        ids.append(number)
    ids = [i for i in dict.fromkeys(ids) if i != exclude]
    if len(ids) > limit:
        raise ValidationError(field, _l("At most %(n)d people.", n=limit))
    found = {i for (i,) in TenantScope(tenant).select(Person, Person.id)
             .where(Person.id.in_(ids or [0]) & (Person.is_active == True)).tuples()}  # noqa: E712
    if len(found) != len(ids):
        raise ValidationError(field, _l("Choose active people from the list."))
    return ids


def save_template(tenant: Tenant, template: ApprovalTemplate, form) -> ApprovalTemplate:
    """Change a template's name, fields and route from the admin's form; nothing is saved when a value is wrong."""
    name = clean_text(form.get("name"), "name", max_length=100)
    description = clean_text(form.get("description"), "description", max_length=500)
    mode = form.get("route_mode") or "manager"
    if mode not in ROUTE_MODES:
        raise ValidationError("route_mode", _l("Choose from the list."))
    depth_raw = (form.get("route_depth") or "").strip()
    if not _ID.fullmatch(depth_raw) or not 1 <= int(depth_raw) <= MAX_DEPTH:
        raise ValidationError("route_depth", _l("Between 1 and %(n)d.", n=MAX_DEPTH))
    getlist = form.getlist if hasattr(form, "getlist") else (lambda key: form.get(key) or [])
    extra = _people(tenant, getlist("extra_approvers"), "extra_approvers", MAX_EXTRA_APPROVERS)
    copied = _people(tenant, getlist("copied"), "copied", MAX_COPIED)
    fields = check_custom_fields(form, custom_fields(template))
    template.name, template.description = name, description
    template.enabled = bool(form.get("enabled"))
    template.route_mode, template.route_depth = mode, int(depth_raw)
    template.extra_approvers, template.copied = json.dumps(extra), json.dumps(copied)
    template.fields = json.dumps(fields, ensure_ascii=False)
    template.updated_at = utcnow()
    template.save()
    return template


# --- planning the route -----------------------------------------------------------------------

@dataclass
class PlannedStep:
    """One approver on a planned route, and why they are on it."""

    approver: Person
    role: str                 # manager, department_head, extra, admin
    level: int = 1
    reason: str | None = None  # for an admin standing in: no_manager or no_head


def tenant_admin(tenant: Tenant, applicant: Person | None = None) -> Person | None:
    """The admin who takes what nobody else can: the longest-standing active admin, not the applicant if possible."""
    admins = list(Person.active(tenant).where(Person.role == "admin").order_by(Person.id))
    others = [a for a in admins if applicant is None or a.id != applicant.id]
    return (others or admins or [None])[0]


def _primary_department(tenant: Tenant, person: Person) -> int | None:
    return (TenantScope(tenant).select(Membership, Membership.department).where(Membership.person == person)
            .order_by(Membership.is_primary.desc(), Membership.id).scalar())


def plan_route(tenant: Tenant, template: ApprovalTemplate, applicant: Person,
               extra_ids: Iterable[int] = ()) -> list[PlannedStep]:
    """Who approves, in order: managers (or department heads) up to the template's depth, then the extra approvers."""
    scope = TenantScope(tenant)
    steps: list[PlannedStep] = []
    seen = {applicant.id}
    if template.route_mode == "department_head":
        index = OrgIndex(tenant)
        for dept in reversed(index.path(_primary_department(tenant, applicant))):
            if len(steps) >= template.route_depth:
                break
            if dept.head_id and dept.head_id not in seen:
                head = scope.get_or_none(Person, dept.head_id)
                if head is not None:
                    seen.add(head.id)
                    steps.append(PlannedStep(head, "department_head", len(steps) + 1))
        missing = "no_head"
    else:
        current = applicant
        while len(steps) < template.route_depth and current.manager_id and current.manager_id not in seen:
            manager = scope.get_or_none(Person, current.manager_id)
            if manager is None:
                break
            seen.add(manager.id)
            steps.append(PlannedStep(manager, "manager", len(steps) + 1))
            current = manager
        missing = "no_manager"
    if not steps:
        admin = tenant_admin(tenant, applicant)
        if admin is None:
            raise ValidationError("route", _l("This request cannot be routed: the tenant has no active admin."))
        seen.add(admin.id)
        steps.append(PlannedStep(admin, "admin", 1, missing))
    for pid in list(extra_approvers_of(template)) + list(extra_ids):
        if pid not in seen:
            person = scope.get_or_none(Person, pid)
            if person is not None:
                seen.add(pid)
                steps.append(PlannedStep(person, "extra", 1))
    return steps


def _stand_in(tenant: Tenant, person: Person, applicant: Person) -> tuple[Person | None, str]:
    """Who takes a deactivated approver's turn: their nearest active manager (not the applicant), else an admin."""
    scope = TenantScope(tenant)
    seen, current = {person.id}, person
    while current.manager_id and current.manager_id not in seen:
        seen.add(current.manager_id)
        current = scope.get_or_none(Person, current.manager_id)
        if current is None:
            break
        if current.is_active and current.id != applicant.id:
            return current, "manager"
    return tenant_admin(tenant, applicant), "admin"


# --- history --------------------------------------------------------------------------------

def _record(approval: Approval, action: str, actor: Person | None = None, note: str | None = None,
            now: datetime.datetime | None = None, **detail) -> ApprovalAction:
    return ApprovalAction.create(tenant=approval.tenant_id, approval=approval, actor=actor, action=action, note=note,
                                 detail=json.dumps(detail, ensure_ascii=False), round=approval.round,
                                 created_at=now or utcnow())


def history(approval: Approval) -> list[tuple[ApprovalAction, dict]]:
    """The request's history, oldest first, each line with its details."""
    rows = (ApprovalAction.select(ApprovalAction, Person).join(Person, peewee.JOIN.LEFT_OUTER,
                                                                on=(ApprovalAction.actor == Person.id))
            .where(ApprovalAction.approval == approval).order_by(ApprovalAction.id))
    out = []
    for row in rows:
        try:
            detail = json.loads(row.detail or "{}")
        except ValueError:
            detail = {}
        out.append((row, detail if isinstance(detail, dict) else {}))
    return out


# --- live updates, and the occasions people are told of -------------------------------------

def involved(approval: Approval) -> set[int]:
    """Everyone who may see the request: its applicant, everyone on its route in any round, the people copied."""
    people = {approval.applicant_id}
    people |= {p for (p,) in ApprovalStep.select(ApprovalStep.approver).where(ApprovalStep.approval == approval)
               .tuples()}
    people |= {p for (p,) in ApprovalCopy.select(ApprovalCopy.person).where(ApprovalCopy.approval == approval)
               .tuples()}
    return people


def update_payload(approval: Approval) -> dict:
    """What open pages receive when a request changes: enough to know they should refresh."""
    return {"id": approval.id, "status": approval.status, "version": approval.version,
            "url": approval_url(approval.id)}


def _refresh(tenant, approval: Approval) -> None:
    """Tell every open page of the people involved that the request changed."""
    payload = update_payload(approval)
    for pid in sorted(involved(approval)):
        publish(tenant, "approval_updated", payload, person=pid)


def _announce_to_approver(tenant, approval: Approval, step: ApprovalStep, applicant: Person) -> None:
    """A request waits for this approver's decision (a new item on their to-do list)."""
    publish(tenant, "approval_todo", {"id": approval.id, "applicant_name": applicant.display_name,
                                      "kind": approval.kind, "url": approval_url(approval.id)},
            person=step.approver_id)
    notify(tenant, step.approver_id, "approval_request",
           {"sender": applicant.display_name, "what": approval.kind, "text": approval.title or ""},
           link=approval_url(approval.id), ref=f"approval:{approval.id}", email=True)


def _announce_to_applicant(tenant, approval: Approval, actor: Person | None) -> None:
    """The applicant's request was decided: approved, rejected or returned for changes."""
    publish(tenant, "approval_outcome", {"id": approval.id, "status": approval.status,
                                         "actor_name": actor.display_name if actor else "",
                                         "url": approval_url(approval.id), "copied": False},
            person=approval.applicant_id)
    notify(tenant, approval.applicant_id, "approval_decided",
           {"sender": actor.display_name if actor else "", "what": approval.kind, "outcome": approval.status,
            "text": approval.title or ""}, link=approval_url(approval.id), ref=f"approval:{approval.id}")


def _announce_to_copied(tenant, approval: Approval, actor: Person | None) -> None:
    """A request the person is copied on was approved or rejected."""
    for (pid,) in ApprovalCopy.select(ApprovalCopy.person).where(ApprovalCopy.approval == approval).tuples():
        publish(tenant, "approval_outcome", {"id": approval.id, "status": approval.status,
                                             "actor_name": actor.display_name if actor else "",
                                             "url": approval_url(approval.id), "copied": True}, person=pid)


def _announce_withdrawn(tenant, approval: Approval, approver_id: int) -> None:
    """The request the approver was to decide was withdrawn (it leaves their to-do list)."""
    publish(tenant, "approval_outcome", {"id": approval.id, "status": approval.status, "actor_name": "",
                                         "url": approval_url(approval.id), "copied": False}, person=approver_id)
    mark_read_by_ref(tenant, approver_id, f"approval:{approval.id}")


# --- walking the route ----------------------------------------------------------------------

def _current_steps(approval: Approval):
    return (ApprovalStep.select().where((ApprovalStep.approval == approval) & (ApprovalStep.round == approval.round))
            .order_by(ApprovalStep.position))


def _advance(tenant: Tenant, approval: Approval, actor: Person | None, now: datetime.datetime) -> None:
    """Give the next waiting step its turn (standing in for deactivated approvers), or finish the request."""
    applicant = Person.get_by_id(approval.applicant_id)
    while True:
        step = _current_steps(approval).where(ApprovalStep.state == "waiting").first()
        if step is None:
            _finish(tenant, approval, "approved", actor, now)
            return
        approver = Person.get_by_id(step.approver_id)
        if not approver.is_active:
            stand_in, via = _stand_in(tenant, approver, applicant)
            if stand_in is None:
                raise ValidationError("route", _l("This request cannot be routed: the tenant has no active admin."))
            _record(approval, "rerouted", None, None, now, **{"from": approver.display_name,
                                                              "to": stand_in.display_name, "via": via,
                                                              "reason": "deactivated"})
            step.assigned_from, step.approver = approver.id, stand_in.id
            approver = stand_in
        done_before = (_current_steps(approval).where((ApprovalStep.approver == approver.id)
                                                      & (ApprovalStep.state == "approved")).exists())
        if done_before:
            # The same person twice on one route (a manager who is also the department head): one yes is enough.
            step.state, step.acted_at = "approved", now
            step.save()
            _record(approval, "skipped", None, None, now, name=approver.display_name)
            continue
        step.state = "pending"
        step.save()
        _announce_to_approver(tenant, approval, step, applicant)
        return


def _finish(tenant: Tenant, approval: Approval, status: str, actor: Person | None, now: datetime.datetime) -> None:
    approval.status, approval.decided_at, approval.updated_at = status, now, now
    approval.save(only=[Approval.status, Approval.decided_at, Approval.updated_at])
    ApprovalStep.update(state="cancelled").where((ApprovalStep.approval == approval)
                                                 & ApprovalStep.state.in_(["waiting", "pending"])).execute()
    if status == "approved":
        hooks = _hooks.get(approval.kind)
        applied = hooks.approved(approval) if hooks is not None else None
        if applied:
            _record(approval, applied, None, None, now)
    if status in ("approved", "rejected", "returned"):
        _announce_to_applicant(tenant, approval, actor)
    if status in ("approved", "rejected"):
        _announce_to_copied(tenant, approval, actor)


def _start_round(tenant: Tenant, approval: Approval, template: ApprovalTemplate, applicant: Person,
                 extra_ids: Iterable[int], now: datetime.datetime) -> None:
    planned = plan_route(tenant, template, applicant, extra_ids)
    ApprovalStep.insert_many([{"tenant": tenant.id, "approval": approval.id, "round": approval.round,
                               "position": i, "approver": s.approver.id, "role": s.role, "level": s.level,
                               "state": "waiting"} for i, s in enumerate(planned, 1)]).execute()
    for s in planned:
        if s.reason:
            _record(approval, "routed_to_admin", None, None, now, to=s.approver.display_name, reason=s.reason)
    _advance(tenant, approval, applicant, now)


# --- submitting -----------------------------------------------------------------------------

def new_submit_key() -> str:
    """A fresh key for a new form: sending the same form twice makes one request."""
    return secrets.token_urlsafe(18)


def _store_files(tenant: Tenant, approval: Approval, files: list[Upload], now: datetime.datetime) -> None:
    for upload in files:
        blob = save_blob(tenant, upload.data, upload.content_type)
        ApprovalAttachment.create(tenant=tenant, approval=approval, blob=blob, name=upload.name, created_at=now)


def _check_files(template: ApprovalTemplate, files: list[Upload], kept: int = 0) -> None:
    if files and not any(f["type"] == "files" for f in fields_of(template)):
        raise ValidationError("attachments", _l("This form takes no files."))
    if kept + len(files) > MAX_ATTACHMENTS:
        raise ValidationError("attachments", _l("At most %(n)d files.", n=MAX_ATTACHMENTS))


def _overlapping_leave(tenant: Tenant, applicant: Person, checked: Answers, exclude: int | None = None) -> bool:
    query = (TenantScope(tenant).select(Approval, Approval.id)
             .where((Approval.applicant == applicant) & (Approval.kind == "leave")
                    & Approval.status.in_(["pending", "approved"])
                    & (Approval.starts_on <= checked.ends_on) & (Approval.ends_on >= checked.starts_on)))
    if exclude is not None:
        query = query.where(Approval.id != exclude)
    return query.exists()


def _check(tenant: Tenant, applicant: Person, template: ApprovalTemplate, form, today: datetime.date,
           exclude: int | None = None) -> tuple[list[dict], Answers]:
    fields = fields_of(template)
    checked = check_answers(template.kind, fields, form, today)
    if template.kind == "leave" and _overlapping_leave(tenant, applicant, checked, exclude):
        raise ValidationError("starts_on", _l("You already asked for leave on some of these days."))
    return fields, checked


def submit(tenant: Tenant, applicant: Person, kind, form, *, files: list[Upload] = (), copied=None,
           extra_approvers=None, submit_key=None, today: datetime.date | None = None,
           now: datetime.datetime | None = None) -> Approval:
    """Make a request from a template's form; every value is checked before anything (files included) is stored.

    A submit_key already used by this applicant returns the request it made instead of making another.
    """
    now = now or utcnow()
    key = submit_key if isinstance(submit_key, str) and _SUBMIT_KEY.fullmatch(submit_key) else None
    if key is not None:
        existing = (TenantScope(tenant).select(Approval)
                    .where((Approval.applicant == applicant) & (Approval.submit_key == key)).first())
        if existing is not None:
            return existing
    template = template_for(tenant, kind)
    if template is None or not offered(tenant, template):
        raise ValidationError("template", _l("Choose a kind of request from the list."))
    fields, checked = _check(tenant, applicant, template, form, today or now.date())
    files = list(files)
    _check_files(template, files)
    extra = _people(tenant, extra_approvers, "extra_approvers", MAX_EXTRA_APPROVERS, exclude=applicant.id)
    cc = _people(tenant, copied, "copied", MAX_COPIED, exclude=applicant.id)
    try:
        with db.atomic():
            approval = Approval.create(
                tenant=tenant, template=template, kind=template.kind, applicant=applicant,
                fields=json.dumps(fields, ensure_ascii=False), answers=json.dumps(checked.answers, ensure_ascii=False),
                title=checked.title, amount_minor=checked.amount_minor, currency=checked.currency,
                starts_on=checked.starts_on, ends_on=checked.ends_on, submit_key=key or new_submit_key(),
                created_at=now, updated_at=now)
            everyone_copied = [p for p in dict.fromkeys(copied_of(template) + cc) if p != applicant.id]
            if everyone_copied:
                active = {i for (i,) in TenantScope(tenant).select(Person, Person.id)
                          .where(Person.id.in_(everyone_copied) & (Person.is_active == True)).tuples()}  # noqa: E712
                ApprovalCopy.insert_many([{"tenant": tenant.id, "approval": approval.id, "person": p}
                                          for p in everyone_copied if p in active]).execute()
            _store_files(tenant, approval, files, now)
            _record(approval, "submitted", applicant, None, now)
            _start_round(tenant, approval, template, applicant, extra, now)
            _refresh(tenant, approval)
    except peewee.IntegrityError:
        # The same form sent twice at the same moment: the other request won; this one is it.
        existing = (TenantScope(tenant).select(Approval)
                    .where((Approval.applicant == applicant) & (Approval.submit_key == key)).first()) if key else None
        if existing is None:
            raise
        return existing
    return Approval.get_by_id(approval.id)


# --- reading --------------------------------------------------------------------------------

def _visible(person: Person) -> peewee.Expression:
    on_route = ApprovalStep.select(ApprovalStep.approval).where(ApprovalStep.approver == person.id)
    copied = ApprovalCopy.select(ApprovalCopy.approval).where(ApprovalCopy.person == person.id)
    return (Approval.applicant == person.id) | Approval.id.in_(on_route) | Approval.id.in_(copied)


def approval_for(tenant: Tenant, person: Person, approval_id) -> Approval | None:
    """A request the person may see (applicant, on its route, copied), or None: others' requests do not exist."""
    if not _ID.fullmatch(str(approval_id)):
        return None
    return (TenantScope(tenant).select(Approval).where((Approval.id == int(approval_id)) & _visible(person))
            .first())


BOXES = ("todo", "mine", "done", "copied")


def listing(tenant: Tenant, person: Person, box: str, status: str | None = None):
    """A box of requests with their applicants: my to-do list, my own, those I decided on, those I am copied on."""
    query = (TenantScope(tenant).select(Approval, Approval, Person)
             .join(Person, on=(Approval.applicant == Person.id)))
    if box == "todo":
        waiting = ApprovalStep.select(ApprovalStep.approval).where((ApprovalStep.approver == person.id)
                                                                   & (ApprovalStep.state == "pending"))
        query = query.where(Approval.id.in_(waiting) & (Approval.status == "pending"))
    elif box == "done":
        acted = ApprovalStep.select(ApprovalStep.approval).where(
            (ApprovalStep.approver == person.id) & ApprovalStep.state.in_(["approved", "rejected", "returned"])
            & ApprovalStep.acted_at.is_null(False))
        query = query.where(Approval.id.in_(acted))
    elif box == "copied":
        query = query.where(Approval.id.in_(ApprovalCopy.select(ApprovalCopy.approval)
                                            .where(ApprovalCopy.person == person.id)))
    else:
        query = query.where(Approval.applicant == person.id)
    if status in ("pending", "approved", "rejected", "returned", "withdrawn"):
        query = query.where(Approval.status == status)
    order = Approval.updated_at.asc() if box == "todo" else Approval.updated_at.desc()
    return query.order_by(order, Approval.id.desc())


def todo_count(tenant: Tenant, person: Person) -> int:
    """How many requests wait for the person's decision."""
    return listing(tenant, person, "todo").count()


def route_of(approval: Approval) -> list[tuple[ApprovalStep, Person, Person | None]]:
    """This round's steps with their approvers (and whom a step was meant for, when someone stood in)."""
    Meant = Person.alias()
    rows = (ApprovalStep.select(ApprovalStep, Person, Meant)
            .join(Person, on=(ApprovalStep.approver == Person.id))
            .switch(ApprovalStep).join(Meant, peewee.JOIN.LEFT_OUTER, on=(ApprovalStep.assigned_from == Meant.id))
            .where((ApprovalStep.approval == approval) & (ApprovalStep.round == approval.round))
            .order_by(ApprovalStep.position))
    return [(s, s.approver, s.assigned_from if s.assigned_from_id else None) for s in rows]


def pending_step(approval: Approval) -> ApprovalStep | None:
    """The step whose turn it is, if the request is waiting for someone."""
    if approval.status != "pending":
        return None
    return _current_steps(approval).where(ApprovalStep.state == "pending").first()


def copies_of(approval: Approval) -> list[Person]:
    return list(Person.select().join(ApprovalCopy, on=(ApprovalCopy.person == Person.id))
                .where(ApprovalCopy.approval == approval).order_by(Person.display_name))


def attachments_of(approval: Approval) -> list[ApprovalAttachment]:
    return list(ApprovalAttachment.select().where(ApprovalAttachment.approval == approval)
                .order_by(ApprovalAttachment.id))


def attachment_of(tenant: Tenant, person: Person, approval_id, attachment_id) -> ApprovalAttachment | None:
    """A file of a request the person may see, or None."""
    approval = approval_for(tenant, person, approval_id)
    if approval is None or not _ID.fullmatch(str(attachment_id)):
        return None
    return (ApprovalAttachment.select().where((ApprovalAttachment.approval == approval)
                                              & (ApprovalAttachment.id == int(attachment_id))).first())


def answers_of(approval: Approval) -> tuple[list[dict], dict]:
    """The request's fields (as they were when it was made) and its answers."""
    try:
        fields, answers = json.loads(approval.fields), json.loads(approval.answers)
    except ValueError:
        return [], {}
    return (fields if isinstance(fields, list) else []), (answers if isinstance(answers, dict) else {})


# --- deciding -------------------------------------------------------------------------------

def _version(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _ID.fullmatch(value))):
        raise StaleAction()
    return int(value)


def _claim(approval: Approval, version: int | None, statuses: tuple[str, ...], now: datetime.datetime) -> None:
    """Take the request for one change: refused (StaleAction) when it moved on since `version`, or a second click."""
    expected = approval.version if version is None else version
    changed = (Approval.update(version=Approval.version + 1, updated_at=now)
               .where((Approval.id == approval.id) & (Approval.version == expected)
                      & Approval.status.in_(list(statuses))).execute())
    if changed != 1:
        raise StaleAction()
    approval.version, approval.updated_at = expected + 1, now


def _decide(tenant: Tenant, person: Person, approval_id, version, outcome: str, comment) -> Approval:
    now = utcnow()
    text = clean_long_text(comment, "reason", max_length=MAX_REASON, required=outcome != "approved",
                           missing=_l("Say why, so the applicant knows what to do.")) or None
    version = _version(version)
    with db.atomic():
        approval = approval_for(tenant, person, approval_id)
        if approval is None:
            raise LookupError(approval_id)
        step = pending_step(approval)
        if step is None or step.approver_id != person.id:
            if approval.status != "pending" or (version is not None and version != approval.version):
                raise StaleAction()      # decided or changed since the form was opened: a second click lands here
            raise PermissionError(approval_id)   # not (or not yet) theirs to decide
        _claim(approval, version, ("pending",), now)
        changed = (ApprovalStep.update(state=outcome, acted_at=now, comment=text)
                   .where((ApprovalStep.id == step.id) & (ApprovalStep.state == "pending")).execute())
        if changed != 1:
            raise StaleAction()
        _record(approval, outcome, person, text, now)
        mark_read_by_ref(tenant, person, f"approval:{approval.id}")
        if outcome == "approved":
            _advance(tenant, approval, person, now)
        else:
            _finish(tenant, approval, outcome, person, now)
        _refresh(tenant, approval)
    return Approval.get_by_id(approval.id)


def approve(tenant: Tenant, person: Person, approval_id, version=None, comment=None) -> Approval:
    """Approve a request whose turn is the person's; the next approver gets it, or it is approved."""
    return _decide(tenant, person, approval_id, version, "approved", comment)


def reject(tenant: Tenant, person: Person, approval_id, version=None, reason=None) -> Approval:
    """Reject a request, with a reason; that ends it."""
    return _decide(tenant, person, approval_id, version, "rejected", reason)


def return_for_changes(tenant: Tenant, person: Person, approval_id, version=None, reason=None) -> Approval:
    """Send a request back to its applicant to change and resubmit, with a reason."""
    return _decide(tenant, person, approval_id, version, "returned", reason)


def _own(tenant: Tenant, person: Person, approval_id) -> Approval:
    approval = approval_for(tenant, person, approval_id)
    if approval is None:
        raise LookupError(approval_id)
    if approval.applicant_id != person.id:
        raise PermissionError(approval_id)
    return approval


def withdraw(tenant: Tenant, person: Person, approval_id, version=None) -> Approval:
    """The applicant takes back a request that is still open; its approver's to-do item goes away."""
    now = utcnow()
    version = _version(version)
    with db.atomic():
        approval = _own(tenant, person, approval_id)
        step = pending_step(approval)
        _claim(approval, version, OPEN, now)
        _record(approval, "withdrawn", person, None, now)
        _finish(tenant, approval, "withdrawn", person, now)
        if step is not None:
            _announce_withdrawn(tenant, approval, step.approver_id)
        _refresh(tenant, approval)
    return Approval.get_by_id(approval.id)


def resubmit(tenant: Tenant, person: Person, approval_id, form, *, version=None, files: list[Upload] = (),
             remove_attachments=(), extra_approvers=None, today: datetime.date | None = None) -> Approval:
    """The applicant changes a returned request and sends it again; its route starts over from the first step."""
    now = utcnow()
    version = _version(version)
    approval = _own(tenant, person, approval_id)
    if approval.status != "returned":
        raise StaleAction()
    template = ApprovalTemplate.get_by_id(approval.template_id)
    fields, checked = _check(tenant, person, template, form, today or now.date(), exclude=approval.id)
    files = list(files)
    existing = attachments_of(approval)
    removing = {a.id for a in existing if str(a.id) in {str(r) for r in remove_attachments}}
    _check_files(template, files, kept=len(existing) - len(removing))
    extra = _people(tenant, extra_approvers, "extra_approvers", MAX_EXTRA_APPROVERS, exclude=person.id)
    with db.atomic():
        _claim(approval, version, ("returned",), now)
        approval.round += 1
        approval.status, approval.decided_at = "pending", None
        approval.fields = json.dumps(fields, ensure_ascii=False)
        approval.answers = json.dumps(checked.answers, ensure_ascii=False)
        approval.title, approval.amount_minor, approval.currency = checked.title, checked.amount_minor, checked.currency
        approval.starts_on, approval.ends_on = checked.starts_on, checked.ends_on
        approval.save()
        if removing:
            ApprovalAttachment.delete().where(ApprovalAttachment.id.in_(list(removing))).execute()
        _store_files(tenant, approval, files, now)
        _record(approval, "resubmitted", person, None, now)
        _start_round(tenant, approval, template, person, extra, now)
        _refresh(tenant, approval)
    return Approval.get_by_id(approval.id)


# --- the worker's part ----------------------------------------------------------------------

def reroute_stalled(now: datetime.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Steps waiting on someone deactivated since their turn came go to that person's manager or an admin."""
    now = now or utcnow()
    stalled = (ApprovalStep.select(ApprovalStep.id, ApprovalStep.approval)
               .join(Person, on=(ApprovalStep.approver == Person.id))
               .where((ApprovalStep.state == "pending") & (Person.is_active == False))  # noqa: E712
               .order_by(ApprovalStep.id).limit(limit).tuples())
    rerouted = 0
    for step_id, approval_id in list(stalled):
        try:
            with db.atomic():
                approval = Approval.get_by_id(approval_id)
                tenant = Tenant.get_by_id(approval.tenant_id)
                _claim(approval, None, ("pending",), now)
                # Handing the turn back to "waiting" lets the ordinary walk find the stand-in and say so.
                if ApprovalStep.update(state="waiting").where((ApprovalStep.id == step_id)
                                                              & (ApprovalStep.state == "pending")).execute() != 1:
                    raise StaleAction()
                _advance(tenant, approval, None, now)
                _refresh(tenant, approval)
        except StaleAction:
            continue      # decided or withdrawn in the meantime
        except ValidationError:
            log.warning("approval %s waits on a deactivated approver and the tenant has no active admin", approval_id)
            continue
        rerouted += 1
    return {"rerouted": rerouted}
