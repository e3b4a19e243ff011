"""Sending one route's requests as the world's people, and judging the answers."""
from __future__ import annotations

import collections
import functools
import io
import mimetypes
import tempfile
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from werkzeug.datastructures import FileStorage

from tests.security.conftest import FOREIGN, HOME, Side, World, form, sentinel
from tests.security.routes import ADMIN, API, OPERATOR, PUBLIC, STAFF, File, Fixed, Route

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@functools.lru_cache(maxsize=1)
def url_map_rules() -> tuple[tuple[str, str, str], ...]:
    """(endpoint, method, rule) for every rule of the application, read from an app built on a scratch database."""
    from app import create_app
    from tests.conftest import make_settings

    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(make_settings(Path(scratch), f"sqlite:///{scratch}/scratch.db"))
        return tuple((rule.endpoint, method, rule.rule) for rule in app.url_map.iter_rules()
                     for method in sorted(rule.methods - IGNORED_METHODS))


def rule_for(app, endpoint: str):
    return next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)


class Sides:
    """Which tenant a route is looked at from: the operator's pages from the install's default tenant."""

    def __init__(self, world: World, entry: Route):
        if entry.access == OPERATOR:
            self.home, self.foreign = world.sides[FOREIGN], world.sides[HOME]
        else:
            self.home, self.foreign = world.sides[HOME], world.sides[FOREIGN]


class OutOfRange(Side):
    """Ids no database row can have (past 64 bits), for every object of the world."""

    def __init__(self):
        super().__init__("nowhere", ids=collections.defaultdict(lambda: 10**30))

    def sentinel(self, key: str) -> str:
        return str(10**30)


def resolve(value, side: Side):
    """A table value filled from one side of the world: "id:KEY", "search:KEY", Fixed, File, lists of those."""
    if isinstance(value, Fixed):
        return value.value
    if isinstance(value, File):   # read by the request: a fresh one each time
        return FileStorage(io.BytesIO(value.data), filename=value.name,
                           content_type=mimetypes.guess_type(value.name)[0] or "application/octet-stream")
    if isinstance(value, list):
        return [resolve(v, side) for v in value]
    if isinstance(value, str) and value.startswith("id:"):
        return side.ids[value[3:]]
    if isinstance(value, str) and value.startswith("search:"):
        # What finds the sentinel without being it: a page that echoes the query shows no sentinel by that.
        return side.sentinel(value[7:]).removeprefix("s3nt-")
    return value


def has_tenant_values(mapping) -> bool:
    """True when some value names an object or sentinel of the world (and so differs between tenants)."""
    def names_world(value) -> bool:
        if isinstance(value, list):
            return any(names_world(v) for v in value)
        return isinstance(value, str) and value.startswith(("id:", "search:"))

    return any(names_world(v) for v in (mapping or {}).values())


class Answer:
    def __init__(self, response, body: str):
        self.status = response.status_code
        self.location = response.headers.get("Location", "")
        self.body = body
        self.headers = response.headers

    @property
    def to_login(self) -> bool:
        return self.status in (302, 303) and urlsplit(self.location).path == "/login"


class Probe:
    """One route and method, asked as each kind of person; collects every way an answer is wrong."""

    def __init__(self, world: World, endpoint: str, method: str, entry: Route):
        self.world, self.endpoint, self.method, self.entry = world, endpoint, method, entry
        self.sides = Sides(world, entry)
        self.rule = rule_for(world.app, endpoint)
        self.api = entry.access == API
        self.failures: list[str] = []

    # --- building and sending requests ---------------------------------------------------------

    def url(self, ids_side: Side, query_side: Side) -> str:
        values = {name: resolve(key if isinstance(key, Fixed) else f"id:{key}", ids_side)
                  for name, key in self.entry.ids.items()}
        path = self.world.app.url_map.bind(self.sides.home.host).build(self.endpoint, values, method=self.method)
        query = {k: resolve(v, query_side) for k, v in self.entry.query.items()}
        return path + ("?" + urlencode(query) if query else "")

    def send(self, *, actor_key: str | None, actor_side: Side | None, ids_side: Side, data_side: Side | None = None,
             host_side: Side | None = None, csrf: str | None = "session", session_only: bool = False) -> Answer:
        """The request as this person (None: anonymous), with ids and body values from the given sides.

        csrf is the token sent with an unsafe browser request: the session's own by default, or the given one
        (None: no token). session_only sends an API request with the person's browser session instead of a token.
        """
        data_side = data_side or ids_side
        host = (host_side or self.sides.home).host
        actor = actor_side.actors[actor_key] if actor_key is not None else None
        client = self.world.client(actor if not self.api or session_only else None, host=host)
        kwargs = {"base_url": f"http://{host}", "method": self.method}
        data = {k: resolve(v, data_side) for k, v in self.entry.data.items()}
        if csrf == "session" and self.method in UNSAFE and not self.api:
            csrf = actor.csrf if actor else self._anonymous_csrf(client, host)
        if self.api:
            headers = {"Authorization": f"Bearer {actor.token}"} if actor and not session_only else {}
            if session_only:
                headers["X-CSRF-Token"] = actor.csrf
            kwargs["headers"] = headers
            if self.method in UNSAFE:
                kwargs["json"] = data
        elif self.method in UNSAFE:
            kwargs["data"] = form(data, csrf)
        if self.entry.stream:
            kwargs["buffered"] = False
        response = client.open(self.url(ids_side, data_side), **kwargs)
        body = self._read(response)
        return Answer(response, body)

    def _anonymous_csrf(self, client, host: str) -> str:
        """An anonymous visitor's own valid CSRF token (from the login page), so only authorization is tested."""
        from tests.conftest import csrf_from

        return csrf_from(client.get("/login", base_url=f"http://{host}").get_data(as_text=True))

    def _read(self, response) -> str:
        if self.entry.stream and response.status_code == 200:
            chunks = []
            for chunk in response.response:
                text = chunk.decode() if isinstance(chunk, bytes) else chunk
                chunks.append(text)
                if text.startswith(":") or len(chunks) > 200:   # the first heartbeat: the replay is over
                    break
            response.close()
            return "".join(chunks)
        try:
            return response.get_data().decode("utf-8", errors="replace")
        finally:
            response.close()

    # --- judging -------------------------------------------------------------------------------

    def fail(self, case: str, answer: Answer, why: str) -> None:
        self.failures.append(f"{self.method} {self.endpoint} [{case}]: {why} (status {answer.status}"
                             f"{', to ' + answer.location if answer.location else ''})")

    def check_leaks(self, case: str, answer: Answer, forbidden: dict[str, str], foreign: Side | None) -> None:
        if answer.status >= 500:
            self.fail(case, answer, "server error")
        shown = [key for key, value in forbidden.items() if value in answer.body]
        if foreign is not None and sentinel(foreign.slug, "") in answer.body:
            shown.append(f"data of tenant {foreign.slug}")
        if shown:
            self.fail(case, answer, f"shows what it must not: {', '.join(shown)}")

    def check_refused(self, case: str, answer: Answer, *, unauthenticated: bool) -> None:
        """Refused: 401 for the API without a valid token; otherwise 403, 404, or the login page."""
        if self.api:
            wanted = (401,) if unauthenticated else (403, 404)
            if answer.status not in wanted:
                self.fail(case, answer, f"not refused with {' or '.join(map(str, wanted))}")
        elif not (answer.status in (403, 404) or answer.to_login):
            self.fail(case, answer, "not refused (403, 404 or the login page)")

    def unchanged(self, case: str, before: str, answer: Answer) -> None:
        if self.method in UNSAFE and self.world.fingerprint() != before:
            self.fail(case, answer, "the refused request changed data")

    # --- the cases -----------------------------------------------------------------------------

    def staff_cases(self, home: Side, foreign: Side) -> None:
        """A department admin and an auditor: refused unless the route names their role; where it does, a page
        (changes are left to the route's own actor) works for them and shows them nothing beyond their role."""
        for staff in STAFF:
            case = {"dept_admin": "a department admin", "auditor": "an auditor"}.get(staff, staff)
            if staff in self.entry.staff:
                if self.method in UNSAFE:
                    continue
                answer = self.send(actor_key=staff, actor_side=home, ids_side=home)
                if answer.status >= 500 or answer.status in (401, 403, 404, 405) or answer.to_login:
                    self.fail(case, answer, "refused or failed for a role it is for")
            else:
                before = self.world.fingerprint() if self.method in UNSAFE else ""
                answer = self.send(actor_key=staff, actor_side=home, ids_side=home)
                self.check_refused(case, answer, unauthenticated=False)
                self.unchanged(case, before, answer)
            self.check_leaks(case, answer, home.hidden_from(staff), foreign)

    def run(self) -> list[str]:
        entry, home, foreign = self.entry, self.sides.home, self.sides.foreign
        url_ids = has_tenant_values({k: f"id:{v}" for k, v in entry.ids.items() if not isinstance(v, Fixed)})
        body_ids = has_tenant_values(entry.query) or (self.method in UNSAFE and has_tenant_values(entry.data))
        actor = None if entry.access == PUBLIC else entry.actor

        # Refused cases first, on the world as it is; then the allowed case (which may change it).
        before = self.world.fingerprint() if self.method in UNSAFE else ""
        if url_ids or body_ids:
            # Another tenant's ids with a session (or token) of this tenant.
            answer = self.send(actor_key=actor, actor_side=home if actor else None, ids_side=foreign)
            if url_ids:
                self.check_refused("another tenant's ids", answer, unauthenticated=False)
            self.check_leaks("another tenant's ids", answer, home.hidden_from(actor) if actor else {}, foreign)
            self.unchanged("another tenant's ids", before, answer)
            if url_ids and body_ids and self.method in UNSAFE:
                # Own object in the URL, another tenant's ids in the body.
                answer = self.send(actor_key=actor, actor_side=home if actor else None, ids_side=home,
                                   data_side=foreign)
                self.check_leaks("another tenant's ids in the body", answer, home.hidden_from(actor), foreign)
                self.unchanged("another tenant's ids in the body", before, answer)
            # Ids past any row's range: no such row (not a failed query).
            answer = self.send(actor_key=actor, actor_side=home if actor else None, ids_side=OutOfRange())
            if url_ids and answer.status != 404:
                self.fail("ids out of range", answer, "not 404")
            self.check_leaks("ids out of range", answer, home.hidden_from(actor), foreign)
            self.unchanged("ids out of range", before, answer)
        if entry.access != PUBLIC:
            # The same person's session or token from another tenant, sent to this tenant's host.
            answer = self.send(actor_key=actor, actor_side=foreign, ids_side=home)
            self.check_refused("another tenant's session", answer, unauthenticated=True)
            self.check_leaks("another tenant's session", answer, home.hidden_from(None), foreign)
            self.unchanged("another tenant's session", before, answer)
            # Another person of the same tenant: a member for admin pages, someone not involved for private ones.
            other = "owner" if entry.access in (OPERATOR, "admin") else "outsider"
            if entry.access in (OPERATOR, "admin") or entry.private:
                answer = self.send(actor_key=other, actor_side=home, ids_side=home)
                self.check_refused("another person", answer, unauthenticated=False)
                self.unchanged("another person", before, answer)
            elif self.method not in UNSAFE:
                answer = self.send(actor_key=other, actor_side=home, ids_side=home)
            else:
                answer = None
            if answer is not None:
                self.check_leaks("another person", answer, home.hidden_from(other), foreign)
            if entry.access in (OPERATOR, ADMIN) or entry.private:
                self.staff_cases(home, foreign)
            # A deactivated person's session (or token), and nobody at all.
            for case, who in (("a deactivated person", "gone"), ("anonymous", None)):
                answer = self.send(actor_key=who, actor_side=home if who else None, ids_side=home)
                self.check_refused(case, answer, unauthenticated=True)
                self.check_leaks(case, answer, home.hidden_from(None), foreign)
                self.unchanged(case, before, answer)
        if entry.access == OPERATOR:
            # To the admin of any other tenant, the operator's pages do not exist.
            answer = self.send(actor_key="admin", actor_side=foreign, ids_side=foreign, host_side=foreign)
            if answer.status != 404:
                self.fail("another tenant's admin", answer, "the operator's page answered")
            self.check_leaks("another tenant's admin", answer, {}, home)

        # The allowed case: it works (so the refusals above were about who asked, not a wrong URL).
        answer = self.send(actor_key=actor, actor_side=home if actor else None, ids_side=home)
        if answer.status >= 500 or answer.status in (401, 403, 404, 405):
            self.fail("allowed", answer, "refused or failed for the person it is for")
        for key in entry.shows if self.method == "GET" else ():
            if home.sentinel(key) not in answer.body:
                self.fail("allowed", answer, f"does not show {key}")
        self.check_leaks("allowed", answer, home.hidden_from(actor) if actor else home.hidden_from(None),
                         None if entry.lists_tenants else foreign)
        return self.failures
