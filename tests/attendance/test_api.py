"""/api/v1/attendance: answers fit the OpenAPI document; scopes, positions, reports only for those who may."""
import datetime

import pytest

from app.attendance import service
from app.attendance.models import AttendanceDay
from app.org.models import Person
from app.security.tokens import create_token
from tests import openapi
from tests.attendance.conftest import OFFICE
from tests.attendance.test_views import ALL_DAY

SCOPES = ["attendance:read", "attendance:write"]


@pytest.fixture
def tokens(org):
    return {name: create_token(org[name], "test", SCOPES, 30)[1] for name in ("wei", "li", "alice")}


def call(client, method, path, token, host="localhost", **kw):
    return getattr(client, method)("/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                                   base_url=f"http://{host}", **kw)


def test_today_before_the_tenant_takes_attendance(client, org, tokens):
    today = call(client, "get", "/attendance/today", tokens["wei"])
    openapi.check(today, "/attendance/today")
    assert today.json["enabled"] is False and today.json["can_check_in"] is False
    refused = call(client, "post", "/attendance/check-in", tokens["wei"], json={})
    openapi.check(refused, "/attendance/check-in", "post")
    assert refused.status_code == 400 and refused.json["field"] == "action"


def test_check_in_and_out(client, org, rule, tokens):
    service.save_rule(org["tenant"], ALL_DAY)
    today = call(client, "get", "/attendance/today", tokens["wei"])
    openapi.check(today, "/attendance/today")
    body = today.json
    assert body["enabled"] and body["zone"] == "Asia/Shanghai" and body["record"] is None
    assert body["places"][0]["name"] == "Head office" and body["tolerance_m"] == 50
    far = call(client, "post", "/attendance/check-in", tokens["wei"], json={"latitude": 0, "longitude": 0})
    openapi.check(far, "/attendance/check-in", "post")
    assert far.status_code == 400 and far.json["field"] == "position"
    done = call(client, "post", "/attendance/check-in", tokens["wei"],
                json={"latitude": OFFICE[0], "longitude": OFFICE[1], "accuracy": 20.5})
    openapi.check(done, "/attendance/check-in", "post")
    assert done.json["changed"] and done.json["record"]["check_in_place"]["name"] == "Head office"
    again = call(client, "post", "/attendance/check-in", tokens["wei"],
                 json={"latitude": OFFICE[0], "longitude": OFFICE[1]})
    assert again.status_code == 200 and again.json["changed"] is False
    out = call(client, "post", "/attendance/check-out", tokens["wei"],
               json={"latitude": OFFICE[0], "longitude": OFFICE[1]})
    openapi.check(out, "/attendance/check-out", "post")
    assert out.json["record"]["check_out_at"]
    days = call(client, "get", "/attendance/days", tokens["wei"])
    openapi.check(days, "/attendance/days")
    assert len(days.json["days"]) == 1
    assert call(client, "get", "/attendance/days", tokens["li"]).json["days"] == []      # only one's own
    bad = call(client, "get", "/attendance/days?month=soon", tokens["wei"])
    openapi.check(bad, "/attendance/days")
    assert bad.status_code == 400


def test_scopes(client, org, rule):
    _token, reader = create_token(org["wei"], "reader", ["attendance:read"], 1)
    denied = call(client, "post", "/attendance/check-in", reader, json={})
    openapi.check(denied, "/attendance/check-in", "post")
    assert denied.status_code == 403 and AttendanceDay.select().count() == 0
    _token, other = create_token(org["wei"], "chat", ["messages:read"], 1)
    assert call(client, "get", "/attendance/today", other).status_code == 403


def test_reports(client, org, rule, tokens):
    Person.update(created_at=datetime.datetime(2025, 1, 1)).execute()
    service.close_due(now=datetime.datetime(2025, 3, 4, 0, 0))
    denied = call(client, "get", "/attendance/report?month=2025-03", tokens["wei"])
    openapi.check(denied, "/attendance/report")
    assert denied.status_code == 403
    head = call(client, "get", f"/attendance/report?month=2025-03&department={org['north'].id}", tokens["li"])
    openapi.check(head, "/attendance/report")
    assert sorted(r["login"] for r in head.json["rows"]) == ["bob", "li", "wei"]
    assert all(r["absent"] == 1 for r in head.json["rows"])
    no_department = call(client, "get", "/attendance/report?month=2025-03", tokens["li"])
    openapi.check(no_department, "/attendance/report")
    assert no_department.status_code == 400
    outside = call(client, "get", f"/attendance/report?department={org['eng'].id}", tokens["li"])
    openapi.check(outside, "/attendance/report")
    assert outside.status_code == 403
    missing = call(client, "get", "/attendance/report?department=424242", tokens["alice"])
    openapi.check(missing, "/attendance/report")
    assert missing.status_code == 404
    everyone = call(client, "get", "/attendance/report?month=2025-03", tokens["alice"])
    openapi.check(everyone, "/attendance/report")
    assert len(everyone.json["rows"]) == 6 and everyone.json["department"] is None
