"""Attendance: checking in and out within the tenant's times and places, judging each day, monthly reports.

Days are the person's local days (their time zone, else the tenant's). Late and
early are known when someone checks in or out; absent and missed check-outs only
once the day is over, when `close_due` (run by the worker) judges it. Approved
leave excuses a day; an approved correction (an approval of the
attendance_correction kind) changes the record and judges the day again.
"""
from __future__ import annotations

import csv
import datetime
import io
import json
import math
import re
import zoneinfo
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from app.announce.service import allowed_departments
from app.approvals import service as approvals
from app.approvals.models import Approval
from app.attendance.models import AttendanceDay, AttendancePlace, AttendanceRule
from app.db import db, utcnow
from app.events import publish
from app.org.models import Membership, Person
from app.org.service import OrgIndex
from app.org.status import DEFAULT_TIMEZONE, person_zone
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import ValidationError, clean_text

ACTIONS = ("check_in", "check_out")
MAX_RADIUS_M = 5000
MAX_TOLERANCE_M = 1000
MAX_GRACE_MINUTES = 120
MAX_ACCURACY_M = 2000          # a position vaguer than this proves nothing about where someone is
MAX_PLACES = 100
CATCH_UP_DAYS = 3              # days the worker looks back, so a pause of the worker leaves no day unjudged
EARTH_RADIUS_M = 6371008.8
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def default_zone() -> str:
    """The install's default time zone (when neither person nor tenant names one)."""
    if has_app_context():
        return current_app.config["ATRIUM"].default_timezone
    return DEFAULT_TIMEZONE


def zone_of(person: Person) -> zoneinfo.ZoneInfo:
    return person_zone(person, default_zone())


def local_now(person: Person, now: datetime.datetime | None = None) -> datetime.datetime:
    """Now (a naive UTC moment) on the person's clock."""
    return (now or utcnow()).replace(tzinfo=datetime.timezone.utc).astimezone(zone_of(person))


def to_utc(day: datetime.date, hhmm: str, zone: datetime.tzinfo) -> datetime.datetime:
    """A local date and time as the naive UTC moment the database keeps."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    moment = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _minutes(hhmm: str) -> int:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return hour * 60 + minute


# --- the tenant's rule and places -------------------------------------------------------------

def rule_for(tenant: Tenant) -> AttendanceRule | None:
    return TenantScope(tenant).select(AttendanceRule).first()


def takes_attendance(tenant: Tenant) -> bool:
    """Whether the tenant's admins switched attendance on."""
    rule = rule_for(tenant)
    return rule is not None and rule.enabled


def _time(form, key: str) -> str:
    value = (form.get(key) or "").strip()
    if not _TIME.fullmatch(value):
        raise ValidationError(key, _l("Use the form 09:00."))
    return value


def _whole(form, key: str, low: int, high: int) -> int:
    value = str(form.get(key) if form.get(key) is not None else "").strip()
    if not re.fullmatch(r"[0-9]{1,6}", value) or not low <= int(value) <= high:
        raise ValidationError(key, _l("A whole number from %(low)d to %(high)d.", low=low, high=high))
    return int(value)


def save_rule(tenant: Tenant, form) -> AttendanceRule:
    """Set the tenant's working times, check-in windows, grace and place tolerance; nothing changes on a bad value."""
    times = {key: _time(form, key) for key in ("work_start", "work_end", "check_in_from", "check_in_until",
                                                "check_out_from", "check_out_until")}
    if times["work_end"] <= times["work_start"]:
        raise ValidationError("work_end", _l("The end must be after the start (both on the same day)."))
    if times["check_in_until"] <= times["check_in_from"]:
        raise ValidationError("check_in_until", _l("The window must end after it opens."))
    if times["check_out_until"] <= times["check_out_from"]:
        raise ValidationError("check_out_until", _l("The window must end after it opens."))
    getlist = form.getlist if hasattr(form, "getlist") else (lambda key: form.get(key) or [])
    days = "".join(sorted({d for d in getlist("work_days") if isinstance(d, str) and d in "1234567" and len(d) == 1}))
    if not days:
        raise ValidationError("work_days", _l("Choose at least one working day."))
    grace = _whole(form, "grace_minutes", 0, MAX_GRACE_MINUTES)
    tolerance = _whole(form, "tolerance_m", 0, MAX_TOLERANCE_M)
    now = utcnow()
    with db.atomic():
        rule = rule_for(tenant) or AttendanceRule(tenant=tenant, created_at=now)
        for key, value in times.items():
            setattr(rule, key, value)
        rule.work_days, rule.grace_minutes, rule.tolerance_m = days, grace, tolerance
        rule.enabled, rule.updated_at = bool(form.get("enabled")), now
        rule.save()
    return rule


def places_of(tenant: Tenant) -> list[AttendancePlace]:
    return list(TenantScope(tenant).select(AttendancePlace).order_by(AttendancePlace.name, AttendancePlace.id))


def _coordinate(value, key: str, limit: float) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError(key, _l("Not a valid coordinate."))
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValidationError(key, _l("Not a valid coordinate.")) from None
    if not math.isfinite(number) or abs(number) > limit:
        raise ValidationError(key, _l("Not a valid coordinate."))
    return number


def save_place(tenant: Tenant, place: AttendancePlace | None, form) -> AttendancePlace:
    """Add (place=None) or change an allowed place: a name, a point and a radius in metres."""
    name = clean_text(form.get("name"), "name", required=True, max_length=100)
    latitude = _coordinate(form.get("latitude"), "latitude", 90)
    longitude = _coordinate(form.get("longitude"), "longitude", 180)
    if latitude is None:
        raise ValidationError("latitude", _l("This field is required."))
    if longitude is None:
        raise ValidationError("longitude", _l("This field is required."))
    radius = _whole(form, "radius_m", 10, MAX_RADIUS_M)
    if place is None and len(places_of(tenant)) >= MAX_PLACES:
        raise ValidationError("name", _l("At most %(n)d places.", n=MAX_PLACES))
    place = place or AttendancePlace(tenant=tenant)
    place.name, place.latitude, place.longitude, place.radius_m = name, latitude, longitude, radius
    place.save()
    return place


def delete_place(place: AttendancePlace) -> None:
    """Remove an allowed place; days checked in there keep their times and lose only the place."""
    place.delete_instance()


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points on the earth (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _where(tenant: Tenant, rule: AttendanceRule, latitude, longitude, accuracy) -> tuple[AttendancePlace | None, int | None]:
    """The allowed place the position is in (with the distance to its centre); anywhere when no places are set."""
    places = places_of(tenant)
    if not places:
        return None, None
    lat = _coordinate(latitude, "position", 90)
    lon = _coordinate(longitude, "position", 180)
    if lat is None or lon is None:
        raise ValidationError("position", _l("Your position is needed to check in here: let the browser use your "
                                             "location and try again."))
    if accuracy not in (None, ""):
        try:
            vague = float(accuracy)
        except (TypeError, ValueError):
            vague = math.inf
        if isinstance(accuracy, bool) or not math.isfinite(vague) or vague < 0 or vague > MAX_ACCURACY_M:
            raise ValidationError("position", _l("Your position is too imprecise. Try again with location services "
                                                 "on, or outdoors."))
    nearest = min(places, key=lambda p: distance_m(lat, lon, p.latitude, p.longitude))
    distance = distance_m(lat, lon, nearest.latitude, nearest.longitude)
    if distance > nearest.radius_m + rule.tolerance_m:
        raise ValidationError("position", _l("You are %(n)d m from %(place)s, outside the area where you can "
                                             "check in.", n=round(distance), place=nearest.name))
    return nearest, round(distance)


# --- judging a day --------------------------------------------------------------------------

def judge(row: AttendanceDay, rule: AttendanceRule, zone: datetime.tzinfo, *, closed: bool, on_leave: bool) -> None:
    """Work out late, early, absent and missed check-ins of a day from its times; `closed` once the day is over."""
    row.workday = str(row.day.isoweekday()) in rule.work_days
    row.on_leave = on_leave
    row.late_minutes = row.early_minutes = 0
    row.absent = row.missed_check_in = row.missed_check_out = False
    if not row.workday or on_leave:
        return

    def local_minutes(moment: datetime.datetime) -> int:
        local = moment.replace(tzinfo=datetime.timezone.utc).astimezone(zone)
        days = (local.date() - row.day).days   # a check-out after midnight counts as late in the day
        return days * 24 * 60 + local.hour * 60 + local.minute

    if row.check_in_at is not None:
        late = local_minutes(row.check_in_at) - _minutes(rule.work_start)
        row.late_minutes = late if late > rule.grace_minutes else 0
    if row.check_out_at is not None:
        early = _minutes(rule.work_end) - local_minutes(row.check_out_at)
        row.early_minutes = early if early > rule.grace_minutes else 0
    if closed:
        if row.check_in_at is None and row.check_out_at is None:
            row.absent = True
        else:
            row.missed_check_in = row.check_in_at is None
            row.missed_check_out = row.check_out_at is None


def _on_leave(person_ids: list[int], day: datetime.date) -> set[int]:
    """Who of these people has approved leave covering the day."""
    return {pid for (pid,) in Approval.select(Approval.applicant)
            .where((Approval.kind == "leave") & (Approval.status == "approved") & (Approval.starts_on <= day)
                   & (Approval.ends_on >= day) & Approval.applicant.in_(person_ids or [0])).tuples()}


def day_payload(row: AttendanceDay) -> dict:
    """What the person's open pages receive when their day changes."""
    return {"day": row.day.isoformat(), "check_in_at": _iso(row.check_in_at), "check_out_at": _iso(row.check_out_at),
            "late_minutes": row.late_minutes, "early_minutes": row.early_minutes, "absent": row.absent,
            "on_leave": row.on_leave, "closed": row.closed_at is not None}


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _row(tenant: Tenant, person: Person, day: datetime.date, rule: AttendanceRule) -> AttendanceDay:
    """The person's record of the day, made if it does not exist yet (two at once make one)."""
    AttendanceDay.insert(tenant=tenant.id, person=person.id, day=day,
                         workday=str(day.isoweekday()) in rule.work_days).on_conflict_ignore().execute()
    return AttendanceDay.get((AttendanceDay.person == person.id) & (AttendanceDay.day == day))


# --- checking in and out --------------------------------------------------------------------

@dataclass
class Punch:
    """The result of a check-in or check-out: the day's record, and whether this call changed it."""

    row: AttendanceDay
    changed: bool


def window(rule: AttendanceRule, action: str) -> tuple[str, str]:
    return (rule.check_in_from, rule.check_in_until) if action == "check_in" else \
        (rule.check_out_from, rule.check_out_until)


def check(tenant: Tenant, person: Person, action, latitude=None, longitude=None, accuracy=None, *,
          now: datetime.datetime | None = None) -> Punch:
    """Check in or out now, from a position; refused outside the window or the allowed places.

    A second check-in the same day changes nothing (the first counts); a later check-out replaces an earlier one.
    """
    rule = rule_for(tenant)
    if rule is None or not rule.enabled:
        raise ValidationError("action", _l("Your organisation does not take attendance here."))
    if action not in ACTIONS:
        raise ValidationError("action", _l("Choose check-in or check-out."))
    now = (now or utcnow()).replace(microsecond=0)
    zone = zone_of(person)
    local = local_now(person, now)
    opens, closes = window(rule, action)
    if not opens <= local.strftime("%H:%M") <= closes:
        message = (_l("Check-in is open from %(start)s to %(end)s.", start=opens, end=closes) if action == "check_in"
                   else _l("Check-out is open from %(start)s to %(end)s.", start=opens, end=closes))
        raise ValidationError("time", message)
    place, distance = _where(tenant, rule, latitude, longitude, accuracy)
    with db.atomic():
        row = _row(tenant, person, local.date(), rule)
        if action == "check_in":
            changed = (AttendanceDay.update(check_in_at=now, check_in_place=place, check_in_distance_m=distance)
                       .where((AttendanceDay.id == row.id) & AttendanceDay.check_in_at.is_null()).execute())
        else:
            changed = (AttendanceDay.update(check_out_at=now, check_out_place=place, check_out_distance_m=distance)
                       .where((AttendanceDay.id == row.id)
                              & (AttendanceDay.check_out_at.is_null() | (AttendanceDay.check_out_at < now)))
                       .execute())
        row = AttendanceDay.get_by_id(row.id)
        if changed:
            judge(row, rule, zone, closed=row.closed_at is not None, on_leave=row.on_leave)
            row.save()
            publish(tenant, "attendance_updated", day_payload(row), person=person)
    return Punch(row, bool(changed))


# --- what people see ------------------------------------------------------------------------

@dataclass
class Today:
    """A person's day so far, and what they can do now."""

    rule: AttendanceRule | None
    day: datetime.date
    local_time: str
    zone: str
    row: AttendanceDay | None
    places: list[AttendancePlace] = field(default_factory=list)

    def open(self, action: str) -> bool:
        if self.rule is None or not self.rule.enabled:
            return False
        opens, closes = window(self.rule, action)
        return opens <= self.local_time <= closes

    @property
    def can_check_in(self) -> bool:
        return self.open("check_in") and (self.row is None or self.row.check_in_at is None)

    @property
    def can_check_out(self) -> bool:
        return self.open("check_out")


def today(tenant: Tenant, person: Person, now: datetime.datetime | None = None) -> Today:
    """The person's record of today (their local day) and the rule that applies."""
    local = local_now(person, now)
    row = (TenantScope(tenant).select(AttendanceDay)
           .where((AttendanceDay.person == person) & (AttendanceDay.day == local.date())).first())
    return Today(rule_for(tenant), local.date(), local.strftime("%H:%M"), str(zone_of(person)), row,
                 places_of(tenant))


def parse_month(value, today_: datetime.date) -> datetime.date:
    """The first day of a month given as 2025-03 (this month when empty)."""
    if value in (None, ""):
        return today_.replace(day=1)
    match = _MONTH.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not 2000 <= int(match.group(1)) <= 2100:
        raise ValidationError("month", _l("Give a month like 2025-03."))
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


def month_end(month: datetime.date) -> datetime.date:
    """The first day of the next month."""
    return (month + datetime.timedelta(days=32)).replace(day=1)


def days_of(tenant: Tenant, person: Person, month: datetime.date) -> list[AttendanceDay]:
    """The person's records in a month, oldest first."""
    return list(TenantScope(tenant).select(AttendanceDay)
                .where((AttendanceDay.person == person) & (AttendanceDay.day >= month)
                       & (AttendanceDay.day < month_end(month))).order_by(AttendanceDay.day))


# --- the day is over ------------------------------------------------------------------------

def close_day(tenant: Tenant, rule: AttendanceRule, day: datetime.date, people: list[Person],
              now: datetime.datetime | None = None) -> int:
    """Judge these people's day once it is over: absent, missed check-ins, leave. Safe to run again."""
    now = now or utcnow()
    if not people:
        return 0
    ids = [p.id for p in people]
    leave = _on_leave(ids, day)
    workday = str(day.isoweekday()) in rule.work_days
    closed = 0
    with db.atomic():
        rows = {r.person_id: r for r in TenantScope(tenant).select(AttendanceDay)
                .where(AttendanceDay.person.in_(ids) & (AttendanceDay.day == day))}
        for person in people:
            row = rows.get(person.id)
            if row is None:
                if not workday:
                    continue   # a day off nobody worked on leaves no record
                row = _row(tenant, person, day, rule)
            judge(row, rule, zone_of(person), closed=True, on_leave=person.id in leave)
            row.closed_at = now
            row.save()
            closed += 1
    return closed


def close_due(now: datetime.datetime | None = None) -> dict[str, int]:
    """Judge every day that has ended for people of tenants that take attendance (the worker runs this)."""
    now = now or utcnow()
    closed = 0
    for rule in AttendanceRule.select().where(AttendanceRule.enabled == True):  # noqa: E712
        tenant = Tenant.get_by_id(rule.tenant_id)
        by_zone: dict[str, list[Person]] = {}
        for person in Person.active(tenant):
            person.tenant = tenant
            by_zone.setdefault(str(zone_of(person)), []).append(person)
        for zone_name, people in by_zone.items():
            zone = zoneinfo.ZoneInfo(zone_name)
            local_today = now.replace(tzinfo=datetime.timezone.utc).astimezone(zone).date()
            started = rule.created_at.replace(tzinfo=datetime.timezone.utc).astimezone(zone).date()
            for back in range(CATCH_UP_DAYS, 0, -1):
                day = local_today - datetime.timedelta(days=back)
                if day < started:
                    continue
                done = {pid for (pid,) in AttendanceDay.select(AttendanceDay.person)
                        .where((AttendanceDay.tenant == tenant) & (AttendanceDay.day == day)
                               & AttendanceDay.closed_at.is_null(False)).tuples()}
                due = [p for p in people if p.id not in done
                       and p.created_at.replace(tzinfo=datetime.timezone.utc).astimezone(zone).date() <= day]
                closed += close_day(tenant, rule, day, due, now)
    return {"closed": closed}


# --- what approvals change ------------------------------------------------------------------

def apply_correction(approval: Approval) -> str:
    """An approved correction sets the check-in or check-out it names and judges the day again."""
    tenant = Tenant.get_by_id(approval.tenant_id)
    person = Person.get_by_id(approval.applicant_id)
    rule = rule_for(tenant)
    if rule is None:
        raise ValidationError("route", _l("Your organisation does not take attendance here."))
    answers = json.loads(approval.answers)
    day = datetime.date.fromisoformat(answers["day"])
    zone = zone_of(person)
    moment = to_utc(day, answers["time"], zone)
    row = _row(tenant, person, day, rule)
    if answers["punch"] == "check_in":
        row.check_in_at, row.check_in_place, row.check_in_distance_m = moment, None, None
    else:
        row.check_out_at, row.check_out_place, row.check_out_distance_m = moment, None, None
    row.corrected_at = utcnow()
    judge(row, rule, zone, closed=row.closed_at is not None, on_leave=person.id in _on_leave([person.id], day))
    row.save()
    publish(tenant, "attendance_updated", day_payload(row), person=person)
    return "attendance_corrected"


def excuse_leave(approval: Approval) -> str | None:
    """Approved leave excuses the days it covers that were already judged (leave asked for afterwards)."""
    tenant = Tenant.get_by_id(approval.tenant_id)
    rule = rule_for(tenant)
    if rule is None or approval.starts_on is None:
        return None
    person = Person.get_by_id(approval.applicant_id)
    rows = list(TenantScope(tenant).select(AttendanceDay)
                .where((AttendanceDay.person == person) & (AttendanceDay.day >= approval.starts_on)
                       & (AttendanceDay.day <= approval.ends_on)))
    for row in rows:
        judge(row, rule, zone_of(person), closed=row.closed_at is not None, on_leave=True)
        row.save()
    return "attendance_excused" if rows else None


approvals.register_kind("attendance_correction", approvals.KindHooks(takes_attendance, apply_correction))
approvals.register_kind("leave", approvals.KindHooks(lambda tenant: True, excuse_leave))


# --- the monthly report ---------------------------------------------------------------------

@dataclass
class ReportRow:
    """One person's month: working days judged, and how they came out."""

    person: Person
    department: str
    workdays: int = 0
    attended: int = 0
    late: int = 0
    late_minutes: int = 0
    early: int = 0
    early_minutes: int = 0
    absent: int = 0
    leave: int = 0
    missed: int = 0
    corrected: int = 0


def report(tenant: Tenant, month: datetime.date, department_id: int | None, index: OrgIndex | None = None
           ) -> list[ReportRow]:
    """Everyone of a department and its sub-departments (everyone: None), with their month in numbers."""
    index = index or OrgIndex(tenant)
    scope = TenantScope(tenant)
    members = scope.select(Membership, Membership.person, Membership.department)
    if department_id is not None:
        members = members.where(Membership.department.in_(list(index.subtree_ids(department_id))))
    primary: dict[int, int] = {}
    for pid, did in members.order_by(Membership.is_primary.desc(), Membership.id).tuples():
        primary.setdefault(pid, did)
    days = (scope.select(AttendanceDay)
            .where((AttendanceDay.day >= month) & (AttendanceDay.day < month_end(month))
                   & AttendanceDay.closed_at.is_null(False)))
    if department_id is not None:
        days = days.where(AttendanceDay.person.in_(list(primary) or [0]))
    by_person: dict[int, list[AttendanceDay]] = {}
    for row in days:
        by_person.setdefault(row.person_id, []).append(row)
    people = scope.select(Person)
    if department_id is not None:
        people = people.where(Person.id.in_(list(primary) or [0]))
    rows = []
    for person in people.order_by(Person.display_name, Person.id):
        mine = by_person.get(person.id, [])
        if not person.is_active and not mine:
            continue
        line = ReportRow(person, " / ".join(d.name for d in index.path(primary.get(person.id))))
        for d in mine:
            if d.workday:
                line.workdays += 1
            if d.check_in_at or d.check_out_at:
                line.attended += 1
            line.late += d.late_minutes > 0
            line.late_minutes += d.late_minutes
            line.early += d.early_minutes > 0
            line.early_minutes += d.early_minutes
            line.absent += d.absent
            line.leave += d.on_leave and d.workday
            line.missed += d.missed_check_in + d.missed_check_out
            line.corrected += d.corrected_at is not None
        rows.append(line)
    return rows


REPORT_COLUMNS = (
    ("name", _l("Name")), ("login", _l("Login name")), ("department", _l("Department")),
    ("workdays", _l("Working days")), ("attended", _l("Days attended")), ("late", _l("Late")),
    ("late_minutes", _l("Minutes late")), ("early", _l("Left early")), ("early_minutes", _l("Minutes early")),
    ("absent", _l("Absent")), ("leave", _l("On leave")), ("missed", _l("Missed check-ins and check-outs")),
    ("corrected", _l("Corrected")),
)


def report_values(row: ReportRow) -> dict:
    return {"name": row.person.display_name, "login": row.person.login, "department": row.department,
            "workdays": row.workdays, "attended": row.attended, "late": row.late, "late_minutes": row.late_minutes,
            "early": row.early, "early_minutes": row.early_minutes, "absent": row.absent, "leave": row.leave,
            "missed": row.missed, "corrected": row.corrected}


def _cell(value) -> str:
    text = str(value)
    # A spreadsheet would run a cell that starts like a formula; a leading apostrophe keeps it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(rows: list[ReportRow]) -> str:
    """The report as CSV, with a byte-order mark so spreadsheet programs read the Chinese names right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(label) for _key, label in REPORT_COLUMNS])
    for row in rows:
        values = report_values(row)
        writer.writerow([_cell(values[key]) for key, _label in REPORT_COLUMNS])
    return "\ufeff" + out.getvalue()


def may_report(tenant: Tenant, person: Person, index: OrgIndex | None = None) -> set[int] | None:
    """Departments whose report the person may see: None for an admin (all), else the subtrees of those they head."""
    return allowed_departments(tenant, person, index)

