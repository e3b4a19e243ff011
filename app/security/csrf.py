"""CSRF protection: every state-changing browser request carries the session's token."""
from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_exempt: set[str] = set()


def csrf_token() -> str:
    """The session's token, made on first use; templates put it in every form."""
    token = session.get("_csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["_csrf"] = token
    return token


def exempt(view):
    """Mark a view that authenticates by other means (API tokens) as not needing the token."""
    _exempt.add(f"{view.__module__}.{view.__name__}")
    return view


def init_app(app) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def _check_csrf():
        if request.method not in UNSAFE_METHODS or request.url_rule is None:
            return None   # safe, or no view will run: the 404 or 405 is the answer
        view = app.view_functions.get(request.endpoint)
        if view is not None and f"{view.__module__}.{view.__name__}" in _exempt:
            return None
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get("_csrf") or ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            abort(400, description="csrf")
        return None
