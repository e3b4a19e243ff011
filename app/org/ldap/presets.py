"""Attribute mappings for the directories customers run: OpenLDAP, 389 Directory Server, Active Directory.

A preset names the attributes and how to read the few that need interpreting
(the stable id, the disabled flag, the change counter). A tenant's mapping
overrides only attribute names; the interpretation stays the preset's.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from flask_babel import lazy_gettext as _l

PRESET_NAMES = ("openldap", "389ds", "ad")
DEPARTMENT_SOURCES = ("ou", "attribute", "group")
SECURITY_MODES = ("none", "starttls", "ldaps")

# Mapping keys an operator may override, with what each one holds.
MAPPING_KEYS = {
    "id": _l("stable id of an entry (survives renames and moves)"),
    "login": _l("login name"),
    "name": _l("display name"),
    "email": _l("email address"),
    "mobile": _l("mobile number"),
    "title": _l("job title"),
    "employee_no": _l("employee number"),
    "photo": _l("photo (JPEG bytes)"),
    "manager": _l("DN of the person's manager"),
    "disabled": _l("account disabled or locked"),
    "changed": _l("change marker for incremental sync"),
    "department_name": _l("name of an organizational unit"),
    "department_head": _l("DN of an organizational unit's head"),
    "department_order": _l("sort order of a department (a whole number)"),
    "department_attribute": _l("person attribute naming departments (attribute source; A/B/C for a path)"),
    "group_name": _l("name of a department group"),
    "group_head": _l("DN of a department group's head"),
    "member": _l("member DNs of a department group"),
}


@dataclass(frozen=True)
class Preset:
    """Attribute names plus how to interpret ids, the disabled flag and change markers."""

    id: str
    login: str
    name: str
    email: str
    mobile: str
    title: str
    employee_no: str
    photo: str
    manager: str
    disabled: str
    changed: str
    department_name: str
    department_head: str
    department_order: str
    department_attribute: str
    group_name: str
    group_head: str
    member: str
    # Interpretation, not overridable:
    id_format: str = "text"          # text | guid (objectGUID: 16 little-endian bytes)
    disabled_format: str = "present"  # present (any value locks) | true (TRUE/FALSE) | uac (bit 2)
    changed_format: str = "time"     # time (GeneralizedTime, >= mark) | usn (integer, >= mark + 1)
    user_filter: str = "(objectClass=inetOrgPerson)"
    ou_filter: str = "(objectClass=organizationalUnit)"
    group_filter: str = "(objectClass=groupOfNames)"

    def with_overrides(self, overrides: dict[str, str]) -> "Preset":
        """The preset with some attribute names replaced (already validated keys)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        return Preset(**values)

    def attribute_names(self) -> dict[str, str]:
        """Overridable key -> attribute name."""
        return {key: getattr(self, key) for key in MAPPING_KEYS}


PRESETS = {
    "openldap": Preset(
        id="entryUUID", login="uid", name="cn", email="mail", mobile="mobile", title="title",
        employee_no="employeeNumber", photo="jpegPhoto", manager="manager", disabled="pwdAccountLockedTime",
        changed="modifyTimestamp", department_name="ou", department_head="", department_order="",
        department_attribute="departmentNumber", group_name="cn", group_head="owner", member="member"),
    "389ds": Preset(
        id="nsUniqueId", login="uid", name="cn", email="mail", mobile="mobile", title="title",
        employee_no="employeeNumber", photo="jpegPhoto", manager="manager", disabled="nsAccountLock",
        changed="modifyTimestamp", department_name="ou", department_head="", department_order="",
        department_attribute="departmentNumber", group_name="cn", group_head="owner", member="uniqueMember",
        disabled_format="true", group_filter="(objectClass=groupOfUniqueNames)"),
    "ad": Preset(
        id="objectGUID", login="sAMAccountName", name="displayName", email="mail", mobile="mobile",
        title="title", employee_no="employeeID", photo="thumbnailPhoto", manager="manager",
        disabled="userAccountControl", changed="uSNChanged", department_name="ou", department_head="managedBy",
        department_order="", department_attribute="department", group_name="cn", group_head="managedBy",
        member="member", id_format="guid", disabled_format="uac", changed_format="usn",
        user_filter="(&(objectCategory=person)(objectClass=user))", group_filter="(objectClass=group)"),
}
