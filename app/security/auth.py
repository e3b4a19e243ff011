"""Who is logged in: session handling, authentication and the view guards."""
from __future__ import annotations

import functools
import time
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.exceptions import Forbidden

from app.db import utcnow
from app.org.ldap.login import DirectoryUnavailable, check_directory_password
from app.org.models import Person
from app.security import throttle
from app.security.passwords import verify_password
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope


class LoginRefused(Exception):
    """Authentication failed; `reason` is invalid, throttled, empty or unavailable; `retry_after` when throttled."""

    def __init__(self, reason: str, retry_after: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def authenticate(tenant: Tenant, login: str, password: str, address: str, rules) -> Person:
    """The person whose login and password these are, or LoginRefused; records failures for throttling."""
    login = (login or "").strip().lower()[:128]
    if not login or not password:
        raise LoginRefused("empty")
    wait = throttle.seconds_until_allowed(tenant, login, address, rules)
    if wait:
        raise LoginRefused("throttled", wait)
    person = TenantScope(tenant).select(Person).where(Person.login == login).first()
    if person is not None and person.is_integration:
        person = None   # an integration acts through its API tokens only; to the login form it does not exist
    if person is not None and person.source == "directory":
        try:
            ok = person.is_active and check_directory_password(tenant, person, password)
        except DirectoryUnavailable:
            raise LoginRefused("unavailable") from None
    else:
        ok = verify_password(person.password_hash if person else None, password)
    if not ok or not person.is_active:
        throttle.record_failure(tenant, login, address)
        raise LoginRefused("invalid")
    throttle.clear_failures(tenant, login)
    return person


def start_session(person: Person) -> None:
    """Log the person in: a fresh session (no fixation), bound to tenant and session epoch."""
    session.clear()
    session.permanent = True
    session["pid"] = person.id
    session["tid"] = person.tenant_id
    session["epoch"] = person.session_epoch
    session["at"] = int(time.time())
    person.last_login_at = utcnow()
    person.save(only=[Person.last_login_at])


def end_session() -> None:
    session.clear()


def load_person() -> None:
    """Put the logged-in person on g, or None; a deactivated person or stale session logs out at once."""
    g.person = None
    pid = session.get("pid")
    if pid is None or g.get("tenant") is None:
        return
    person = None
    if session.get("tid") == g.tenant.id:
        person = TenantScope(g.tenant).get_or_none(Person, pid)
    if person is None or not person.is_active or person.session_epoch != session.get("epoch"):
        session.clear()
        return
    g.person = person


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None for anything that could leave the site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def login_required(view):
    """Send anonymous visitors to the login page; a person with a one-time password must change it first."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("person") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if g.person.must_change_password and request.endpoint not in ("auth.password", "auth.logout"):
            return redirect(url_for("auth.password"))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Only the tenant's admins; others get 403."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not g.person.is_admin:
            raise Forbidden()
        return view(*args, **kwargs)

    return wrapped


def client_address() -> str:
    return request.remote_addr or "unknown"


def login_rules():
    return current_app.config["ATRIUM"].login
