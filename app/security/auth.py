"""Who is logged in: session handling, authentication and the view guards."""
from __future__ import annotations

import functools
import time
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.db import utcnow
from app.org.ldap.login import DirectoryUnavailable, check_directory_password
from app.org.models import Person
from app.security import throttle
from app.security.passwords import verify_password
from app.security.permissions import ADMIN, TENANT_MANAGE, Refused, is_staff, permission_required
from app.security.policy import Policy, address_allowed, forget_cached, policy_for
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope

# Requests a page makes by itself (the live stream, its polls): they do not keep an idle session alive.
BACKGROUND_ENDPOINTS = {"events.stream", "ding.pending_alerts", "chat.read"}
# What an address outside a tenant-wide allow-list may still fetch: the brand its refusal page is drawn with.
ADDRESS_EXEMPT_ENDPOINTS = {"static", "brand.stylesheet", "brand.asset", "brand.favicon"}
_SEEN_GRANULARITY = 30   # seconds; the idle clock is not rewritten on every request


class LoginRefused(Exception):
    """Authentication failed; `reason` is invalid, throttled, empty, unavailable, locked, directory_only or
    address; `retry_after` when throttled."""

    def __init__(self, reason: str, retry_after: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def authenticate(tenant: Tenant, login: str, password: str, address: str, rules, policy: Policy | None = None) -> Person:
    """The person whose login and password these are, or LoginRefused; records failures for throttling and lock-out.

    Only a correct password learns why an existing account is refused (locked, directory only, address), so the
    answers never tell whether a login name exists.
    """
    policy = policy or Policy()
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
        if person is not None:
            throttle.note_failed_login(person, policy.login.lockout_after)
        raise LoginRefused("invalid")
    if person.locked_at is not None:
        raise LoginRefused("locked")
    if policy.login.directory_only and person.source == "local" and person.role != ADMIN:
        raise LoginRefused("directory_only")   # admins keep their local password, so no tenant locks itself out
    if policy.login.ip_scope == "admins" and is_staff(person) and not address_allowed(policy, address):
        raise LoginRefused("address")
    throttle.clear_failures(tenant, login)
    throttle.note_successful_login(person)
    return person


def start_session(person: Person) -> None:
    """Log the person in: a fresh session (no fixation), bound to tenant and session epoch."""
    session.clear()
    session.permanent = True
    session["pid"] = person.id
    session["tid"] = person.tenant_id
    session["epoch"] = person.session_epoch
    session["at"] = session["seen"] = int(time.time())
    person.last_login_at = utcnow()
    person.save(only=[Person.last_login_at])


def end_session() -> None:
    session.clear()


def session_deadline(policy: Policy, now: float | None = None) -> tuple[float | None, str | None]:
    """(when the current session ends under the tenant's policy, why: "lifetime" or "idle"); (None, None) if never."""
    now = time.time() if now is None else now
    started = session.get("at", now)
    seen = session.get("seen", started)
    ends = []
    if policy.login.session_hours:
        ends.append((started + policy.login.session_hours * 3600, "lifetime"))
    if policy.login.idle_minutes:
        ends.append((seen + policy.login.idle_minutes * 60, "idle"))
    return min(ends) if ends else (None, None)


def _session_ended(policy: Policy, reason: str) -> None:
    session.clear()
    if request.endpoint in BACKGROUND_ENDPOINTS or request.blueprint == "api":
        return
    if reason == "idle":
        flash(_("You were logged out after %(n)d minutes without activity. Log in again.",
                n=policy.login.idle_minutes), "info")
    else:
        flash(_("Your session has ended. Log in again."), "info")


def load_person() -> None:
    """Put the logged-in person on g, or None; a deactivated person, a stale or an expired session logs out at once."""
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
    policy = policy_for(g.tenant)
    now = time.time()
    deadline, reason = session_deadline(policy, now)
    if deadline is not None and now >= deadline:
        _session_ended(policy, reason)
        return
    if request.endpoint not in BACKGROUND_ENDPOINTS and now - session.get("seen", 0) >= _SEEN_GRANULARITY:
        session["seen"] = int(now)
    g.person = person


def check_tenant_address() -> None:
    """Refuse every request from outside a tenant-wide allow-list (403 with a branded page)."""
    forget_cached()
    tenant = g.get("tenant")
    if tenant is None or request.endpoint in ADDRESS_EXEMPT_ENDPOINTS:
        return
    policy = policy_for(tenant)
    if policy.login.ip_scope == "tenant" and not address_allowed(policy, client_address()):
        raise Refused(_l("Your network address is not allowed to reach this organisation. Connect from the office "
                         "network or VPN, or ask an admin."))


def check_admin_address() -> None:
    """Refuse an admin page to an address outside an allow-list that applies to admins (or to the whole tenant)."""
    policy = policy_for(g.tenant)
    if policy.login.ip_scope != "off" and not address_allowed(policy, client_address()):
        raise Refused(_l("Admin pages cannot be reached from your network address. Connect from the office network "
                         "or VPN."))


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
    """Only the tenant's admins: the same as permission_required("tenant.manage")."""
    return permission_required(TENANT_MANAGE)(view)


def client_address() -> str:
    return request.remote_addr or "unknown"


def login_rules():
    return current_app.config["ATRIUM"].login
