"""Small readable directories for tests: built as LDIF, loaded into the test slapd, then changed by helpers.

Each Directory lives in its own branch (ou=dN under one of the server's
suffixes), so tests never see each other's entries and nothing is reloaded.
"""
from __future__ import annotations

import io
import itertools
import os
import subprocess
import tempfile
import uuid

import ldap3
from PIL import Image

from tests.ldap.slapd import ROOT_PASSWORD, SUFFIXES, SlapdServer, ldif, root_dn

SERVICE_PASSWORD = "service-bind-secret"
USER_PASSWORD = "directory-pass-123"
_branch = itertools.count(1)

# Neutral names used by tests -> attribute names of each shape.
_ATTRS = {
    "openldap": {"login": "uid", "name": "cn", "email": "mail", "mobile": "mobile", "title": "title",
                 "employee_no": "employeeNumber", "photo": "jpegPhoto", "manager": "manager",
                 "departments": "departmentNumber"},
    "ad": {"login": "sAMAccountName", "name": "displayName", "email": "mail", "mobile": "mobile", "title": "title",
           "employee_no": "employeeID", "photo": "thumbnailPhoto", "manager": "manager", "departments": "department"},
}


def image(image_format: str = "JPEG", color: tuple[int, int, int] = (200, 80, 40), size: tuple[int, int] = (24, 32)
          ) -> bytes:
    """A small, sound photo in that format (JPEG or PNG), one colour throughout."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=image_format)
    return out.getvalue()


class Directory:
    """One test directory: an org tree (ou=org), people, groups and a service account."""

    def __init__(self, server: SlapdServer, shape: str = "openldap"):
        self.server = server
        self.shape = shape
        self.suffix = SUFFIXES[0] if shape == "openldap" else SUFFIXES[1]
        self.base = f"ou=d{next(_branch)},{self.suffix}"
        self.org = f"ou=org,{self.base}"
        self.people = f"ou=people,{self.base}"
        self.groups = f"ou=groups,{self.base}"
        self.service_dn = f"cn=atrium,{self.base}"
        self.usn = 100
        self.pending: list[tuple[str, dict]] = []
        self._conn = None
        for dn in (self.base, self.org, self.people, self.groups):
            self.add(dn, {"objectClass": ["organizationalUnit"], "ou": dn.split(",")[0][3:]})
        self.add(self.service_dn, {"objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": "atrium",
                                   "userPassword": SERVICE_PASSWORD})

    # -- building ---------------------------------------------------------------------------

    def next_usn(self) -> str:
        self.usn += 1
        return str(self.usn)

    def add(self, dn: str, attrs: dict) -> str:
        classes = attrs.get("objectClass", [])
        if self.shape == "ad" and ("adUser" in classes or "adUnit" in classes):
            attrs.setdefault("objectGUID", uuid.uuid4().bytes_le)
            attrs["uSNChanged"] = self.next_usn()  # slapd does not keep AD's change counter; we do
        if self._conn is None:
            self.pending.append((dn, attrs))
        else:
            self.conn.add(dn, attributes=attrs)
            assert self.conn.result["result"] == 0, self.conn.result
        return dn

    def ou(self, name: str, parent: str | None = None, *, head: str | None = None, order=None) -> str:
        """An organizational unit (a department in the 'ou' source)."""
        attrs = {"objectClass": ["organizationalUnit", "adUnit"], "ou": name}
        if head:
            attrs["managedBy"] = head
        if order is not None:
            attrs["departmentOrder"] = str(order)
        return self.add(f"ou={name},{parent or self.org}", attrs)

    def person(self, login: str, name: str, ou: str | None = None, *, password: str = USER_PASSWORD,
               disabled: bool = False, extra: dict | None = None, **fields) -> str:
        """A person; fields: email, mobile, title, employee_no, manager (a DN), photo (bytes), departments."""
        names = _ATTRS[self.shape]
        attrs: dict = {"objectClass": ["inetOrgPerson"], "sn": name.split()[-1] if name.strip() else "x",
                       "userPassword": password}
        if self.shape == "ad":
            attrs["objectClass"].append("adUser")
            attrs["cn"] = name or login
            attrs["userAccountControl"] = "514" if disabled else "512"
            attrs["userPrincipalName"] = f"{login}@corp.example"
        elif disabled:
            attrs["pwdAccountLockedTime"] = "000001010000Z"
        if login:
            attrs[names["login"]] = login
        if name:
            attrs[names["name"]] = name
        if self.shape == "openldap" and not name:
            attrs["cn"] = login  # cn is required by inetOrgPerson; tests blank it out by modify
        for key, value in fields.items():
            if value is not None:
                attrs[names[key]] = value
        attrs.update(extra or {})
        rdn = f"uid={login}" if self.shape == "openldap" else f"cn={name or login}"
        return self.add(f"{rdn},{ou or self.people}", attrs)

    def group(self, name: str, members: list[str], *, owner: str | None = None) -> str:
        """A groupOfNames under ou=groups (a department in the 'group' source)."""
        attrs = {"objectClass": ["groupOfNames"], "cn": name, "member": members or [self.service_dn]}
        if owner:
            attrs["owner"] = owner
        return self.add(f"cn={name},{self.groups}", attrs)

    def load(self) -> "Directory":
        """Load everything added so far as one LDIF file; later additions go straight to the server."""
        with tempfile.NamedTemporaryFile("w", suffix=".ldif", delete=False) as fh:
            fh.write(ldif(self.pending))
        try:
            subprocess.run(["ldapadd", "-x", "-H", self.server.uri, "-D", root_dn(self.suffix), "-w", ROOT_PASSWORD,
                            "-f", fh.name], check=True, capture_output=True)
        finally:
            os.unlink(fh.name)
        self.pending = []
        self._conn = self.conn
        return self

    # -- changing ------------------------------------------------------------------------------

    @property
    def conn(self) -> ldap3.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = ldap3.Connection(ldap3.Server(self.server.uri, get_info=ldap3.NONE), root_dn(self.suffix),
                                          ROOT_PASSWORD, auto_bind=True)
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.unbind()

    def _check(self) -> None:
        assert self.conn.result["result"] == 0, self.conn.result

    def _touch(self, dn: str) -> None:
        if self.shape == "ad":
            self.conn.modify(dn, {"uSNChanged": [(ldap3.MODIFY_REPLACE, [self.next_usn()])]})
            self._check()

    def modify(self, dn: str, **attrs) -> None:
        """Replace attributes (neutral names or real ones); None removes one."""
        names = _ATTRS[self.shape]
        changes = {}
        for key, value in attrs.items():
            name = names.get(key, key)
            changes[name] = [(ldap3.MODIFY_REPLACE, [] if value is None else value if isinstance(value, list) else [value])]
        if self.shape == "ad":
            changes["uSNChanged"] = [(ldap3.MODIFY_REPLACE, [self.next_usn()])]
        self.conn.modify(dn, changes)
        self._check()

    def move(self, dn: str, new_rdn: str | None = None, new_parent: str | None = None) -> str:
        """Rename and/or move an entry (modrdn); returns the new DN."""
        rdn, parent = dn.split(",", 1)
        self.conn.modify_dn(dn, new_rdn or rdn, new_superior=new_parent)
        self._check()
        new_dn = f"{new_rdn or rdn},{new_parent or parent}"
        self._touch(new_dn)
        return new_dn

    def disable(self, dn: str) -> None:
        if self.shape == "ad":
            self.modify(dn, userAccountControl="514")
        else:
            self.modify(dn, pwdAccountLockedTime="000001010000Z")

    def enable(self, dn: str) -> None:
        if self.shape == "ad":
            self.modify(dn, userAccountControl="512")
        else:
            self.modify(dn, pwdAccountLockedTime=None)

    def delete(self, dn: str) -> None:
        self.conn.delete(dn)
        self._check()

    # -- configuring Atrium for it ---------------------------------------------------------------

    def settings(self, **overrides) -> dict:
        """Directory settings for this branch, as save_config takes them."""
        values = {
            "preset": "openldap" if self.shape == "openldap" else "ad",
            "servers": [self.server.uri], "bind_dn": self.service_dn, "user_base_dns": [self.base],
            "department_source": "ou", "department_base_dn": self.org, "receive_timeout": 5, "connect_timeout": 2,
            "page_size": 7,  # small pages, so every directory here takes several of them
            "mapping": {"department_head": "managedBy", "department_order": "departmentOrder"},
        }
        if self.shape == "ad":
            values["user_filter"] = "(objectClass=adUser)"
            values["mapping"] = {"department_order": "departmentOrder"}
        else:
            values["user_filter"] = "(objectClass=inetOrgPerson)"
        values.update(overrides)
        return values
