"""Reading the directory into a snapshot: the people and departments it describes, checked, and its problems.

Entries are streamed and each is reduced at once to the few checked values a
plan needs, so memory holds the snapshot, never the raw entries. One bad entry
is a problem line, never the end of the run.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Callable

from flask_babel import lazy_gettext as _l
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from app.org.ldap.config import base_dns_of, department_filter_of, preset_of, user_filter_of
from app.org.ldap.directory import DirectoryFailure, paged_entries
from app.org.ldap.dn import normalize_dn, parent_dn
from app.org.ldap.models import DirectoryConfig
from app.org.ldap.presets import Preset

MAX_PHOTO_BYTES = 512 * 1024

_LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,127}$")
_EMAIL_RE = re.compile(r"^[^@\s<>\"']{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}$", re.IGNORECASE)
_MOBILE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")

# What each problem code says; stored as codes so every reader sees them in their own language.
PROBLEM_TEXTS = {
    "missing": _l("has no %(what)s (attribute %(attribute)s); entry skipped"),
    "invalid_login": _l("login name %(value)s is not usable (letters, digits and . _ @ - only); entry skipped"),
    "invalid_name": _l("display name is not usable (too long or control characters); entry skipped"),
    "invalid_value": _l("%(what)s %(value)s is not valid; left out"),
    "not_text": _l("%(what)s is not UTF-8 text; left out"),
    "photo_too_large": _l("photo is %(size)d bytes, more than %(limit)d; left out"),
    "photo_not_image": _l("photo is not a sound JPEG or PNG image; left out"),
    "photo_too_many_pixels": _l("photo has more pixels than allowed (at most %(limit)dx%(limit)d); left out"),
    "photo_changed": _l("photo changed or went away after the sync read it; the next sync stores it"),
    "photo_pass_stopped": _l("the photo pass stopped here (%(error)s); the sync's changes are kept and the "
                             "remaining photos follow with the next sync"),
    "duplicate_login": _l("login name %(value)s is used by %(count)d entries; entry skipped"),
    "duplicate_email": _l("email %(value)s is used by more than one person; left out"),
    "local_login": _l("login name %(value)s belongs to a local account; entry skipped"),
    "login_taken": _l("login name %(value)s belongs to another person; entry skipped"),
    "manager_unknown": _l("manager %(value)s is not a synced person; left out"),
    "manager_loop": _l("manager chain loops back to this person; manager left out"),
    "department_loop": _l("department is inside itself; placed at the top"),
    "head_unknown": _l("department head %(value)s is not a synced person; left out"),
    "department_kept": _l("department is gone from the directory but still has local members or "
                          "sub-departments; kept"),
}

FIELD_TEXTS = {
    "id": _l("stable id"), "login": _l("login name"), "name": _l("display name"), "email": _l("email"),
    "mobile": _l("mobile"), "title": _l("title"), "employee_no": _l("employee number"),
    "department_order": _l("sort order"), "department_name": _l("department name"),
}


@dataclass(frozen=True)
class Problem:
    dn: str
    code: str
    args: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"dn": self.dn, "code": self.code, "args": self.args}


def problem_text(problem: dict) -> str:
    """A stored problem as one line in the reader's language."""
    args = dict(problem.get("args") or {})
    if "what" in args:
        args["what"] = str(FIELD_TEXTS.get(args["what"], args["what"]))
    template = PROBLEM_TEXTS.get(problem.get("code"), problem.get("code", ""))
    try:
        text = str(template) % args if args else str(template)
    except (KeyError, TypeError, ValueError):
        text = str(problem.get("code"))
    return f"{problem.get('dn')}: {text}"


class DesiredPerson:
    """A person as the directory describes them, already checked."""

    __slots__ = ("ext", "dn", "ndn", "login", "name", "email", "mobile", "title", "employee_no", "manager_ndn",
                 "disabled", "photo_sha256", "photo_size", "departments")

    def __init__(self, ext, dn, ndn, login, name, email, mobile, title, employee_no, manager_ndn, disabled,
                 photo_sha256, photo_size, departments):
        self.ext, self.dn, self.ndn, self.login, self.name = ext, dn, ndn, login, name
        self.email, self.mobile, self.title, self.employee_no = email, mobile, title, employee_no
        self.manager_ndn, self.disabled = manager_ndn, disabled
        self.photo_sha256, self.photo_size, self.departments = photo_sha256, photo_size, departments


class DesiredDepartment:
    """A department as the directory describes it; `parent` and `head_ndn` are resolved by the plan."""

    __slots__ = ("key", "dn", "name", "parent", "order", "head_ndn")

    def __init__(self, key, dn, name, parent, order, head_ndn):
        self.key, self.dn, self.name, self.parent, self.order, self.head_ndn = key, dn, name, parent, order, head_ndn


@dataclass
class Snapshot:
    """What one read of the directory found."""

    kind: str
    people: dict[str, DesiredPerson] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    departments: dict[str, DesiredDepartment] = field(default_factory=dict)
    # Group source: member DN -> groups, and the groups whose member lists changed since the mark (None: all).
    groups_of_member: dict[str, tuple[str, ...]] = field(default_factory=dict)
    authoritative_departments: set[str] | None = None
    problems: list[Problem] = field(default_factory=list)
    mark: str | None = None
    entries_read: int = 0
    disabled_new: int = 0


def _first(attrs: dict, name: str) -> bytes | None:
    if not name:
        return None
    values = attrs.get(name)
    return values[0] if values else None


def entry_disabled(preset: Preset, raw: bytes | None) -> bool:
    """Whether the disabled attribute's value (None when absent) means the account is off."""
    if raw is None:
        return False
    if preset.disabled_format == "true":
        return raw.strip().upper() == b"TRUE"
    if preset.disabled_format == "uac":
        try:
            return bool(int(raw) & 2)
        except ValueError:
            return False
    return True


def stable_id(raw: bytes, fmt: str) -> str | None:
    """The entry's stable id as text: entryUUID and nsUniqueId as they are, objectGUID in UUID form."""
    if fmt == "guid":
        return str(uuid.UUID(bytes_le=raw)) if len(raw) == 16 else None
    text = raw.decode("ascii", "replace").strip().lower()
    return text if 0 < len(text) <= 128 else None


def _single_line(text: str, max_length: int) -> bool:
    if len(text) > max_length:
        return False
    # isprintable() is the fast answer for nearly every value; it is also False for harmless spaces like U+00A0.
    return text.isprintable() or not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


class _Reader:
    """One pass over the directory; keeps only checked values."""

    def __init__(self, config: DirectoryConfig, snapshot: Snapshot, progress: Callable[[int], None] | None,
                 progress_every: int):
        self.config = config
        self.preset: Preset = preset_of(config)
        self.snapshot = snapshot
        self.progress = progress
        self.progress_every = progress_every
        self.dept_by_ndn: dict[str, str] = {}
        self.groups_of_member: dict[str, list[str]] = {}
        self.current_dn: str | None = None
        self.since: str | None = None
        self._conn = None

    # -- bookkeeping ------------------------------------------------------------------

    def problem(self, dn: str, code: str, **args) -> None:
        self.snapshot.problems.append(Problem(dn, code, args))

    def count(self) -> None:
        self.snapshot.entries_read += 1
        if self.progress and self.snapshot.entries_read % self.progress_every == 0:
            self.progress(self.snapshot.entries_read)

    def text(self, dn: str, attrs: dict, key: str, max_length: int = 200) -> str | None:
        """An optional single-line text value, or None (with a problem line) when unusable."""
        raw = _first(attrs, getattr(self.preset, key).lower())
        if raw is None:
            return None
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            self.problem(dn, "not_text", what=key)
            return None
        if not value:
            return None
        if not _single_line(value, max_length):
            self.problem(dn, "invalid_value", what=key, value=value[:40])
            return None
        return value

    def search(self, base: str, search_filter: str, attributes: list[str]):
        self.current_dn = base
        for dn, raw in paged_entries(self._conn, base, search_filter, attributes, self.config.page_size):
            self.current_dn = dn
            self.count()
            yield dn, {k.lower(): v for k, v in raw.items()}

    # -- departments ---------------------------------------------------------------------

    def read_departments(self) -> None:
        source = self.config.department_source
        if source == "attribute":
            return
        p = self.preset
        group = source == "group"
        name_attr = (p.group_name if group else p.department_name)
        head_attr = (p.group_head if group else p.department_head)
        wanted = [a for a in (p.id, name_attr, head_attr, p.department_order, p.member if group else "",
                              p.changed if group else "") if a]
        base_ndn = normalize_dn(self.config.department_base_dn)
        members: dict[str, list[str]] = {}
        changed: set[str] = set()
        for dn, attrs in self.search(self.config.department_base_dn, department_filter_of(self.config), wanted):
            ndn = normalize_dn(dn)
            if ndn == base_ndn:
                continue
            raw_id = _first(attrs, p.id.lower())
            key = stable_id(raw_id, p.id_format) if raw_id else None
            if key is None:
                self.problem(dn, "missing", what="id", attribute=p.id)
                continue
            name = self.text(dn, attrs, "group_name" if group else "department_name")
            if name is None:
                self.problem(dn, "missing", what="department_name", attribute=name_attr)
                continue
            order = 0
            raw_order = _first(attrs, p.department_order.lower())
            if raw_order is not None:
                try:
                    order = int(raw_order)
                except ValueError:
                    self.problem(dn, "invalid_value", what="department_order", value=raw_order.decode("utf-8", "replace")[:20])
            head = _first(attrs, head_attr.lower()) if head_attr else None
            head_ndn = normalize_dn(head.decode("utf-8", "replace")) if head else None
            self.snapshot.departments[key] = DesiredDepartment(key, dn, name, None, order, head_ndn)
            self.dept_by_ndn[ndn] = key
            if group:
                members[key] = [normalize_dn(m.decode("utf-8", "replace")) for m in attrs.get(p.member.lower(), [])]
                mark = _first(attrs, p.changed.lower())
                if self.since is None or (mark is not None and self.after_mark(mark)):
                    changed.add(key)
        if group:
            self.link_groups(members)
            self.snapshot.groups_of_member = {m: tuple(keys) for m, keys in self.groups_of_member.items()}
            self.snapshot.authoritative_departments = None if self.since is None else changed
        else:
            for ndn, key in self.dept_by_ndn.items():
                up = parent_dn(ndn)
                while up is not None and up != base_ndn and up not in self.dept_by_ndn:
                    up = parent_dn(up)
                self.snapshot.departments[key].parent = self.dept_by_ndn.get(up) if up else None

    def link_groups(self, members: dict[str, list[str]]) -> None:
        """Nested groups make the tree; other member DNs are people."""
        depts = self.snapshot.departments
        for key in sorted(members, key=lambda k: (depts[k].order, depts[k].name, k)):
            for member in members[key]:
                child = self.dept_by_ndn.get(member)
                if child is not None:
                    if depts[child].parent is None and child != key:
                        depts[child].parent = key
                else:
                    self.groups_of_member.setdefault(member, []).append(key)

    def attribute_departments(self, dn: str, attrs: dict) -> tuple[str, ...]:
        keys = []
        for raw in attrs.get(self.preset.department_attribute.lower(), []):
            try:
                path = [part.strip() for part in raw.decode("utf-8").split("/") if part.strip()]
            except UnicodeDecodeError:
                self.problem(dn, "not_text", what="department_name")
                continue
            if not path or not all(_single_line(part, 200) for part in path):
                self.problem(dn, "invalid_value", what="department_name", value=raw.decode("utf-8", "replace")[:40])
                continue
            parent = None
            for depth in range(1, len(path) + 1):
                joined = "/".join(path[:depth]).lower()
                key = "path:" + hashlib.sha256(joined.encode()).hexdigest()[:40]
                if key not in self.snapshot.departments:
                    self.snapshot.departments[key] = DesiredDepartment(key, "/".join(path[:depth]), path[depth - 1],
                                                                       parent, 0, None)
                parent = key
            if parent not in keys:
                keys.append(parent)
        return tuple(keys)

    # -- people ------------------------------------------------------------------------------

    def after_mark(self, raw: bytes) -> bool:
        if self.preset.changed_format == "usn":
            try:
                return int(raw) > int(self.since)
            except ValueError:
                return True
        return raw.decode("ascii", "replace") >= self.since

    def note_mark(self, raw: bytes | None) -> None:
        if raw is None:
            return
        snap = self.snapshot
        if self.preset.changed_format == "usn":
            try:
                value = int(raw)
            except ValueError:
                return
            if snap.mark is None or value > int(snap.mark):
                snap.mark = str(value)
        else:
            value = raw.decode("ascii", "replace")
            if snap.mark is None or value > snap.mark:
                snap.mark = value

    def people_filter(self) -> str:
        base_filter = user_filter_of(self.config)
        if self.since is None:
            return base_filter
        attr = self.preset.changed
        if self.preset.changed_format == "usn":
            return f"(&{base_filter}({attr}>={int(self.since) + 1}))"
        return f"(&{base_filter}({attr}>={escape_filter_chars(self.since)}))"

    def read_people(self) -> None:
        p = self.preset
        wanted = [a for a in (p.id, p.login, p.name, p.email, p.mobile, p.title, p.employee_no, p.photo, p.manager,
                              p.disabled, p.changed) if a]
        if self.config.department_source == "attribute":
            wanted.append(p.department_attribute)
        for base in base_dns_of(self.config):
            for dn, attrs in self.search(base, self.people_filter(), wanted):
                self.person(dn, attrs)

    def person(self, dn: str, attrs: dict) -> None:
        p = self.preset
        snap = self.snapshot
        self.note_mark(_first(attrs, p.changed.lower()))
        raw_id = _first(attrs, p.id.lower())
        ext = stable_id(raw_id, p.id_format) if raw_id else None
        if ext is None:
            self.problem(dn, "missing", what="id", attribute=p.id)
            return
        snap.seen.add(ext)
        raw_login = _first(attrs, p.login.lower())
        if raw_login is None:
            self.problem(dn, "missing", what="login", attribute=p.login)
            return
        login = raw_login.decode("utf-8", "replace").strip().lower()
        if not _LOGIN_RE.match(login):
            self.problem(dn, "invalid_login", value=login[:40])
            return
        raw_name = _first(attrs, p.name.lower())
        if raw_name is None or not raw_name.strip():
            self.problem(dn, "missing", what="name", attribute=p.name)
            return
        name = raw_name.decode("utf-8", "replace").strip()
        if not _single_line(name, 200):
            self.problem(dn, "invalid_name")
            return
        email = self.text(dn, attrs, "email", 254)
        if email is not None:
            email = email.lower()
            if not _EMAIL_RE.match(email):
                self.problem(dn, "invalid_value", what="email", value=email[:60])
                email = None
        mobile = self.text(dn, attrs, "mobile", 40)
        if mobile is not None and not _MOBILE_RE.match(mobile):
            self.problem(dn, "invalid_value", what="mobile", value=mobile[:40])
            mobile = None
        title = self.text(dn, attrs, "title")
        employee_no = self.text(dn, attrs, "employee_no", 64)
        photo_sha256 = photo_size = None
        photo = _first(attrs, p.photo.lower())
        if photo:
            if len(photo) > MAX_PHOTO_BYTES:
                self.problem(dn, "photo_too_large", size=len(photo), limit=MAX_PHOTO_BYTES)
            else:
                photo_sha256, photo_size = hashlib.sha256(photo).hexdigest(), len(photo)
        manager = _first(attrs, p.manager.lower())
        manager_ndn = normalize_dn(manager.decode("utf-8", "replace")) if manager else None
        ndn = normalize_dn(dn)
        disabled = entry_disabled(p, _first(attrs, p.disabled.lower()))
        source = self.config.department_source
        if source == "attribute":
            departments = self.attribute_departments(dn, attrs)
        elif source == "group":
            departments = tuple(self.groups_of_member.get(ndn, ()))
        else:
            departments = self.ou_department(ndn)
        snap.people[ext] = DesiredPerson(ext, dn, ndn, login, name, email, mobile, title, employee_no, manager_ndn,
                                         disabled, photo_sha256, photo_size, departments)

    def ou_department(self, ndn: str) -> tuple[str, ...]:
        up = parent_dn(ndn)
        while up is not None:
            key = self.dept_by_ndn.get(up)
            if key is not None:
                return (key,)
            up = parent_dn(up)
        return ()

    def finish(self) -> None:
        """Duplicate logins skip every entry that claims them; a duplicate email is left out everywhere."""
        snap = self.snapshot
        by_login: dict[str, list[DesiredPerson]] = {}
        by_email: dict[str, list[DesiredPerson]] = {}
        for person in snap.people.values():
            by_login.setdefault(person.login, []).append(person)
            if person.email:
                by_email.setdefault(person.email, []).append(person)
        for login, claimants in by_login.items():
            if len(claimants) > 1:
                for person in sorted(claimants, key=lambda x: x.ndn):
                    self.problem(person.dn, "duplicate_login", value=login, count=len(claimants))
                    del snap.people[person.ext]
        for email, claimants in by_email.items():
            if len(claimants) > 1:
                for person in sorted(claimants, key=lambda x: x.ndn):
                    self.problem(person.dn, "duplicate_email", value=email)
                    person.email = None

    def run(self, conn, since: str | None) -> Snapshot:
        self._conn = conn
        self.since = since
        try:
            self.read_departments()
            self.read_people()
        except (LDAPException, OSError) as exc:
            raise DirectoryFailure("failed", type(exc).__name__, self.current_dn) from None
        self.finish()
        return self.snapshot


def read_directory(conn, config: DirectoryConfig, *, since: str | None = None,
                   progress: Callable[[int], None] | None = None, progress_every: int = 10000) -> Snapshot:
    """Read the directory into a Snapshot: everything (since=None) or the people changed since the mark."""
    snapshot = Snapshot(kind="full" if since is None else "incremental")
    if since is not None:
        snapshot.mark = since
    return _Reader(config, snapshot, progress, progress_every).run(conn, since)
