"""/api/v1/attendance: today's rule and record, checking in and out, a month of days, the monthly report."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.attendance import service as svc
from app.attendance.models import AttendanceDay
from app.org.service import OrgIndex
from app.validation import ValidationError


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _place(place) -> dict | None:
    return {"id": place.id, "name": place.name} if place is not None else None


def day_json(row: AttendanceDay) -> dict:
    """One person's day (AttendanceDay)."""
    return {"day": row.day.isoformat(), "workday": row.workday, "check_in_at": _iso(row.check_in_at),
            "check_in_place": _place(row.check_in_place) if row.check_in_place_id else None,
            "check_out_at": _iso(row.check_out_at),
            "check_out_place": _place(row.check_out_place) if row.check_out_place_id else None,
            "late_minutes": row.late_minutes, "early_minutes": row.early_minutes, "absent": row.absent,
            "on_leave": row.on_leave, "missed_check_in": row.missed_check_in, "missed_check_out": row.missed_check_out,
            "closed": row.closed_at is not None, "corrected": row.corrected_at is not None}


@bp.route("/attendance/today")
@api("attendance:read")
def attendance_today():
    """The rule that applies to the owner today, where they may check in, and their record so far."""
    now = svc.today(g.tenant, g.person)
    rule = now.rule if now.rule is not None and now.rule.enabled else None
    return jsonify({
        "enabled": rule is not None, "day": now.day.isoformat(), "local_time": now.local_time, "zone": now.zone,
        "work_start": rule.work_start if rule else None, "work_end": rule.work_end if rule else None,
        "check_in_window": list(svc.window(rule, "check_in")) if rule else None,
        "check_out_window": list(svc.window(rule, "check_out")) if rule else None,
        "tolerance_m": rule.tolerance_m if rule else None,
        "places": [{"id": p.id, "name": p.name, "latitude": p.latitude, "longitude": p.longitude,
                    "radius_m": p.radius_m} for p in now.places] if rule else [],
        "record": day_json(now.row) if now.row is not None else None,
        "can_check_in": now.can_check_in, "can_check_out": now.can_check_out})


def _punch(action: str):
    body = _body()
    try:
        punch = svc.check(g.tenant, g.person, action, body.get("latitude"), body.get("longitude"),
                          body.get("accuracy"))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(record=day_json(punch.row), changed=punch.changed)


@bp.route("/attendance/check-in", methods=["POST"])
@api("attendance:write")
def attendance_check_in():
    """Check in now from a position; a second check-in the same day changes nothing."""
    return _punch("check_in")


@bp.route("/attendance/check-out", methods=["POST"])
@api("attendance:write")
def attendance_check_out():
    """Check out now from a position; a later check-out replaces an earlier one."""
    return _punch("check_out")


@bp.route("/attendance/days")
@api("attendance:read")
def attendance_days():
    """The owner's days of a month (this month by default)."""
    try:
        month = svc.parse_month(request.args.get("month"), svc.today(g.tenant, g.person).day)
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(month=month.strftime("%Y-%m"), days=[day_json(r) for r in svc.days_of(g.tenant, g.person, month)])


@bp.route("/attendance/report")
@api("attendance:read")
def attendance_report():
    """A department's month in numbers (admins: any department or everyone; department heads: their own)."""
    index = OrgIndex(g.tenant)
    allowed = svc.may_report(g.tenant, g.person, index)
    if allowed == set():
        return error(403, _("Only admins and department heads see attendance reports."))
    try:
        month = svc.parse_month(request.args.get("month"), svc.today(g.tenant, g.person).day)
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    raw = request.args.get("department") or ""
    if not raw:
        if allowed is not None:
            return error(400, _("Name a department you head."), field="department")
        department = None
    elif not raw.isdigit() or int(raw) not in index.by_id:
        return error(404, _("No such department."))
    elif allowed is not None and int(raw) not in allowed:
        return error(403, _("Only admins and department heads see attendance reports."))
    else:
        department = int(raw)
    rows = svc.report(g.tenant, month, department, index)
    return jsonify(month=month.strftime("%Y-%m"), department=department,
                   rows=[{**svc.report_values(r), "person": r.person.id} for r in rows])
