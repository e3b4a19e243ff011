"""Announcement pages: my announcements, one announcement and confirming it, publishing, read rates."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import navigation
from app.announce.models import Announcement
from app.announce.service import (addressed_departments, allowed_departments, announcement_for, announcements_for,
                                  can_publish, confirm_read, may_see_stats, publish_announcement, read_stats,
                                  read_times)
from app.chat.render import render_text
from app.org.models import Person
from app.org.service import OrgIndex
from app.pagination import paginate
from app.security.auth import login_required, safe_next
from app.validation import ValidationError

bp = Blueprint("announce", __name__, url_prefix="/announcements")
navigation.register("announcements", "announce.index", _l("Announcements"))


@bp.route("/")
@login_required
def index():
    """Announcements for me, unread first, each with a button to confirm reading it."""
    page = paginate(announcements_for(g.tenant, g.person), request.args.get("page"), per_page=30)
    return render_template("announce/index.html", page=page, read=read_times(g.person, [a.id for a in page.items]),
                           may_publish=can_publish(g.tenant, g.person))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Publish an announcement: admins to everyone or any departments, department heads to their own."""
    index = OrgIndex(g.tenant)
    allowed = allowed_departments(g.tenant, g.person)
    if allowed == set():
        abort(403)
    error, form = None, request.form
    if request.method == "POST":
        try:
            announcement = publish_announcement(
                g.tenant, g.person, form.get("title"), form.get("body"), to_all=form.get("audience") == "all",
                department_ids=form.getlist("departments"), important=bool(form.get("important")))
        except ValidationError as exc:
            error = exc
        else:
            flash(_("The announcement is published."), "success")
            return redirect(url_for("announce.show", announcement_id=announcement.id))
    departments = [(d, index.path(d.id)) for d in index.by_id.values() if allowed is None or d.id in allowed]
    departments.sort(key=lambda pair: [d.name for d in pair[1]])
    chosen = set(form.getlist("departments"))
    return render_template("announce/new.html", departments=departments, everyone=allowed is None, form=form,
                           chosen=chosen, error=error), (400 if error else 200)


def _announcement_or_404(announcement_id: int) -> Announcement:
    found = announcement_for(g.tenant, g.person, announcement_id)
    if found is None:
        abort(404)   # not addressed to me, another tenant's, or no such announcement: all look the same
    return found


@bp.route("/<int:announcement_id>")
@login_required
def show(announcement_id: int):
    """One announcement, its text kept inert, and confirming having read it."""
    announcement = _announcement_or_404(announcement_id)
    index = OrgIndex(g.tenant)
    departments = [" / ".join(d.name for d in index.path(dept_id)) for dept_id in addressed_departments(announcement)]
    return render_template("announce/show.html", announcement=announcement, body=render_text(announcement.body),
                           read_at=read_times(g.person, [announcement.id]).get(announcement.id),
                           departments=departments, stats=may_see_stats(g.person, announcement))


@bp.route("/<int:announcement_id>/confirm", methods=["POST"])
@login_required
def confirm(announcement_id: int):
    """Confirm having read an announcement (again is fine)."""
    try:
        confirmed_at = confirm_read(g.tenant, g.person, announcement_id)
    except LookupError:
        abort(404)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(id=announcement_id, read_at=confirmed_at.isoformat() + "Z")
    flash(_("Marked as read."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("announce.show", announcement_id=announcement_id))


@bp.route("/<int:announcement_id>/stats")
@login_required
def stats(announcement_id: int):
    """Read rates overall and per department, and who has not read it (its author and admins)."""
    announcement = g.scope.get_or_404(Announcement, announcement_id)
    if not may_see_stats(g.person, announcement):
        if announcement_for(g.tenant, g.person, announcement.id) is None:
            abort(404)
        abort(403)
    index = OrgIndex(g.tenant)
    author = g.scope.get_or_404(Person, announcement.author_id)
    return render_template("announce/stats.html", announcement=announcement, author=author,
                           stats=read_stats(g.tenant, announcement, index), index=index)
