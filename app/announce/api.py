"""/api/v1/announcements: the announcements a token's owner may read, confirming them, and publishing."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.announce.models import Announcement
from app.announce.service import (addressed_departments, announcement_for, announcements_for, confirm_read,
                                  publish_announcement, read_times)
from app.api.views import api, bp, error
from app.chat.render import render_text
from app.pagination import paginate
from app.validation import ValidationError


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def summary_json(announcement: Announcement, read_at) -> dict:
    """An announcement in a list (AnnouncementSummary)."""
    author = announcement.author
    return {"id": announcement.id, "title": announcement.title, "author": {"id": author.id, "name": author.display_name},
            "important": announcement.important, "to_all": announcement.to_all,
            "created_at": _iso(announcement.created_at), "read_at": _iso(read_at)}


def detail_json(announcement: Announcement, read_at) -> dict:
    """An announcement with its text (Announcement)."""
    return {**summary_json(announcement, read_at), "body": announcement.body,
            "html": str(render_text(announcement.body)), "departments": addressed_departments(announcement)}


@bp.route("/announcements")
@api("announcements:read")
def list_announcements():
    """The owner's announcements, unread first, then newest."""
    page = paginate(announcements_for(g.tenant, g.person), request.args.get("page"), 50)
    read = read_times(g.person, [a.id for a in page.items])
    return jsonify(announcements=[summary_json(a, read.get(a.id)) for a in page.items], page=page.number,
                   pages=page.pages, total=page.total)


@bp.route("/announcements", methods=["POST"])
@api("announcements:write")
def create_announcement():
    """Publish an announcement (admins to everyone or any departments, heads to theirs); important ones are emailed."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    for field in ("title", "body"):
        if not isinstance(body.get(field), str):
            return error(400, _("This field is required."), field=field)
    for field in ("to_all", "important"):
        if not isinstance(body.get(field, False), bool):
            return error(400, _("Give true or false."), field=field)
    departments = body.get("departments", [])
    if not isinstance(departments, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                    for d in departments):
        return error(400, _("Choose departments from the list."), field="departments")
    try:
        announcement = publish_announcement(g.tenant, g.person, body["title"], body["body"],
                                            to_all=body.get("to_all", False), department_ids=departments,
                                            important=body.get("important", False))
    except PermissionError:
        return error(403, _("Only admins and department heads publish announcements."))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(detail_json(announcement, None)), 201


@bp.route("/announcements/<int:announcement_id>")
@api("announcements:read")
def get_announcement(announcement_id: int):
    """One announcement with its text."""
    announcement = announcement_for(g.tenant, g.person, announcement_id)
    if announcement is None:
        return error(404, _("No such announcement."))
    return jsonify(detail_json(announcement, read_times(g.person, [announcement.id]).get(announcement.id)))


@bp.route("/announcements/<int:announcement_id>/confirm", methods=["POST"])
@api("announcements:read")
def confirm_announcement(announcement_id: int):
    """Confirm having read an announcement (again is fine)."""
    try:
        read_at = confirm_read(g.tenant, g.person, announcement_id)
    except LookupError:
        return error(404, _("No such announcement."))
    return jsonify(detail_json(announcement_for(g.tenant, g.person, announcement_id), read_at))
