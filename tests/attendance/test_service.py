"""Attendance as plain functions: geofence and windows, time zones, judging days, corrections, leave, reports."""
import datetime
import json

import pytest

from app.approvals import service as approvals
from app.approvals.models import Approval
from app.attendance import service
from app.attendance.models import AttendanceDay, AttendancePlace, AttendanceRule
from app.org.models import Person
from app.validation import ValidationError
from tests.attendance.conftest import LEAVE, OFFICE, events, shanghai

MONDAY = datetime.date(2025, 3, 3)
NEAR = (OFFICE[0] + 0.0009, OFFICE[1])     # about 100 m north of the office's centre


def north_of_office(metres: float) -> tuple[float, float]:
    return OFFICE[0] + metres / 111195.0, OFFICE[1]


@pytest.fixture
def staff(org, rule):
    """Everyone of the org chart already worked here when attendance began, on Monday 3 March 2025."""
    Person.update(created_at=datetime.datetime(2025, 1, 1)).execute()
    rule.created_at = shanghai(2025, 3, 3, 0, 0)
    rule.save()
    return {name: Person.get_by_id(org[name].id) for name in ("alice", "hu", "li", "wei", "bob", "dan")}


def punch(staff, who, action, when, position=NEAR, accuracy=15):
    lat, lon = position if position else (None, None)
    return service.check(staff[who].tenant, staff[who], action, lat, lon, accuracy, now=when)


def day_of(person, day=MONDAY) -> AttendanceDay:
    return AttendanceDay.get((AttendanceDay.person == person.id) & (AttendanceDay.day == day))


def test_distance():
    assert service.distance_m(*OFFICE, *OFFICE) == 0
    assert round(service.distance_m(*OFFICE, *north_of_office(1000))) == 1000
    # Shanghai to Beijing, about 1068 km as the crow flies.
    assert 1060_000 < service.distance_m(*OFFICE, 39.9042, 116.4074) < 1075_000


def test_check_in_and_out_on_time_at_the_office(staff):
    first = punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 8, 55))
    assert first.changed and first.row.day == MONDAY
    row = day_of(staff["wei"])
    assert row.check_in_place.name == "Head office" and 95 <= row.check_in_distance_m <= 105
    assert (row.late_minutes, row.closed_at) == (0, None)
    out = punch(staff, "wei", "check_out", shanghai(2025, 3, 3, 18, 10))
    assert out.changed and out.row.early_minutes == 0
    assert events("attendance_updated")[-1][1] == staff["wei"].id


def test_late_early_and_the_grace(staff):
    assert punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 9, 5)).row.late_minutes == 0      # within grace
    assert punch(staff, "bob", "check_in", shanghai(2025, 3, 3, 9, 20)).row.late_minutes == 20
    assert punch(staff, "bob", "check_out", shanghai(2025, 3, 3, 17, 30)).row.early_minutes == 30
    # A later check-out replaces the earlier one and the day is judged again.
    assert punch(staff, "bob", "check_out", shanghai(2025, 3, 3, 18, 2)).row.early_minutes == 0


def test_a_second_check_in_changes_nothing(staff):
    punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 8, 50))
    again = punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 9, 30))
    assert not again.changed and again.row.check_in_at == shanghai(2025, 3, 3, 8, 50)
    assert again.row.late_minutes == 0 and AttendanceDay.select().count() == 1
    assert len(events("attendance_updated")) == 1


@pytest.mark.parametrize("metres, allowed", [(0, True), (199, True), (240, True), (260, False), (5000, False)])
def test_the_geofence_with_the_admins_tolerance(staff, metres, allowed):
    when = shanghai(2025, 3, 3, 8, 30)
    if allowed:
        assert punch(staff, "wei", "check_in", when, north_of_office(metres)).changed
    else:
        with pytest.raises(ValidationError) as exc:
            punch(staff, "wei", "check_in", when, north_of_office(metres))
        assert exc.value.field == "position" and "from Head office" in str(exc.value.message)
        assert AttendanceDay.select().count() == 0


@pytest.mark.parametrize("lat, lon, accuracy", [
    (None, None, 10), ("", "", 10), ("abc", OFFICE[1], 10), (91, OFFICE[1], 10), (OFFICE[0], 181, 10),
    ("nan", OFFICE[1], 10), (OFFICE[0], "inf", 10), (True, OFFICE[1], 10), (*NEAR, 5000), (*NEAR, -1),
    (*NEAR, "lots"),
])
def test_missing_or_bad_positions_are_refused(staff, lat, lon, accuracy):
    with pytest.raises(ValidationError) as exc:
        service.check(staff["wei"].tenant, staff["wei"], "check_in", lat, lon, accuracy,
                      now=shanghai(2025, 3, 3, 8, 30))
    assert exc.value.field == "position"
    assert AttendanceDay.select().count() == 0


def test_without_places_people_check_in_anywhere(staff):
    AttendancePlace.delete().execute()
    done = service.check(staff["wei"].tenant, staff["wei"], "check_in", now=shanghai(2025, 3, 3, 8, 30))
    assert done.changed and done.row.check_in_place is None


@pytest.mark.parametrize("action, hour, minute", [("check_in", 5, 59), ("check_in", 12, 1), ("check_out", 11, 0)])
def test_outside_the_windows(staff, action, hour, minute):
    with pytest.raises(ValidationError) as exc:
        punch(staff, "wei", action, shanghai(2025, 3, 3, hour, minute))
    message = str(exc.value.message)
    assert exc.value.field == "time" and ("06:00 to 12:00" in message or "12:00 to 23:59" in message)


def test_refused_when_the_tenant_takes_no_attendance(staff, rule):
    for bad in ("lunch", None):
        with pytest.raises(ValidationError):
            punch(staff, "wei", bad, shanghai(2025, 3, 3, 8, 30))
    rule.enabled = False
    rule.save()
    with pytest.raises(ValidationError) as exc:
        punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 8, 30))
    assert exc.value.field == "action"


def test_days_follow_each_persons_time_zone(staff):
    berlin = staff["dan"]
    berlin.timezone = "Europe/Berlin"
    berlin.save()
    # 08:50 in Berlin is 15:50 in Shanghai: on time for Dan, and no check-in window for Wei.
    moment = datetime.datetime(2025, 3, 3, 7, 50)
    done = service.check(berlin.tenant, berlin, "check_in", *NEAR, 10, now=moment)
    assert done.row.day == MONDAY and done.row.late_minutes == 0
    with pytest.raises(ValidationError):
        punch(staff, "wei", "check_in", moment)
    # 22:30 UTC is already Tuesday in Shanghai but still Monday in Berlin.
    late_night = datetime.datetime(2025, 3, 3, 22, 30)
    assert service.today(berlin.tenant, berlin, late_night).day == MONDAY
    assert service.today(staff["wei"].tenant, staff["wei"], late_night).day == MONDAY + datetime.timedelta(days=1)


def test_the_worker_judges_ended_days(staff, org):
    tenant = org["tenant"]
    punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 8, 50))
    punch(staff, "wei", "check_out", shanghai(2025, 3, 3, 18, 30))
    punch(staff, "dan", "check_in", shanghai(2025, 3, 3, 9, 40))
    leave = approvals.submit(tenant, staff["li"], "leave", {**LEAVE, "starts_on": "2025-03-03",
                                                           "ends_on": "2025-03-03"}, today=MONDAY)
    approvals.approve(tenant, staff["hu"], leave.id)
    from app.org.service import deactivate_person
    deactivate_person(Person.get_by_id(staff["hu"].id))

    assert service.close_due(now=shanghai(2025, 3, 3, 23, 0)) == {"closed": 0}     # Monday is not over yet
    result = service.close_due(now=shanghai(2025, 3, 4, 2, 0))
    assert result == {"closed": 5}              # alice, li, wei, bob, dan: Hu is deactivated; no weekend rows
    judged = {p: day_of(staff[p]) for p in ("alice", "li", "wei", "bob", "dan")}
    assert not judged["wei"].absent and not judged["wei"].missed_check_out and judged["wei"].closed_at
    assert judged["bob"].absent and judged["alice"].absent
    assert judged["dan"].late_minutes == 40 and judged["dan"].missed_check_out and not judged["dan"].absent
    assert judged["li"].on_leave and not judged["li"].absent
    assert AttendanceDay.select().where(AttendanceDay.day < MONDAY).count() == 0
    assert service.close_due(now=shanghai(2025, 3, 4, 3, 0)) == {"closed": 0}       # once is enough


def test_days_before_someone_joined_or_attendance_began_are_not_judged(staff, rule):
    Person.update(created_at=shanghai(2025, 3, 4, 9, 0)).where(Person.id == staff["bob"].id).execute()
    service.close_due(now=shanghai(2025, 3, 4, 2, 0))
    assert AttendanceDay.select().where(AttendanceDay.person == staff["bob"].id).count() == 0
    AttendanceDay.delete().execute()
    rule.created_at = shanghai(2025, 3, 4, 8, 0)
    rule.save()
    assert service.close_due(now=shanghai(2025, 3, 5, 2, 0)) == {"closed": 6}      # Tuesday only, everyone
    assert {d.day for d in AttendanceDay.select()} == {MONDAY + datetime.timedelta(days=1)}


def test_an_approved_correction_changes_the_record(staff, org):
    tenant = org["tenant"]
    service.close_due(now=shanghai(2025, 3, 4, 2, 0))
    assert day_of(staff["bob"]).absent
    correction = approvals.submit(tenant, staff["bob"], "attendance_correction",
                                  {"day": "2025-03-03", "punch": "check_in", "time": "08:58",
                                   "reason": "Badge reader was down"}, today=datetime.date(2025, 3, 4))
    assert [s.approver_id for s, _p, _m in approvals.route_of(correction)] == [staff["li"].id]
    assert not day_of(staff["bob"]).corrected_at                  # nothing changes before it is approved
    approvals.approve(tenant, staff["li"], correction.id)
    row = day_of(staff["bob"])
    assert row.check_in_at == shanghai(2025, 3, 3, 8, 58) and row.corrected_at is not None
    assert not row.absent and row.missed_check_out and row.late_minutes == 0
    assert [a.action for a, _d in approvals.history(correction)][-1] == "attendance_corrected"
    assert events("attendance_updated")[-1][1] == staff["bob"].id
    out = approvals.submit(tenant, staff["bob"], "attendance_correction",
                           {"day": "2025-03-03", "punch": "check_out", "time": "17:00", "reason": "Forgot"},
                           today=datetime.date(2025, 3, 4))
    approvals.approve(tenant, staff["li"], out.id)
    row = day_of(staff["bob"])
    assert not row.missed_check_out and row.early_minutes == 60


@pytest.mark.parametrize("values, field", [
    ({"day": "2025-03-05", "punch": "check_in", "time": "09:00", "reason": "x"}, "day"),      # not begun
    ({"day": "2024-12-01", "punch": "check_in", "time": "09:00", "reason": "x"}, "day"),      # too long ago
    ({"day": "2025-03-03", "punch": "lunch", "time": "09:00", "reason": "x"}, "punch"),
    ({"day": "2025-03-03", "punch": "check_in", "time": "9am", "reason": "x"}, "time"),
    ({"day": "2025-03-03", "punch": "check_in", "time": "24:00", "reason": "x"}, "time"),
    ({"day": "2025-03-03", "punch": "check_in", "time": "09:00", "reason": ""}, "reason"),
])
def test_bad_corrections_are_refused(staff, org, values, field):
    with pytest.raises(ValidationError) as exc:
        approvals.submit(org["tenant"], staff["bob"], "attendance_correction", values,
                         today=datetime.date(2025, 3, 4))
    assert exc.value.field == field and Approval.select().count() == 0


def test_corrections_are_offered_only_where_attendance_is_taken(org):
    kinds = [t.kind for t in approvals.available_templates(org["tenant"])]
    assert "attendance_correction" not in kinds
    with pytest.raises(ValidationError) as exc:
        approvals.submit(org["tenant"], org["bob"], "attendance_correction",
                         {"day": "2025-03-03", "punch": "check_in", "time": "09:00", "reason": "x"})
    assert exc.value.field == "template"


def test_leave_approved_afterwards_excuses_a_judged_day(staff, org):
    service.close_due(now=shanghai(2025, 3, 4, 2, 0))
    assert day_of(staff["bob"]).absent
    leave = approvals.submit(org["tenant"], staff["bob"], "leave",
                             {**LEAVE, "leave_type": "sick", "starts_on": "2025-03-03", "ends_on": "2025-03-03"})
    approvals.approve(org["tenant"], staff["li"], leave.id)
    row = day_of(staff["bob"])
    assert row.on_leave and not row.absent
    assert [a.action for a, _d in approvals.history(leave)][-1] == "attendance_excused"


def test_the_monthly_report_per_department(staff, org):
    punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 9, 30))
    punch(staff, "wei", "check_out", shanghai(2025, 3, 3, 18, 0))
    service.close_due(now=shanghai(2025, 3, 4, 2, 0))
    service.close_due(now=shanghai(2025, 3, 5, 2, 0))
    north = service.report(org["tenant"], datetime.date(2025, 3, 1), org["north"].id)
    assert sorted(r.person.login for r in north) == ["bob", "li", "wei"]
    wei = next(r for r in north if r.person.login == "wei")
    assert (wei.workdays, wei.attended, wei.late, wei.late_minutes, wei.absent) == (2, 1, 1, 30, 1)
    assert wei.department == "Sales / North"
    sales = service.report(org["tenant"], datetime.date(2025, 3, 1), org["sales"].id)
    assert {r.person.login for r in sales} == {"bob", "li", "wei", "hu"}          # North is inside Sales
    everyone = service.report(org["tenant"], datetime.date(2025, 3, 1), None)
    assert len(everyone) == 6
    april = service.report(org["tenant"], datetime.date(2025, 4, 1), org["north"].id)
    assert all(r.workdays == 0 for r in april)


def test_the_csv_is_safe_for_spreadsheets(staff, org):
    bob = staff["bob"]
    bob.display_name = "=HYPERLINK(\"http://evil\")"
    bob.save()
    service.close_due(now=shanghai(2025, 3, 4, 2, 0))
    text = service.report_csv(service.report(org["tenant"], datetime.date(2025, 3, 1), org["north"].id))
    assert text.startswith("\ufeffName,Login name,Department,Working days")
    line = next(line for line in text.splitlines() if "HYPERLINK" in line)
    assert line.startswith("\"'=HYPERLINK(")


@pytest.mark.parametrize("change, field", [
    ({"work_start": "9:00"}, "work_start"),
    ({"work_end": "08:00"}, "work_end"),
    ({"check_in_until": "05:00"}, "check_in_until"),
    ({"check_out_until": "25:00"}, "check_out_until"),
    ({"work_days": []}, "work_days"),
    ({"work_days": ["8"]}, "work_days"),
    ({"grace_minutes": "-1"}, "grace_minutes"),
    ({"grace_minutes": "500"}, "grace_minutes"),
    ({"tolerance_m": "lots"}, "tolerance_m"),
])
def test_bad_rules_change_nothing(staff, org, rule, change, field):
    form = {"enabled": "1", "work_start": "10:00", "work_end": "19:00", "work_days": ["1", "2"],
            "check_in_from": "06:00", "check_in_until": "12:00", "check_out_from": "12:00",
            "check_out_until": "23:59", "grace_minutes": "0", "tolerance_m": "0", **change}
    with pytest.raises(ValidationError) as exc:
        service.save_rule(org["tenant"], form)
    assert exc.value.field == field
    kept = AttendanceRule.get_by_id(rule.id)
    assert (kept.work_start, kept.work_days, kept.grace_minutes) == ("09:00", "12345", 5)


@pytest.mark.parametrize("form, field", [
    ({"name": "", "latitude": "31", "longitude": "121", "radius_m": "100"}, "name"),
    ({"name": "A", "latitude": "91", "longitude": "121", "radius_m": "100"}, "latitude"),
    ({"name": "A", "latitude": "", "longitude": "121", "radius_m": "100"}, "latitude"),
    ({"name": "A", "latitude": "31", "longitude": "east", "radius_m": "100"}, "longitude"),
    ({"name": "A", "latitude": "31", "longitude": "121", "radius_m": "5"}, "radius_m"),
    ({"name": "A", "latitude": "31", "longitude": "121", "radius_m": "99999"}, "radius_m"),
])
def test_bad_places_are_refused(org, form, field):
    with pytest.raises(ValidationError) as exc:
        service.save_place(org["tenant"], None, form)
    assert exc.value.field == field and AttendancePlace.select().count() == 0


def test_records_belong_to_their_tenant(staff, org, other_tenant):
    punch(staff, "wei", "check_in", shanghai(2025, 3, 3, 8, 50))
    assert {r.tenant_id for r in AttendanceDay.select()} == {org["tenant"].id}
    assert service.rule_for(other_tenant) is None and service.places_of(other_tenant) == []
    assert json.loads(json.dumps(service.day_payload(day_of(staff["wei"]))))["day"] == "2025-03-03"
