"""Every route of the URL map, asked by the wrong people: another tenant, another person, the deactivated, nobody.

Each must be refused (404, 403, the login page; 401 for the API without a valid
token), never answer with someone else's data, never fail with a 5xx, and
change nothing; and each must work for the person it is for. A route without
an entry in tests/security/routes.py fails here, by name.
"""
from __future__ import annotations


from tests.security.probe import Probe, rule_for, url_map_rules
from tests.security.routes import API, ROUTES, Fixed


def _order(item):
    names = list(ROUTES)
    return names.index(item[0]) if item[0] in names else len(names)


def pytest_generate_tests(metafunc):
    if "endpoint" in metafunc.fixturenames:
        # Table order: the allowed cases that change the world (recall, delete) come after those that read it.
        rules = sorted(url_map_rules(), key=_order)
        metafunc.parametrize(("endpoint", "method"), [(e, m) for e, m, _rule in rules],
                             ids=[f"{e}-{m}" for e, m, _rule in rules])


def test_every_route_has_an_entry():
    missing = sorted({endpoint for endpoint, _method, _rule in url_map_rules() if endpoint not in ROUTES})
    assert not missing, f"routes without an entry in tests/security/routes.py: {', '.join(missing)}"


def test_every_entry_names_a_route_and_its_variables(app):
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    stale = sorted(set(ROUTES) - set(rules))
    assert not stale, f"entries for routes that no longer exist: {', '.join(stale)}"
    for endpoint, entry in ROUTES.items():
        arguments = rules[endpoint].arguments
        assert set(entry.ids) == set(arguments), f"{endpoint}: ids must fill {arguments}"
        assert (entry.access == API) == rules[endpoint].rule.startswith("/api/") or endpoint == "api.openapi", endpoint
        for value in entry.ids.values():
            assert isinstance(value, (str, Fixed)), endpoint


def test_route(world, endpoint, method, monkeypatch):
    entry = ROUTES.get(endpoint)
    assert entry is not None, (f"{endpoint} ({rule_for(world.app, endpoint).rule}) has no entry in "
                               "tests/security/routes.py: add one saying who may use it")
    if entry.stream:
        # The replay ends at the first heartbeat; it need not take the production interval.
        monkeypatch.setattr("app.events.views.HEARTBEAT_SECONDS", 0.05)
    failures = Probe(world, endpoint, method, entry).run()
    assert not failures, "\n".join(failures)
