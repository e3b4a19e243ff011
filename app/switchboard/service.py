"""Switchboard routing: given the number a customer calls from, which employee should take the call.

The rules, in order:
1. last_caller: the employee who last called that customer and was not answered;
2. owner: the contact's responsible employee;
3. delegate: their stand-in when that employee is on leave (or, when they have
   left the company, the manager their contacts wait with);
4. duty: the duty person of the responsible employee's department (or the
   nearest department above it that has one), else the company's.
A rule is passed over when the person it names has left, is on leave, or is off
work (working hours and do-not-disturb, app.org.status). Every decision records
each rule considered and why it applied or not, and is kept in a log.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

import peewee
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from app.contacts.models import Contact, ContactPhone, Interaction
from app.contacts.phones import normalise_phone
from app.contacts.service import add_interaction, country_code, stand_in_for, successor
from app.db import db, utcnow
from app.org.models import Department, Membership, Person
from app.org.service import OrgIndex
from app.org.status import is_off_work
from app.switchboard.models import DutyPerson, RoutingDecision
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import ValidationError

RULE_NAMES = {"last_caller": _l("Last caller not answered"), "owner": _l("Responsible employee"),
              "delegate": _l("Stand-in"), "duty": _l("Duty person"), "none": _l("No one")}

# What each step says, in the reader's language; the arguments are kept with the decision.
STEP_TEXTS = {
    "unknown_number": _l("No contact has the number %(number)s."),
    "matched": _l("The number belongs to %(contact)s."),
    "matched_several": _l("%(count)d contacts have this number; %(contact)s was chosen, the one with the latest "
                          "history."),
    "no_contact": _l("There is no contact to look at."),
    "no_calls": _l("No one has called %(contact)s yet."),
    "last_answered": _l("The last call, by %(name)s on %(at)s, was answered."),
    "last_inbound": _l("The last call was %(contact)s calling in, taken by %(name)s on %(at)s."),
    "caller_left": _l("%(name)s called on %(at)s and was not answered, but has left the company."),
    "caller_on_leave": _l("%(name)s called on %(at)s and was not answered, but is on leave."),
    "caller_off_work": _l("%(name)s called on %(at)s and was not answered, but is off work now."),
    "last_caller": _l("%(name)s called on %(at)s and was not answered."),
    "owner_left": _l("%(name)s, who is responsible, has left the company."),
    "owner_on_leave": _l("%(name)s, who is responsible, is on leave until %(until)s."),
    "owner_off_work": _l("%(name)s, who is responsible, is off work now."),
    "owner": _l("%(name)s is responsible for %(contact)s."),
    "delegate": _l("%(delegate)s stands in for %(name)s until %(until)s."),
    "delegate_left": _l("%(delegate)s, who stands in for %(name)s, has left the company."),
    "delegate_off_work": _l("%(delegate)s, who stands in for %(name)s, is off work now."),
    "no_delegate": _l("%(name)s has no stand-in now."),
    "heir": _l("%(name)s has left; %(delegate)s, their manager, holds the contacts until they are handed over."),
    "no_heir": _l("%(name)s has left and has no active manager to hold the contacts."),
    "duty": _l("%(name)s is on duty for %(department)s."),
    "duty_company": _l("%(name)s is on duty for the whole company."),
    "duty_left": _l("%(name)s, on duty for %(department)s, has left the company."),
    "no_duty": _l("No one is on duty for %(departments)s or the whole company."),
    "no_duty_company": _l("No one is on duty for the whole company."),
}


def step_text(step: dict) -> str:
    """One step of a decision as a sentence in the reader's language."""
    args = dict(step.get("args", {}))
    for key, value in args.items():
        if key in ("at", "until") and value:
            args[key] = format_datetime(datetime.datetime.fromisoformat(value.rstrip("Z")), "short")
    return str(STEP_TEXTS[step["code"]]) % args


@dataclass
class Decision:
    """Who should take the call, by which rule, and each rule considered on the way."""

    number: str
    normalized: str
    contact: Contact | None = None
    person: Person | None = None
    rule: str = "none"
    steps: list[dict] = field(default_factory=list)
    record: RoutingDecision | None = None

    def step(self, rule: str, applied: bool, code: str, **args) -> None:
        self.steps.append({"rule": rule, "applied": applied, "code": code, "args": args})


def _stamp(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


# --- matching the caller ----------------------------------------------------------------------------

def contacts_with_number(tenant: Tenant, normalized: str) -> list[Contact]:
    """The contacts with this number, the one with the latest history first."""
    latest = (Interaction.select(Interaction.contact, peewee.fn.MAX(Interaction.happened_at).alias("last"))
              .where(Interaction.tenant == tenant).group_by(Interaction.contact))
    return list(TenantScope(tenant).select(Contact)
                .where(Contact.id.in_(ContactPhone.select(ContactPhone.contact)
                                      .where((ContactPhone.tenant == tenant) & (ContactPhone.normalized == normalized))))
                .join(latest, peewee.JOIN.LEFT_OUTER, on=(latest.c.contact_id == Contact.id))
                .order_by(peewee.fn.COALESCE(latest.c.last, Contact.created_at).desc(), Contact.id.desc()))


def clean_number(tenant: Tenant, number) -> tuple[str, str]:
    """The number as received (trimmed) and its normalized digits; ValidationError for something else."""
    normalized = normalise_phone(number, country_code(tenant), "number")
    return number.strip()[:40], normalized


# --- availability ---------------------------------------------------------------------------------------

def _away(tenant: Tenant, person: Person, now: datetime.datetime) -> str | None:
    """Why the person cannot take a call now (left, on_leave, off_work), or None."""
    if not person.is_active:
        return "left"
    if stand_in_for(tenant, person.id, now) is not None:
        return "on_leave"
    if is_off_work(person, now):
        return "off_work"
    return None


def _people(tenant: Tenant, ids) -> dict[int, Person]:
    return {p.id: p for p in TenantScope(tenant).select(Person).where(Person.id.in_([i for i in ids if i] or [0]))}


# --- the rules -----------------------------------------------------------------------------------------------

def _last_caller(tenant: Tenant, decision: Decision, now: datetime.datetime) -> bool:
    contact = decision.contact
    last = (TenantScope(tenant).select(Interaction).where((Interaction.contact == contact.id)
                                                           & (Interaction.kind == "call"))
            .order_by(Interaction.happened_at.desc(), Interaction.id.desc()).first())
    if last is None:
        decision.step("last_caller", False, "no_calls", contact=contact.name)
        return False
    caller = _people(tenant, [last.author_id]).get(last.author_id)
    name, at = (caller.display_name if caller else "?"), _stamp(last.happened_at)
    if last.direction == "inbound":
        decision.step("last_caller", False, "last_inbound", contact=contact.name, name=name, at=at)
        return False
    if last.answered or caller is None:
        decision.step("last_caller", False, "last_answered", name=name, at=at)
        return False
    away = _away(tenant, caller, now)
    if away:
        decision.step("last_caller", False, f"caller_{away}", name=name, at=at)
        return False
    decision.person, decision.rule = caller, "last_caller"
    decision.step("last_caller", True, "last_caller", name=name, at=at)
    return True


def _owner_and_delegate(tenant: Tenant, decision: Decision, now: datetime.datetime) -> bool:
    contact = decision.contact
    owner = _people(tenant, [contact.owner_id])[contact.owner_id]
    away = _away(tenant, owner, now)
    stand_in = stand_in_for(tenant, owner.id, now) if away == "on_leave" else None
    if away is None:
        decision.person, decision.rule = owner, "owner"
        decision.step("owner", True, "owner", name=owner.display_name, contact=contact.name)
        return True
    until = _stamp(stand_in.ends_at) if stand_in else None
    decision.step("owner", False, f"owner_{away}", name=owner.display_name, **({"until": until} if until else {}))
    if away == "left":
        heir = successor(tenant, owner)
        if heir is None or is_off_work(heir, now):
            decision.step("delegate", False, "no_heir", name=owner.display_name)
            return False
        decision.person, decision.rule = heir, "delegate"
        decision.step("delegate", True, "heir", name=owner.display_name, delegate=heir.display_name)
        return True
    if stand_in is None:
        decision.step("delegate", False, "no_delegate", name=owner.display_name)
        return False
    delegate = _people(tenant, [stand_in.delegate_id])[stand_in.delegate_id]
    args = {"name": owner.display_name, "delegate": delegate.display_name, "until": until}
    if not delegate.is_active:
        decision.step("delegate", False, "delegate_left", **args)
        return False
    if is_off_work(delegate, now):
        decision.step("delegate", False, "delegate_off_work", **args)
        return False
    decision.person, decision.rule = delegate, "delegate"
    decision.step("delegate", True, "delegate", **args)
    return True


def duty_people(tenant: Tenant) -> dict[int | None, DutyPerson]:
    """Department id (None for the whole company) -> its duty person."""
    return {d.department_id: d for d in TenantScope(tenant).select(DutyPerson)}


def _duty(tenant: Tenant, decision: Decision) -> bool:
    index = OrgIndex(tenant)
    duties = duty_people(tenant)
    people = _people(tenant, [d.person_id for d in duties.values()])
    departments: list[Department] = []
    if decision.contact is not None:
        home = (TenantScope(tenant).select(Membership, Membership.department)
                .where(Membership.person == decision.contact.owner_id)
                .order_by(Membership.is_primary.desc(), Membership.id).scalar())
        departments = list(reversed(index.path(home)))          # the owner's department first, then upwards
    for dept in departments + [None]:
        duty = duties.get(dept.id if dept else None)
        if duty is None:
            continue
        person = people[duty.person_id]
        where = dept.name if dept else None
        if not person.is_active:
            decision.step("duty", False, "duty_left", name=person.display_name,
                          department=where or str(_l("the whole company")))
            continue
        decision.person, decision.rule = person, "duty"
        if dept is None:
            decision.step("duty", True, "duty_company", name=person.display_name)
        else:
            decision.step("duty", True, "duty", name=person.display_name, department=where)
        return True
    if departments:
        decision.step("duty", False, "no_duty", departments=", ".join(d.name for d in departments))
    else:
        decision.step("duty", False, "no_duty_company")
    return False


def route_call(tenant: Tenant, number, *, requested_by: Person | None = None, origin: str = "api",
               now: datetime.datetime | None = None) -> Decision:
    """Decide who takes a call from this number, and log the decision with its reasons."""
    now = now or utcnow()
    raw, normalized = clean_number(tenant, number)
    decision = Decision(raw, normalized)
    matches = contacts_with_number(tenant, normalized)
    if not matches:
        decision.step("match", False, "unknown_number", number=raw)
        for rule in ("last_caller", "owner", "delegate"):
            decision.step(rule, False, "no_contact")
    else:
        decision.contact = matches[0]
        if len(matches) > 1:
            decision.step("match", True, "matched_several", count=len(matches), contact=matches[0].name)
        else:
            decision.step("match", True, "matched", contact=matches[0].name)
    if decision.contact is None or not (_last_caller(tenant, decision, now)
                                        or _owner_and_delegate(tenant, decision, now)):
        _duty(tenant, decision)
    with db.atomic():
        decision.record = RoutingDecision.create(
            tenant=tenant, number=raw, normalized=normalized, contact=decision.contact, person=decision.person,
            rule=decision.rule, steps=json.dumps(decision.steps, ensure_ascii=False), origin=origin,
            requested_by=requested_by, created_at=now)
    return decision


# --- call attempts ---------------------------------------------------------------------------------------------

def log_call(tenant: Tenant, employee_id, number, answered, *, direction: str = "outbound", contact_id=None,
             happened_at=None, note=None, now: datetime.datetime | None = None) -> Interaction:
    """Record a call attempt the telephone system saw (by an employee, to or from a contact's number)."""
    valid_id = isinstance(employee_id, int) and not isinstance(employee_id, bool)
    employee = TenantScope(tenant).get_or_none(Person, employee_id) if valid_id else None
    if employee is None or not employee.is_active:
        raise ValidationError("employee", _l("Give the id of an active employee."))
    _raw, normalized = clean_number(tenant, number)
    matches = contacts_with_number(tenant, normalized)
    if contact_id is not None:
        matches = [c for c in matches if c.id == contact_id]
    if not matches:
        raise LookupError(number)
    return add_interaction(tenant, employee, matches[0], "call", note or "", happened_at=happened_at,
                           answered=answered, direction=direction, now=now, check_access=False)


# --- duty people and the log ---------------------------------------------------------------------------------

def set_duty_person(tenant: Tenant, actor: Person, department_id, person_id) -> DutyPerson | None:
    """Make someone the duty person of a department (department_id None or "": the whole company);
    person_id empty removes the duty person."""
    department = None
    if department_id not in (None, ""):
        department = TenantScope(tenant).get_or_none(Department, department_id)
        if department is None:
            raise ValidationError("department", _l("Choose a department from the list."))
    person = None
    if person_id not in (None, ""):
        person = TenantScope(tenant).get_or_none(Person, person_id)
        if person is None or not person.is_active:
            raise ValidationError("person", _l("Choose an active colleague from the list."))
    with db.atomic():
        where = DutyPerson.department.is_null() if department is None else (DutyPerson.department == department.id)
        DutyPerson.delete().where((DutyPerson.tenant == tenant) & where).execute()
        if person is None:
            return None
        return DutyPerson.create(tenant=tenant, department=department, person=person, set_by=actor,
                                 updated_at=utcnow())


def decisions(tenant: Tenant):
    """The routing log, newest first."""
    return TenantScope(tenant).select(RoutingDecision).order_by(RoutingDecision.created_at.desc(),
                                                                RoutingDecision.id.desc())


def decision_steps(record: RoutingDecision) -> list[dict]:
    try:
        steps = json.loads(record.steps)
    except ValueError:
        return []
    return [s for s in steps if isinstance(s, dict) and s.get("code") in STEP_TEXTS] if isinstance(steps, list) else []


def decision_json(tenant: Tenant, record: RoutingDecision, person: Person | None, contact: Contact | None) -> dict:
    """A decision as the API answers it: who, by which rule, and each step explained."""
    return {
        "id": record.id, "number": record.number, "normalized": record.normalized, "rule": record.rule,
        "person": ({"id": person.id, "login": person.login, "name": person.display_name,
                    "mobile": person.mobile} if person else None),
        "contact": ({"id": contact.id, "name": contact.name, "company": contact.company} if contact else None),
        "explanation": [{"rule": s["rule"], "applied": s["applied"], "code": s["code"], "text": step_text(s)}
                        for s in decision_steps(record)],
        "created_at": _stamp(record.created_at),
    }

