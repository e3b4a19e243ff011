"""Switchboard pages: admins set duty people and the country code, try a number, and read the routing log."""
import pytest

from app.switchboard.models import DutyPerson, RoutingDecision
from tests.conftest import csrf_from
from tests.contacts.conftest import add_contact, client_for


@pytest.fixture
def passwords():
    return True


def test_only_admins_reach_the_switchboard(app, team):
    li = client_for(app, "li")
    csrf = csrf_from(li.get("/contacts/").get_data(as_text=True))
    for path in ("/switchboard/", "/switchboard/log"):
        assert li.get(path).status_code == 403
    for path in ("/switchboard/duty", "/switchboard/country-code", "/switchboard/try"):
        assert li.post(path, data={"csrf_token": csrf, "number": "13800138000", "person": team["li"].id,
                                   "country_code": "1"}).status_code == 403
    assert DutyPerson.select().count() == 0 and RoutingDecision.select().count() == 0
    assert 'href="/switchboard/"' not in li.get("/contacts/").get_data(as_text=True)


def test_duty_people_country_code_trying_a_number_and_the_log(app, team):
    add_contact(team)
    alice = client_for(app, "alice")
    page = alice.get("/switchboard/").get_data(as_text=True)
    assert "The whole company" in page and "销售部 Sales / North" in page
    csrf = csrf_from(page)
    assert alice.post("/switchboard/duty", data={"department": team["north"].id, "person": team["zhao"].id,
                                                 "csrf_token": csrf}).status_code == 302
    assert alice.post("/switchboard/duty", data={"department": "", "person": team["sun"].id,
                                                 "csrf_token": csrf}).status_code == 302
    bad = alice.post("/switchboard/duty", data={"department": "999999", "person": team["sun"].id, "csrf_token": csrf})
    assert bad.status_code == 400 and "Choose a department from the list." in bad.get_data(as_text=True)
    page = alice.get("/switchboard/").get_data(as_text=True)
    north_row = page.split(f'data-department="{team["north"].id}"')[1].split("</tr>")[0]
    assert f'<option value="{team["zhao"].id}" selected>' in north_row

    tried = alice.post("/switchboard/try", data={"number": "+86 138 0013 8000", "csrf_token": csrf})
    text = tried.get_data(as_text=True)
    assert tried.status_code == 200 and "李娜 is responsible for 王芳." in text and "No one has called 王芳 yet." in text
    unknown = alice.post("/switchboard/try", data={"number": "010 1234 5678", "csrf_token": csrf}).get_data(as_text=True)
    assert "No contact has the number 010 1234 5678." in unknown and "孙丽 is on duty for the whole company." in unknown
    bad = alice.post("/switchboard/try", data={"number": "call me", "csrf_token": csrf})
    assert bad.status_code == 400 and 'value="call me"' in bad.get_data(as_text=True)
    log = alice.get("/switchboard/log").get_data(as_text=True)
    assert log.count("data-decision=") == 2 and "tried on the page" in log and "李娜 is responsible for 王芳." in log

    code = alice.post("/switchboard/country-code", data={"country_code": "abc", "csrf_token": csrf})
    assert code.status_code == 400 and "Give a country code of 1 to 3 digits" in code.get_data(as_text=True)
    assert alice.post("/switchboard/country-code", data={"country_code": "852", "csrf_token": csrf}).status_code == 302
    assert 'value="852"' in alice.get("/switchboard/").get_data(as_text=True)
