"""What leaves the server: cookies, headers on every response, error pages (HTML and JSON) and the log.

None may carry a secret (the install's key, passwords, the bind password, token
secrets, the database's address), a traceback, or another tenant's name.
"""
from __future__ import annotations

import base64
import json
import zlib

import pytest

from tests.conftest import TEST_PASSWORD, make_settings
from tests.ldap.builder import SERVICE_PASSWORD, Directory
from tests.ldap.conftest import configure, pki, slapd  # noqa: F401 - the directory's real server
from tests.security.probe import Probe, rule_for
from tests.security.routes import PUBLIC, ROUTES

SESSION_KEYS = {"pid", "tid", "epoch", "at", "seen", "_csrf", "_permanent", "_flashes"}   # seen: the idle limit's clock


@pytest.fixture(scope="module")
def secrets(world, slapd):  # noqa: F811
    """Every secret the install holds that a response could give away, with the home tenant's bind password set."""
    with world.app.app_context():
        directory = Directory(slapd, "openldap").load()
        configure(world.home.tenant, directory)
        directory.close()
    settings = world.app.config["ATRIUM"]
    found = {"secret key": world.app.config["SECRET_KEY"], "database url": world.database_url,
             "database address": world.database_url.split("://", 1)[1].split("/", 1)[0],
             "bind password": SERVICE_PASSWORD, "a password": TEST_PASSWORD, "data dir": str(settings.data_dir)}
    for side in world.sides.values():
        found.update({f"{side.slug} {key}": value for key, value in side.ids.items() if key.endswith("_secret")})
        found.update({f"{side.slug} password hash": side.people["owner"].password_hash})
    return {name: value for name, value in found.items() if value}


def leaks(body: str, secrets: dict, world) -> list[str]:
    found = [name for name, value in secrets.items() if value and value in body]
    found += [marker for marker in ("Traceback", 'File "', "postgresql://", "sqlite:///", "Werkzeug Debugger")
              if marker in body]
    if "s3nt-acme-" in body:
        found.append("the other tenant's data")
    return found


# --- cookies -------------------------------------------------------------------------------------

def _session(cookie_value: str) -> dict:
    """The session cookie's payload (signed, not encrypted: anyone holding the cookie can read it)."""
    payload = cookie_value.split(".")[0 if not cookie_value.startswith(".") else 1]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.loads(zlib.decompress(data) if cookie_value.startswith(".") else data)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_session_cookie_is_locked_down_and_holds_no_secret(world, secrets, scheme):
    side = world.home
    person = side.people["owner"]
    client = world.app.test_client()
    base = f"{scheme}://{side.host}"
    from tests.conftest import csrf_from

    token = csrf_from(client.get("/login", base_url=base).get_data(as_text=True))
    response = client.post("/login", base_url=base, data={"login": person.login, "password": TEST_PASSWORD,
                                                           "csrf_token": token})
    assert response.status_code == 302
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("atrium_session="))
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert "httponly" in attributes and "samesite=lax" in header.lower()
    assert ("secure" in attributes) == (scheme == "https"), header
    payload = _session(header.split(";")[0].split("=", 1)[1])
    assert set(payload) <= SESSION_KEYS, payload
    assert payload["pid"] == person.id and payload["tid"] == side.tenant.id
    assert not leaks(json.dumps(payload), secrets, world)


# --- headers on every response -------------------------------------------------------------------

def _headers_problems(response) -> list[str]:
    headers = response.headers
    problems = []
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    script = directives.get("script-src") or directives.get("default-src") or ""
    if not csp or "'unsafe-inline'" in script or "'unsafe-eval'" in script or not script:
        problems.append(f"Content-Security-Policy {csp!r}")
    if "frame-ancestors 'none'" not in csp and headers.get("X-Frame-Options") != "DENY":
        problems.append("framing allowed")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if not headers.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    if "Server" in headers and "/" in headers["Server"]:
        problems.append(f"Server {headers['Server']!r}")
    return problems


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_every_page_sends_the_security_headers(world, secrets, scheme):
    """Each route's answer to the person it is for, and to nobody, has them (HSTS too over TLS)."""
    problems = []
    for endpoint, entry in ROUTES.items():
        rule = rule_for(world.app, endpoint)
        if "GET" not in rule.methods or entry.stream:
            continue
        probe = Probe(world, endpoint, "GET", entry)
        actor = None if entry.access == PUBLIC else entry.actor
        host = probe.sides.home.host
        for who in {actor, None}:
            client = world.client(probe.sides.home.actors[who] if who and not probe.api else None, host=host)
            headers = {"Authorization": f"Bearer {probe.sides.home.actors[who].token}"} if who and probe.api else {}
            response = client.get(probe.url(probe.sides.home, probe.sides.home), base_url=f"{scheme}://{host}",
                                  headers=headers)
            found = _headers_problems(response)
            if scheme == "https" and "max-age=" not in response.headers.get("Strict-Transport-Security", ""):
                found.append("no HSTS over TLS")
            found += [f"leaks {leak}" for leak in leaks(response.get_data().decode("utf-8", "replace"), secrets, world)
                      if leak != "the other tenant's data" or not entry.lists_tenants]
            response.close()
            problems += [f"GET {endpoint} as {who or 'anonymous'}: {p}" for p in found]
    assert not problems, "\n".join(problems)


# --- error pages ---------------------------------------------------------------------------------

def _raise_with_secrets(secrets):
    def view(*args, **kwargs):
        raise RuntimeError("boom: " + " ".join(secrets.values()))
    return view


def _error_answers(world, secrets, monkeypatch):
    """(what, status, response) for 400, 403, 404, 405, 413 and 500 pages, and 401, 404, 405 and 500 API JSON."""
    side = world.home
    base = f"http://{side.host}"
    member = world.client(side.actors["owner"])
    token = {"Authorization": f"Bearer {side.actors['owner'].token}"}
    monkeypatch.setitem(world.app.view_functions, "org.people", _raise_with_secrets(secrets))
    monkeypatch.setitem(world.app.view_functions, "api.me", _raise_with_secrets(secrets))
    yield "400 page", 400, member.post("/chat/read-all", base_url=base, data={"csrf_token": "forged"})
    yield "403 page", 403, member.get("/admin/people", base_url=base)
    yield "404 page", 404, member.get("/no/such/page", base_url=base)
    yield "404 page of an unknown host", 404, world.app.test_client().get("/", base_url="http://unknown.example")
    yield "405 page", 405, member.post("/people", base_url=base)
    too_large = b"x" * (world.app.config["MAX_CONTENT_LENGTH"] + 1)
    yield "413 page", 413, member.post("/login", base_url=base, data=too_large,
                                       content_type="application/x-www-form-urlencoded")
    yield "500 page", 500, member.get("/people", base_url=base)
    yield "401 JSON", 401, world.app.test_client().get("/api/v1/departments", base_url=base)
    yield "404 JSON", 404, world.app.test_client().get("/api/v1/people/999999", base_url=base, headers=token)
    yield "405 JSON", 405, world.app.test_client().put("/api/v1/me", base_url=base, headers=token)
    yield "500 JSON", 500, world.app.test_client().get("/api/v1/me", base_url=base, headers=token)


def test_error_pages_show_no_secret_no_traceback_and_no_other_tenant(world, secrets, monkeypatch, caplog):
    problems = []
    for what, status, response in _error_answers(world, secrets, monkeypatch):
        body = response.get_data(as_text=True)
        if response.status_code != status:
            problems.append(f"{what}: status {response.status_code}")
        wants_json = "JSON" in what
        if wants_json != (response.mimetype == "application/json"):
            problems.append(f"{what}: answered as {response.mimetype}")
        if wants_json and not json.loads(body).get("error"):
            problems.append(f"{what}: body {body[:100]}")
        problems += [f"{what}: leaks {leak}" for leak in leaks(body, secrets, world)]
        problems += [f"{what}: {p}" for p in _headers_problems(response)]
        if what == "404 page of an unknown host" and "s3nt-" in body:
            problems.append(f"{what}: names a tenant")
    # The operator's log says where it failed, but not the exception's text (it carried the secrets).
    logged = caplog.text
    assert "unhandled RuntimeError on GET /people" in logged
    problems += [f"the log holds {name}" for name, value in secrets.items() if value in logged]
    assert not problems, "\n".join(problems)


def test_the_directory_settings_never_show_the_bind_password(world, secrets):
    side = world.home
    client = world.client(side.actors["admin"])
    base = f"http://{side.host}"
    page = client.get("/admin/directory/", base_url=base)
    assert page.status_code == 200 and "bind_password" in page.get_data(as_text=True)
    tested = client.post("/admin/directory/test", base_url=base, data={"csrf_token": side.actors["admin"].csrf})
    shown = client.get(tested.headers["Location"], base_url=base).get_data(as_text=True)
    assert "Connected to" in shown
    for body in (page.get_data(as_text=True), shown):
        assert not leaks(body, secrets, world)


# --- behind a reverse proxy ----------------------------------------------------------------------

def test_behind_a_trusted_proxy_tls_is_read_from_x_forwarded_proto(world, tmp_path):
    """Cookies are Secure and HSTS is sent when the proxy says the request came over TLS, and only then.

    Last in the module: a second application re-points the process-wide database and blob stores.
    """
    from app import create_app

    proxied = create_app(make_settings(tmp_path, world.database_url, trusted_proxies=1))
    side = world.home
    for proto, secure in (("https", True), ("http", False)):
        client = proxied.test_client()
        page = client.get("/login", base_url=f"http://{side.host}", headers={"X-Forwarded-Proto": proto})
        assert ("Strict-Transport-Security" in page.headers) == secure
        cookie = page.headers.get("Set-Cookie", "")
        assert cookie.startswith("atrium_session=") and ("; Secure" in cookie) == secure
    # Without a trusted proxy, the header is anyone's to send: it changes nothing.
    page = world.app.test_client().get("/login", base_url=f"http://{side.host}",
                                       headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in page.headers and "; Secure" not in page.headers.get("Set-Cookie", "")
