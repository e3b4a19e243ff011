"""Error pages: branded, plain, and never a traceback."""
from __future__ import annotations

import traceback

import peewee
from flask import Response, jsonify, render_template, request
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError


def _messages():
    return {
        400: _("The request could not be understood. If you were sending a form, reload the page and try again."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist."),
        405: _("This page does not accept that kind of request."),
        413: _("What you sent is too large."),
        429: _("Too many requests. Wait a moment and try again."),
        500: _("Something went wrong on our side. The problem has been logged."),
        503: _("The service is not available right now. Try again shortly."),
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(code: int, description: str | None = None, public_message=None) -> Response:
    """The error as a branded page, or JSON for the API; a plain page if even that fails.

    public_message, when an exception carries one (app.security.permissions.Refused), says why in the person's words.
    """
    messages = _messages()
    message = str(public_message) if public_message else messages.get(code, messages[500] if code >= 500 else messages[400])
    if description == "csrf":
        message = _("This form has expired. Reload the page and try again.")
    if _wants_json():
        response = jsonify(error=message, status=code)
    else:
        try:
            response = Response(render_template("error.html", code=code, message=message), mimetype="text/html")
        except Exception:  # the page itself failed (say, the database is down): answer plainly
            response = Response(f"<!doctype html><title>{code}</title><p>{escape(message)}</p>", mimetype="text/html")
    response.status_code = code
    return response


def init_app(app) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        response = render_error(exc.code or 500, exc.description if exc.description == "csrf" else None,
                                getattr(exc, "public_message", None))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        # The operator's log gets the traceback; the browser gets a plain page.
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        if isinstance(exc, peewee.OperationalError):
            # The database is down or unreachable: say so, log one line without the driver's text.
            app.logger.error("database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.path)
            return render_error(503)
        # Where it failed, but not the exception's text: that can carry row values (customer data).
        frames = "".join(traceback.format_tb(exc.__traceback__))
        app.logger.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.path, frames)
        return render_error(InternalServerError.code)
