"""/api/v1/notifications: the token owner's notifications, their unread count, and marking them read."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.notify.service import labels_for, mark_all_read, mark_read, notifications_for, render, unread_count
from app.pagination import paginate


def _labels() -> dict:
    locale = get_locale()
    return labels_for(g.tenant, "zh_Hans" if locale and locale.language == "zh" else "en")


@bp.route("/notifications")
@api("notifications:read")
def list_notifications():
    """The owner's notifications, newest first (`unread=1`: only the unread), with the unread count."""
    unread_only = request.args.get("unread") in ("1", "true")
    page = paginate(notifications_for(g.tenant, g.person, unread_only), request.args.get("page"), 50)
    labels = _labels()
    return jsonify(notifications=[render(n, labels) for n in page.items], unread=unread_count(g.person),
                   page=page.number, pages=page.pages, total=page.total)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@api("notifications:read")
def read_notification(notification_id: int):
    """Mark one notification read (again is fine)."""
    try:
        notification = mark_read(g.tenant, g.person, notification_id)
    except LookupError:
        return error(404, _("No such notification."))
    return jsonify(render(notification, _labels()))


@bp.route("/notifications/read-all", methods=["POST"])
@api("notifications:read")
def read_all_notifications():
    """Mark every notification of the owner read."""
    return jsonify(changed=mark_all_read(g.tenant, g.person), unread=0)
