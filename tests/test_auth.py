"""Login, sessions, CSRF, throttling and deactivation."""
import pytest

from app.org.models import Person
from app.org.service import deactivate_person, reactivate_person
from tests.conftest import TEST_PASSWORD, csrf_from, login, make_person, post_form


def test_login_and_logout(client, member):
    page = client.get("/login")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.get_data(as_text=True)
    response = login(client, "bob")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Bob Member" in home.get_data(as_text=True)
    response = post_form(client, "/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_name_is_case_insensitive(client, member):
    assert login(client, "  BOB ").status_code == 302


def test_session_cookie_flags(client, member):
    response = login(client, "bob")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_behind_tls(client, member):
    page = client.get("/login", base_url="https://localhost")
    response = client.post("/login", base_url="https://localhost", data={
        "login": "bob", "password": TEST_PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert "Secure" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in response.headers


@pytest.mark.parametrize("name, password, status", [
    ("bob", "wrong-password", 401), ("nobody", TEST_PASSWORD, 401), ("bob", "", 400), ("", "", 400),
    ("*", TEST_PASSWORD, 401), ("bob' OR '1'='1", TEST_PASSWORD, 401),
])
def test_bad_logins_are_refused_with_one_message(client, member, name, password, status):
    response = login(client, name, password)
    assert response.status_code == status
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_login_look_the_same(client, member):
    a = login(client, "bob", "wrong-password").get_data(as_text=True)
    b = login(client, "nobody", "wrong-password").get_data(as_text=True)
    assert "not correct" in a and "not correct" in b


def test_login_without_csrf_token_is_refused(client, member):
    client.get("/login")
    response = client.post("/login", data={"login": "bob", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    response = client.post("/login", data={"login": "bob", "password": TEST_PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400


def test_state_changing_requests_need_csrf(client, admin, member):
    login(client, "alice")
    for path in ("/logout", f"/admin/people/{member.id}/deactivate", "/admin/people/new", "/admin/departments/new"):
        assert client.post(path, data={"display_name": "X"}).status_code == 400, path
    assert Person.get_by_id(member.id).is_active


def test_repeated_failures_are_throttled_per_account(client, member, app):
    limit = app.config["ATRIUM"].login.max_failures
    for _ in range(limit):
        assert login(client, "bob", "wrong-password").status_code == 401
    response = login(client, "bob")  # even the right password waits now
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Another account from the same address is not locked by bob's failures.
    make_person(member.tenant, "carol")
    assert login(client, "carol").status_code == 302


@pytest.fixture
def settings_overrides(request):
    if request.node.get_closest_marker("address_limit"):
        return {"login": {"max_failures": 100, "max_failures_per_address": 3}}
    return {}


@pytest.mark.address_limit
def test_repeated_failures_are_throttled_per_address(client, member):
    for name in ("x1", "x2", "x3"):
        login(client, name, "wrong-password")
    assert login(client, "bob").status_code == 429


def test_success_clears_the_failure_count(client, member, app):
    limit = app.config["ATRIUM"].login.max_failures
    for _ in range(limit - 1):
        login(client, "bob", "wrong-password")
    assert login(client, "bob").status_code == 302
    post_form(client, "/logout")
    for _ in range(limit - 1):
        login(client, "bob", "wrong-password")
    assert login(client, "bob").status_code == 302


def test_deactivated_person_cannot_log_in_and_open_sessions_end(app, member, admin):
    bob = app.test_client()
    assert login(bob, "bob").status_code == 302
    assert bob.get("/").status_code == 200
    deactivate_person(Person.get_by_id(member.id))
    assert bob.get("/").status_code == 302          # the open session stopped working
    assert login(bob, "bob").status_code == 401       # and no new one
    reactivate_person(Person.get_by_id(member.id))
    assert bob.get("/").status_code == 302            # reactivation does not revive old sessions
    assert login(bob, "bob").status_code == 302


def test_admin_deactivation_through_the_page_ends_sessions(app, admin, member):
    bob, alice = app.test_client(), app.test_client()
    login(bob, "bob")
    login(alice, "alice")
    response = post_form(alice, f"/admin/people/{member.id}/deactivate", page=f"/admin/people/{member.id}")
    assert response.status_code == 302
    assert bob.get("/").status_code == 302
    assert Person.get_by_id(member.id).deactivated_by == "admin"


def test_one_time_password_must_be_changed(client, tenant):
    make_person(tenant, "dan", must_change_password="1")
    assert login(client, "dan").headers["Location"] == "/password"
    assert client.get("/people").headers["Location"] == "/password"
    page = client.get("/password").get_data(as_text=True)
    token = csrf_from(page)
    bad = client.post("/password", data={"csrf_token": token, "current_password": TEST_PASSWORD,
                                         "new_password": "short", "confirm_password": "short"})
    assert bad.status_code == 400 and "at least 10" in bad.get_data(as_text=True)
    same = client.post("/password", data={"csrf_token": token, "current_password": TEST_PASSWORD,
                                          "new_password": TEST_PASSWORD, "confirm_password": TEST_PASSWORD})
    assert same.status_code == 400
    ok = client.post("/password", data={"csrf_token": token, "current_password": TEST_PASSWORD,
                                        "new_password": "a-much-better-one", "confirm_password": "a-much-better-one"})
    assert ok.status_code == 302
    assert client.get("/people").status_code == 200
    post_form(client, "/logout")
    assert login(client, "dan", "a-much-better-one").headers["Location"] == "/"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, member, target):
    page = client.get("/login?next=" + target)
    response = client.post("/login?next=" + target, data={
        "login": "bob", "password": TEST_PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/"


def test_login_returns_to_the_page_asked_for(client, member):
    first = client.get("/people?q=x")
    assert first.status_code == 302
    target = first.headers["Location"]
    page = client.get(target)
    response = client.post(target, data={"login": "bob", "password": TEST_PASSWORD,
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/people?q=x"


def test_security_headers(client, tenant):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
