"""Atrium: an on-premise collaboration appliance.

create_app() builds the Flask application; importing this package does nothing else.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings, load_settings
from app.tenancy.scope import RowIdConverter

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """The application factory: settings, database, tenancy, security, views."""
    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__)
    app.url_map.converters["int"] = RowIdConverter   # before any route is added
    app.config["ATRIUM"] = settings
    app.config.update(
        SECRET_KEY=read_secret_key(settings),
        SESSION_COOKIE_NAME="atrium_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(hours=settings.session_lifetime_hours),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        TRAP_HTTP_EXCEPTIONS=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    logging.getLogger("app").setLevel(settings.log_level)
    app.logger.setLevel(settings.log_level)

    from app import brand, db, errors, health, i18n, residency, security, tenancy
    from app.db import make_database

    db.db.initialize(make_database(settings.database))
    residency.init_app(app)
    db.init_app(app)
    i18n.init_app(app)
    brand.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    tenancy.init_app(app)
    security.init_app(app)

    from app.announce import api as announce_api  # noqa: F401 - adds its routes to the API blueprint
    from app.announce import views as announce_views
    from app.api import views as api_views
    from app.audit import views as audit_views
    from app.approvals import api as approvals_api  # noqa: F401 - adds its routes to the API blueprint
    from app.approvals import views as approvals_views
    from app.attendance import api as attendance_api  # noqa: F401 - adds its routes to the API blueprint
    from app.attendance import views as attendance_views
    from app.chat import views as chat_views
    from app.chat.service import ChatRules
    from app.contacts import api as contacts_api  # noqa: F401 - adds its routes to the API blueprint
    from app.contacts import views as contacts_views
    from app.circle import api as circle_api  # noqa: F401 - adds its routes to the API blueprint
    from app.circle import views as circle_views
    from app.ding import api as ding_api  # noqa: F401 - adds its routes to the API blueprint
    from app.ding import views as ding_views
    from app.events import views as event_views
    from app.notify import api as notify_api  # noqa: F401 - adds its routes to the API blueprint
    from app.notify import views as notify_views
    from app.org import admin as org_admin
    from app.org import me as org_me
    from app.org.ldap import views as directory_views
    from app.org import views as org_views
    from app.security import integrations_admin
    from app.security import policy_admin
    from app.security import views as security_views
    from app.switchboard import api as switchboard_api  # noqa: F401 - adds its routes to the API blueprint
    from app.switchboard import views as switchboard_views
    from app.tasks import api as tasks_api  # noqa: F401 - adds its routes to the API blueprint
    from app.tasks import views as tasks_views
    from app.tenancy import views as tenancy_views
    app.register_blueprint(security_views.bp)
    app.register_blueprint(org_views.bp)
    app.register_blueprint(org_admin.bp)
    app.register_blueprint(directory_views.bp)
    app.register_blueprint(tenancy_views.bp)
    app.register_blueprint(policy_admin.bp)
    app.register_blueprint(org_me.bp)
    app.register_blueprint(chat_views.bp)
    app.register_blueprint(ding_views.bp)
    app.register_blueprint(announce_views.bp)
    app.register_blueprint(tasks_views.bp)
    app.register_blueprint(circle_views.bp)
    app.register_blueprint(approvals_views.bp)
    app.register_blueprint(attendance_views.bp)
    app.register_blueprint(event_views.bp)
    app.register_blueprint(contacts_views.bp)
    app.register_blueprint(switchboard_views.bp)
    app.register_blueprint(notify_views.bp)
    app.register_blueprint(notify_views.admin_bp)
    app.register_blueprint(api_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(integrations_admin.bp)
    chat = settings.chat
    app.config["ATRIUM_CHAT_RULES"] = ChatRules(
        chat.max_message_length, chat.edit_minutes, chat.recall_minutes, chat.rate_messages, chat.rate_seconds,
        chat.max_attachment_mb * 1024 * 1024, chat.max_group_members)
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["MAX_CONTENT_LENGTH"], (chat.max_attachment_mb + 1) * 1024 * 1024)
    return app


def read_secret_key(settings: Settings) -> str | None:
    """The install's secret key from its file, or None before `atrium init` made one."""
    try:
        key = settings.secret_key_path.read_text().strip()
    except FileNotFoundError:
        return None
    return key or None
