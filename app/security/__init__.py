"""Authentication, sessions, CSRF and response headers."""
from __future__ import annotations

from flask import request
from flask.sessions import SecureCookieSessionInterface

# Submodules are imported in init_app: app.org.models takes the role names from app.security.permissions,
# so importing this package must not pull in the org chart.


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies are Secure whenever the request came over TLS (directly or through a trusted proxy)."""

    def get_cookie_secure(self, app):
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_app(app) -> None:
    from app.security import auth, csrf, permissions, watermark

    app.session_interface = _SessionInterface()
    app.before_request(auth.check_tenant_address)   # an address outside a tenant-wide allow-list goes no further
    csrf.init_app(app)
    app.before_request(auth.load_person)
    app.jinja_env.globals["can"] = permissions.can
    app.context_processor(lambda: {"watermark": watermark.text_for_page})

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if "text/html" in response.content_type:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
