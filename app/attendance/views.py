"""Attendance pages: today and this month with check-in and check-out, the monthly report, the admins' settings."""
from __future__ import annotations

import datetime

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import navigation
from app.attendance import service as svc
from app.attendance.models import AttendancePlace
from app.events import latest_id
from app.org.service import OrgIndex
from app.security.auth import admin_required, login_required
from app.validation import ValidationError

bp = Blueprint("attendance", __name__, url_prefix="/attendance")
navigation.register("attendance", "attendance.index", _l("Attendance"))

WEEKDAYS = (("1", _l("Mon")), ("2", _l("Tue")), ("3", _l("Wed")), ("4", _l("Thu")), ("5", _l("Fri")),
            ("6", _l("Sat")), ("7", _l("Sun")))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _month(today):
    try:
        return svc.parse_month(request.args.get("month"), today), None
    except ValidationError as exc:
        return today.replace(day=1), exc


@bp.route("/")
@login_required
def index():
    """Today's check-in and check-out, and my month day by day with corrections to ask for."""
    since = latest_id()
    now = svc.today(g.tenant, g.person)
    month, error = _month(now.day)
    return render_template("attendance/index.html", now=now, month=month, days=svc.days_of(g.tenant, g.person, month),
                           previous=(month - datetime.timedelta(days=1)).strftime("%Y-%m"),
                           following=svc.month_end(month).strftime("%Y-%m"), error=error,
                           may_report=svc.may_report(g.tenant, g.person) != set(), last_event_id=since)


@bp.route("/check", methods=["POST"])
@login_required
def check():
    """Check in or out now, with the position the browser gave."""
    form = request.form
    try:
        punch = svc.check(g.tenant, g.person, form.get("action"), form.get("latitude"), form.get("longitude"),
                          form.get("accuracy"))
    except ValidationError as exc:
        if _wants_json():
            return jsonify(error=str(exc.message), field=exc.field), 400
        flash(str(exc.message), "error")
        return redirect(url_for("attendance.index"), 303)
    row = punch.row
    if form.get("action") == "check_in":
        message = (_("Checked in at %(time)s.", time=format_datetime(row.check_in_at, "HH:mm")) if punch.changed
                   else _("You had already checked in at %(time)s.", time=format_datetime(row.check_in_at, "HH:mm")))
    else:
        message = _("Checked out at %(time)s.", time=format_datetime(row.check_out_at, "HH:mm"))
    if _wants_json():
        return jsonify({**svc.day_payload(row), "message": message, "changed": punch.changed})
    flash(message, "success")
    return redirect(url_for("attendance.index"), 303)


def _report_scope(index: OrgIndex):
    """The department asked for, if the person may see its report; (department id or None for all, allowed)."""
    allowed = svc.may_report(g.tenant, g.person, index)
    if allowed == set():
        abort(403)
    raw = request.args.get("department") or ""
    if not raw:
        if allowed is None:
            return None, allowed
        roots = sorted((d for d in allowed if index.by_id[d].parent_id not in allowed),
                       key=lambda d: index.by_id[d].name)
        return roots[0], allowed
    if not raw.isdigit() or int(raw) not in index.by_id:
        abort(404)
    if allowed is not None and int(raw) not in allowed:
        abort(403)
    return int(raw), allowed


@bp.route("/report")
@login_required
def report():
    """The monthly report of a department and its sub-departments (admins: any; department heads: their own)."""
    index = OrgIndex(g.tenant)
    department, allowed = _report_scope(index)
    today = svc.today(g.tenant, g.person).day
    month, error = _month(today)
    departments = [(d, index.path(d.id)) for d in index.by_id.values() if allowed is None or d.id in allowed]
    departments.sort(key=lambda pair: [d.name for d in pair[1]])
    return render_template("attendance/report.html", rows=svc.report(g.tenant, month, department, index),
                           month=month, department=department, departments=departments, everyone=allowed is None,
                           columns=svc.REPORT_COLUMNS, values=svc.report_values, error=error), (400 if error else 200)


@bp.route("/report.csv")
@login_required
def report_csv():
    """The monthly report as a CSV file for spreadsheets."""
    index = OrgIndex(g.tenant)
    department, _allowed = _report_scope(index)
    try:
        month = svc.parse_month(request.args.get("month"), svc.today(g.tenant, g.person).day)
    except ValidationError as exc:
        return Response(str(exc.message), status=400, mimetype="text/plain")
    name = f"attendance-{month:%Y-%m}" + (f"-{department}" if department else "") + ".csv"
    return Response(svc.report_csv(svc.report(g.tenant, month, department, index)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


# --- the admins' settings -------------------------------------------------------------------

def _settings_page(error=None, form=None, place_error=None, place_form=None, editing=None, status=200):
    return render_template("attendance/settings.html", rule=svc.rule_for(g.tenant), places=svc.places_of(g.tenant),
                           error=error, form=form, place_error=place_error, place_form=place_form, editing=editing,
                           weekdays=WEEKDAYS), status


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    """Working times, check-in windows, grace, the place tolerance and the allowed places (admins)."""
    if request.method == "POST":
        try:
            svc.save_rule(g.tenant, request.form)
        except ValidationError as exc:
            return _settings_page(exc, request.form, status=400)
        flash(_("Attendance settings are saved."), "success")
        return redirect(url_for("attendance.settings"), 303)
    return _settings_page()


@bp.route("/places", methods=["POST"])
@admin_required
def place_new():
    """Add an allowed place (admins)."""
    try:
        svc.save_place(g.tenant, None, request.form)
    except ValidationError as exc:
        return _settings_page(place_error=exc, place_form=request.form, status=400)
    flash(_("The place is added."), "success")
    return redirect(url_for("attendance.settings"), 303)


@bp.route("/places/<int:place_id>", methods=["POST"])
@admin_required
def place_edit(place_id: int):
    """Change an allowed place (admins)."""
    place = g.scope.get_or_404(AttendancePlace, place_id)
    try:
        svc.save_place(g.tenant, place, request.form)
    except ValidationError as exc:
        return _settings_page(place_error=exc, place_form=request.form, editing=place.id, status=400)
    flash(_("The place is saved."), "success")
    return redirect(url_for("attendance.settings"), 303)


@bp.route("/places/<int:place_id>/delete", methods=["POST"])
@admin_required
def place_delete(place_id: int):
    """Remove an allowed place; check-ins made there keep their time (admins)."""
    svc.delete_place(g.scope.get_or_404(AttendancePlace, place_id))
    flash(_("The place is removed."), "success")
    return redirect(url_for("attendance.settings"), 303)
