"""Attendance pages: checking in from a form, the month, corrections, the report and CSV, the admins' settings."""
import datetime
import re

import pytest

from app.approvals.models import Approval
from app.attendance import service
from app.attendance.models import AttendanceDay, AttendancePlace, AttendanceRule
from app.org.models import Person
from tests.attendance.conftest import OFFICE, client_for
from tests.conftest import csrf_from

ALL_DAY = {"enabled": "1", "work_start": "09:00", "work_end": "18:00", "work_days": list("1234567"),
           "check_in_from": "00:00", "check_in_until": "23:59", "check_out_from": "00:00", "check_out_until": "23:59",
           "grace_minutes": "0", "tolerance_m": "50"}


@pytest.fixture
def open_all_day(org, rule):
    """The office's rule, with check-in and check-out open at any hour of any day (the tests run at any time)."""
    return service.save_rule(org["tenant"], ALL_DAY)


def post(client, path, data, page="/attendance/", **kw):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def test_a_tenant_without_attendance_says_so(app, org):
    page = client_for(app, "wei").get("/attendance/").get_data(as_text=True)
    assert "Your organisation does not take attendance here." in page and 'id="check-in"' not in page


def test_check_in_and_out_through_the_page(app, org, open_all_day):
    wei = client_for(app, "wei")
    page = wei.get("/attendance/").get_data(as_text=True)
    assert 'data-geo="1"' in page and "Head office" in page and "attendance.js" in page
    assert re.search(r'id="check-in"\s*>', page)                    # enabled
    done = post(wei, "/attendance/check", {"action": "check_in", "latitude": str(OFFICE[0]),
                                           "longitude": str(OFFICE[1]), "accuracy": "12"})
    assert done.status_code == 303
    shown = wei.get("/attendance/").get_data(as_text=True)
    assert "Checked in at" in shown and re.search(r'id="check-in" disabled', shown)
    again = post(wei, "/attendance/check", {"action": "check_in", "latitude": str(OFFICE[0]),
                                            "longitude": str(OFFICE[1])})
    assert "You had already checked in at" in wei.get(again.headers["Location"]).get_data(as_text=True)
    out = post(wei, "/attendance/check", {"action": "check_out", "latitude": str(OFFICE[0]),
                                          "longitude": str(OFFICE[1])}, headers={"Accept": "application/json"})
    assert out.status_code == 200 and out.json["changed"] and out.json["check_out_at"]
    assert AttendanceDay.select().count() == 1


def test_a_refused_check_in_explains_itself(app, org, open_all_day):
    wei = client_for(app, "wei")
    far = post(wei, "/attendance/check", {"action": "check_in", "latitude": "31.3", "longitude": str(OFFICE[1])})
    assert far.status_code == 303
    page = wei.get("/attendance/").get_data(as_text=True)
    assert "m from Head office, outside the area where you can check in." in page
    blind = post(wei, "/attendance/check", {"action": "check_in"}, headers={"Accept": "application/json"})
    assert blind.status_code == 400 and blind.json["field"] == "position"
    assert "let the browser use your location" in blind.json["error"]
    assert AttendanceDay.select().count() == 0


def test_the_month_offers_corrections_for_bad_days(app, org, rule):
    Person.update(created_at=datetime.datetime(2025, 1, 1)).execute()
    service.close_due(now=datetime.datetime(2025, 3, 4, 0, 0))
    wei = client_for(app, "wei")
    page = wei.get("/attendance/?month=2025-03").get_data(as_text=True)
    assert 'data-day="2025-03-03"' in page and "Absent" in page
    link = re.search(r'href="(/approvals/new/attendance_correction\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "day=2025-03-03" in link
    form = wei.get(link).get_data(as_text=True)
    assert 'value="2025-03-03"' in form and '<option value="check_in" selected>' in form
    bad = wei.get("/attendance/?month=March").get_data(as_text=True)
    assert "Give a month like 2025-03." in bad


def test_a_correction_approved_through_the_pages_fixes_the_day(app, org, open_all_day):
    yesterday = (datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).date()
                 - datetime.timedelta(days=1)).isoformat()
    bob = client_for(app, "bob")
    page = f"/approvals/new/attendance_correction?day={yesterday}&punch=check_in"
    sent = post(bob, "/approvals/new/attendance_correction",
                {"day": yesterday, "punch": "check_in", "time": "08:45", "reason": "Phone battery died"}, page)
    assert sent.status_code == 303, sent.get_data(as_text=True)
    approval = Approval.get()
    li = client_for(app, "li")
    assert post(li, f"/approvals/{approval.id}/approve", {"version": "1"},
                f"/approvals/{approval.id}").status_code == 303
    row = AttendanceDay.get(AttendanceDay.person == org["bob"].id)
    assert row.day.isoformat() == yesterday and row.corrected_at and row.check_in_at
    assert "(corrected)" in bob.get(f"/attendance/?month={yesterday[:7]}").get_data(as_text=True)
    assert "The attendance record is corrected." in bob.get(f"/approvals/{approval.id}").get_data(as_text=True)


def test_who_sees_which_report(app, org, rule):
    Person.update(created_at=datetime.datetime(2025, 1, 1)).execute()
    service.close_due(now=datetime.datetime(2025, 3, 4, 0, 0))
    wei = client_for(app, "wei")
    assert wei.get("/attendance/report").status_code == 403
    assert wei.get("/attendance/report.csv").status_code == 403
    assert "Monthly report" not in wei.get("/attendance/").get_data(as_text=True)
    li = client_for(app, "li")                           # head of North
    page = li.get("/attendance/report?month=2025-03").get_data(as_text=True)
    assert f'data-person="{org["bob"].id}"' in page and f'data-person="{org["hu"].id}"' not in page
    assert li.get(f"/attendance/report?month=2025-03&department={org['sales'].id}").status_code == 403
    assert li.get("/attendance/report?department=99999").status_code == 404
    hu = client_for(app, "hu")                           # head of Sales sees North inside it
    assert f'data-person="{org["bob"].id}"' in hu.get(
        f"/attendance/report?month=2025-03&department={org['sales'].id}").get_data(as_text=True)
    alice = client_for(app, "alice")
    everyone = alice.get("/attendance/report?month=2025-03").get_data(as_text=True)
    assert f'data-person="{org["dan"].id}"' in everyone
    csv = alice.get(f"/attendance/report.csv?month=2025-03&department={org['north'].id}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert f'filename="attendance-2025-03-{org["north"].id}.csv"' in csv.headers["Content-Disposition"]
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeffName,") and "张伟 Wei" in text and "Dan Wu" not in text
    assert alice.get("/attendance/report.csv?month=2025-13").status_code == 400
    assert alice.get("/attendance/report?month=2025-13").status_code == 400


def test_settings_are_for_admins(app, org):
    wei = client_for(app, "wei")
    assert wei.get("/attendance/settings").status_code == 403
    assert post(wei, "/attendance/places", {"name": "Mine", "latitude": "1", "longitude": "1",
                                            "radius_m": "100"}).status_code == 403
    alice = client_for(app, "alice")
    bad = post(alice, "/attendance/settings", {**ALL_DAY, "work_end": "08:00", "grace_minutes": "7"},
               "/attendance/settings")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "The end must be after the start" in html and 'value="7"' in html
    assert AttendanceRule.select().count() == 0
    assert post(alice, "/attendance/settings", ALL_DAY, "/attendance/settings").status_code == 303
    assert service.takes_attendance(org["tenant"])
    bad_place = post(alice, "/attendance/places", {"name": "Depot", "latitude": "95", "longitude": "121",
                                                   "radius_m": "100"}, "/attendance/settings")
    assert bad_place.status_code == 400 and 'value="Depot"' in bad_place.get_data(as_text=True)
    assert post(alice, "/attendance/places", {"name": "Depot", "latitude": "31.1", "longitude": "121.3",
                                              "radius_m": "300"}, "/attendance/settings").status_code == 303
    place = AttendancePlace.get()
    assert post(alice, f"/attendance/places/{place.id}", {"name": "Depot 2", "latitude": "31.1",
                                                          "longitude": "121.3", "radius_m": "400"},
                "/attendance/settings").status_code == 303
    assert AttendancePlace.get_by_id(place.id).radius_m == 400
    assert post(alice, f"/attendance/places/{place.id}/delete", {}, "/attendance/settings").status_code == 303
    assert AttendancePlace.select().count() == 0


def test_another_tenants_places_are_not_found(app, org, rule, other_tenant):
    theirs = service.save_place(other_tenant, None, {"name": "Globex HQ", "latitude": "1", "longitude": "1",
                                                     "radius_m": "100"})
    alice = client_for(app, "alice")
    assert post(alice, f"/attendance/places/{theirs.id}", {"name": "Mine now", "latitude": "1", "longitude": "1",
                                                           "radius_m": "100"}, "/attendance/settings").status_code == 404
    assert post(alice, f"/attendance/places/{theirs.id}/delete", {}, "/attendance/settings").status_code == 404
    assert AttendancePlace.get_by_id(theirs.id).name == "Globex HQ"


def test_check_ins_are_ones_own(app, org, open_all_day):
    # There is no page or form that names another person: a check-in is always the logged-in person's.
    wei = client_for(app, "wei")
    post(wei, "/attendance/check", {"action": "check_in", "latitude": str(OFFICE[0]), "longitude": str(OFFICE[1]),
                                    "person": str(org["bob"].id)})
    assert [r.person_id for r in AttendanceDay.select()] == [org["wei"].id]
    bob_page = client_for(app, "bob").get("/attendance/").get_data(as_text=True)
    assert '<dd id="checked-in"><span class="muted">Not yet</span></dd>' in bob_page
