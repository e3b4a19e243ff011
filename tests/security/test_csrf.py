"""CSRF: every state-changing browser route refuses a request without its session's token, and changes nothing;
the API counts a browser session for nothing."""
from __future__ import annotations

import pytest

from tests.security.probe import UNSAFE, Probe, url_map_rules
from tests.security.routes import API, PUBLIC, ROUTES


def _unsafe(api: bool):
    found = [(e, m) for e, m, _rule in url_map_rules()
             if e in ROUTES and (ROUTES[e].access == API) == api and (m in UNSAFE or api)
             and not (api and ROUTES[e].access == PUBLIC)]
    return pytest.mark.parametrize(("endpoint", "method"), found, ids=[f"{e}-{m}" for e, m in found])


@_unsafe(api=False)
def test_state_changing_browser_routes_need_the_sessions_token(world, endpoint, method):
    probe = Probe(world, endpoint, method, ROUTES[endpoint])
    home, foreign = probe.sides.home, probe.sides.foreign
    actor = None if probe.entry.access == PUBLIC else probe.entry.actor
    # The token of another session (another person's, another tenant's), a made-up one, none at all.
    other = home.actors["outsider" if actor != "outsider" else "peer"]
    tokens = {"no token": None, "an empty token": "", "a made-up token": "x" * 43,
              "another person's token": other.csrf, "another tenant's token": foreign.actors["owner"].csrf}
    before = world.fingerprint()
    for case, token in tokens.items():
        answer = probe.send(actor_key=actor, actor_side=home if actor else None, ids_side=home, csrf=token)
        assert answer.status == 400, f"{method} {endpoint} with {case}: {answer.status}"
        assert "This form has expired" in answer.body, f"{method} {endpoint} with {case}: no clear error"
        assert world.fingerprint() == before, f"{method} {endpoint} with {case} changed data"


@_unsafe(api=True)
def test_the_api_ignores_browser_sessions(world, endpoint, method):
    """A logged-in browser (session cookie and even its CSRF token) without a bearer token gets 401."""
    entry = ROUTES[endpoint]
    probe = Probe(world, endpoint, method, entry)
    before = world.fingerprint()
    answer = probe.send(actor_key=entry.actor, actor_side=probe.sides.home, ids_side=probe.sides.home,
                        session_only=True)
    assert answer.status == 401, f"{method} {endpoint} with a browser session: {answer.status}"
    assert world.fingerprint() == before


def test_a_request_no_route_takes_is_answered_404_or_405_not_as_an_expired_form(world):
    """The token is checked for a view that would run; with none, the answer is that there is no such page."""
    side = world.home
    owner = side.actors["owner"]
    client = world.client(owner)
    base = f"http://{side.host}"
    assert client.post("/no/such/page", base_url=base).status_code == 404
    assert client.post("/api/v1/no-such-call", base_url=base).status_code == 404
    assert client.delete("/chat/", base_url=base).status_code == 405
    answer = client.post("/people", base_url=base)
    assert answer.status_code == 405 and "GET" in answer.headers["Allow"]
