"""Switchboard routing: each rule in order, why earlier ones did not apply, and the log of every decision."""
import datetime
import json

import pytest

from app.contacts import service as contacts
from app.db import utcnow
from app.org.service import deactivate_person
from app.switchboard import service
from app.switchboard.models import DutyPerson, RoutingDecision
from app.validation import ValidationError
from tests.contacts.conftest import add_contact


@pytest.fixture
def passwords():
    return False      # no one logs in here


@pytest.fixture(autouse=True)
def english(app):
    """Reasons are read as a request would render them (dates in the reader's time zone)."""
    with app.test_request_context():
        yield


def route(team, number="+86 138 0013 8000", **kwargs):
    decision = service.route_call(team["tenant"], number, **kwargs)
    return decision, [(s["rule"], s["applied"], s["code"]) for s in decision.steps]


def call(team, who, contact, answered, minutes_ago=10, direction="outbound"):
    return contacts.add_interaction(team["tenant"], team[who], contact, "call", "", answered=answered,
                                    direction=direction,
                                    happened_at=utcnow() - datetime.timedelta(minutes=minutes_ago), check_access=False)


def on_leave(team, who, delegate):
    today = datetime.date.today()
    return contacts.set_stand_in(team["tenant"], team[who], team[who].id, team[delegate].id, "",
                                 (today + datetime.timedelta(days=2)).isoformat())


def test_the_responsible_employee_takes_the_call(team):
    contact = add_contact(team)
    decision, steps = route(team, "13800138000")
    assert (decision.rule, decision.person.login, decision.contact.id) == ("owner", "li", contact.id)
    assert steps == [("match", True, "matched"), ("last_caller", False, "no_calls"), ("owner", True, "owner")]
    assert [service.step_text(s) for s in decision.steps] == [
        "The number belongs to 王芳.", "No one has called 王芳 yet.", "李娜 is responsible for 王芳."]
    record = RoutingDecision.get_by_id(decision.record.id)
    assert (record.number, record.normalized, record.rule, record.person_id, record.contact_id, record.origin) == (
        "13800138000", "8613800138000", "owner", team["li"].id, contact.id, "api")
    assert [s["code"] for s in json.loads(record.steps)] == ["matched", "no_calls", "owner"]


def test_the_employee_who_called_and_was_not_answered_comes_first(team):
    contact = add_contact(team)
    call(team, "zhao", contact, answered=True, minutes_ago=60)
    decision, steps = route(team)
    assert decision.rule == "owner" and ("last_caller", False, "last_answered") in steps
    call(team, "zhao", contact, answered=False, minutes_ago=5)
    decision, steps = route(team)
    assert (decision.rule, decision.person.login) == ("last_caller", "zhao")
    assert steps == [("match", True, "matched"), ("last_caller", True, "last_caller")]
    assert "赵磊 called on" in service.step_text(decision.steps[1])
    # The customer called back and Zhao took it: the unanswered call is settled.
    call(team, "zhao", contact, answered=True, minutes_ago=1, direction="inbound")
    decision, steps = route(team)
    assert decision.rule == "owner" and ("last_caller", False, "last_inbound") in steps


def test_a_last_caller_who_is_away_is_passed_over_with_the_reason(team):
    contact = add_contact(team)
    call(team, "zhao", contact, answered=False)
    zhao = team["zhao"]
    zhao.dnd_until = utcnow() + datetime.timedelta(hours=1)
    zhao.save()
    decision, steps = route(team)
    assert decision.person.login == "li" and ("last_caller", False, "caller_off_work") in steps
    zhao.dnd_until = None
    zhao.save()
    on_leave(team, "zhao", "sun")
    assert ("last_caller", False, "caller_on_leave") in route(team)[1]
    deactivate_person(zhao)
    decision, steps = route(team)
    assert ("last_caller", False, "caller_left") in steps and decision.rule == "owner"


def test_the_stand_in_takes_the_call_while_the_owner_is_on_leave(team):
    add_contact(team)
    stand_in = on_leave(team, "li", "sun")
    decision, steps = route(team)
    assert (decision.rule, decision.person.login) == ("delegate", "sun")
    assert steps == [("match", True, "matched"), ("last_caller", False, "no_calls"), ("owner", False, "owner_on_leave"),
                     ("delegate", True, "delegate")]
    assert decision.steps[2]["args"]["until"] == stand_in.ends_at.isoformat() + "Z"
    assert service.step_text(decision.steps[3]).startswith("孙丽 stands in for 李娜 until ")
    # A stand-in who is off work too: the duty person.
    sun = team["sun"]
    sun.dnd_until = utcnow() + datetime.timedelta(hours=1)
    sun.save()
    service.set_duty_person(team["tenant"], team["alice"], team["north"].id, team["zhao"].id)
    decision, steps = route(team)
    assert ("delegate", False, "delegate_off_work") in steps and (decision.rule, decision.person.login) == ("duty", "zhao")
    assert service.step_text(decision.steps[-1]) == "赵磊 is on duty for North."


def test_an_owner_off_work_without_a_stand_in_goes_to_the_duty_person_up_the_departments(team):
    add_contact(team)
    li = team["li"]
    li.dnd_until = utcnow() + datetime.timedelta(hours=1)       # do-not-disturb counts as off work
    li.save()
    decision, steps = route(team)
    assert decision.rule == "none" and decision.person is None
    assert steps[-3:] == [("owner", False, "owner_off_work"), ("delegate", False, "no_delegate"),
                          ("duty", False, "no_duty")]
    assert service.step_text(decision.steps[-1]) == "No one is on duty for North, 销售部 Sales or the whole company."
    service.set_duty_person(team["tenant"], team["alice"], "", team["alice"].id)
    assert route(team)[0].person.login == "alice"
    service.set_duty_person(team["tenant"], team["alice"], team["sales"].id, team["chen"].id)
    decision, _steps = route(team)
    assert (decision.rule, decision.person.login) == ("duty", "chen")       # the department above North
    # A duty person who has left is passed over.
    deactivate_person(team["chen"])
    decision, steps = route(team)
    assert decision.person.login == "alice" and ("duty", False, "duty_left") in steps


def test_a_departed_owners_calls_go_to_the_manager_holding_the_contacts(team):
    add_contact(team)
    deactivate_person(team["li"])
    decision, steps = route(team)
    assert (decision.rule, decision.person.login) == ("delegate", "wang")
    assert steps[-2:] == [("owner", False, "owner_left"), ("delegate", True, "heir")]
    deactivate_person(team["wang"])
    deactivate_person(team["chen"])
    decision, steps = route(team)
    assert decision.rule == "none" and ("delegate", False, "no_heir") in steps


def test_an_unknown_number_goes_to_the_company_duty_person(team):
    decision, steps = route(team, "+86 10 1234 5678")
    assert decision.contact is None and decision.rule == "none"
    assert steps == [("match", False, "unknown_number"), ("last_caller", False, "no_contact"),
                     ("owner", False, "no_contact"), ("delegate", False, "no_contact"),
                     ("duty", False, "no_duty_company")]
    service.set_duty_person(team["tenant"], team["alice"], None, team["sun"].id)
    decision, steps = route(team, "+86 10 1234 5678")
    assert (decision.rule, decision.person.login) == ("duty", "sun") and steps[-1] == ("duty", True, "duty_company")
    assert RoutingDecision.select().count() == 2


def test_several_contacts_with_one_number_choose_the_latest_history(team):
    older = add_contact(team, "li", "Older")
    newer = add_contact(team, "zhao", "Newer")
    decision, steps = route(team)
    assert decision.contact.id == newer.id and steps[0] == ("match", True, "matched_several")
    contacts.add_interaction(team["tenant"], team["li"], older, "note", "Spoke today")
    assert route(team)[0].contact.id == older.id


@pytest.mark.parametrize("number", ["", None, "abc", "12", 13800138000, "1" * 60])
def test_a_bad_number_is_refused_and_not_logged(team, number):
    with pytest.raises(ValidationError) as caught:
        service.route_call(team["tenant"], number)
    assert caught.value.field == "number"
    assert RoutingDecision.select().count() == 0


def test_logging_calls_from_the_telephone_system(team):
    contact = add_contact(team)
    entry = service.log_call(team["tenant"], team["zhao"].id, "8613800138000", False)
    assert (entry.contact_id, entry.author_id, entry.kind, entry.answered) == (contact.id, team["zhao"].id, "call", False)
    with pytest.raises(LookupError):
        service.log_call(team["tenant"], team["zhao"].id, "+86 10 1234 5678", False)
    with pytest.raises(LookupError):
        service.log_call(team["tenant"], team["zhao"].id, "13800138000", False, contact_id=contact.id + 1000)
    deactivate_person(team["sun"])
    for employee in (None, "1", True, team["sun"].id, 999999):
        with pytest.raises(ValidationError) as caught:
            service.log_call(team["tenant"], employee, "13800138000", False)
        assert caught.value.field == "employee"
    with pytest.raises(ValidationError) as caught:
        service.log_call(team["tenant"], team["zhao"].id, "13800138000", None)
    assert caught.value.field == "answered"


def test_duty_people_are_one_per_department_and_checked(team, other_tenant):
    service.set_duty_person(team["tenant"], team["alice"], team["sales"].id, team["wang"].id)
    service.set_duty_person(team["tenant"], team["alice"], team["sales"].id, team["chen"].id)
    service.set_duty_person(team["tenant"], team["alice"], "", team["sun"].id)
    service.set_duty_person(team["tenant"], team["alice"], None, team["alice"].id)
    duties = service.duty_people(team["tenant"])
    assert {k: v.person_id for k, v in duties.items()} == {team["sales"].id: team["chen"].id, None: team["alice"].id}
    service.set_duty_person(team["tenant"], team["alice"], team["sales"].id, "")
    assert DutyPerson.select().count() == 1
    from app.org.service import save_department
    foreign = save_department(other_tenant, None, {"name": "Foreign"})
    with pytest.raises(ValidationError):
        service.set_duty_person(team["tenant"], team["alice"], foreign.id, team["wang"].id)
    deactivate_person(team["zhao"])
    with pytest.raises(ValidationError):
        service.set_duty_person(team["tenant"], team["alice"], team["sales"].id, team["zhao"].id)
    with pytest.raises(ValidationError):
        service.set_duty_person(team["tenant"], team["alice"], "abc", team["wang"].id)
