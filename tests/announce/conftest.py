"""An org chart with department heads, for announcements."""
import pytest

from app.org.service import save_department, save_person
from tests.conftest import make_person


@pytest.fixture
def org(tenant):
    """HQ > Sales (head Sam) > East, West; HQ > Engineering (head Eve). Ada is an admin; Nod has no department."""
    hq = save_department(tenant, None, {"name": "总部 HQ"})
    sales = save_department(tenant, None, {"name": "Sales", "parent_id": str(hq.id)})
    east = save_department(tenant, None, {"name": "East", "parent_id": str(sales.id)})
    west = save_department(tenant, None, {"name": "West", "parent_id": str(sales.id)})
    eng = save_department(tenant, None, {"name": "Engineering", "parent_id": str(hq.id)})
    people = {
        "ada": make_person(tenant, "ada", role="admin", display_name="Ada Admin", department_ids=[str(hq.id)]),
        "sam": make_person(tenant, "sam", display_name="Sam Sales", department_ids=[str(sales.id)]),
        "ed": make_person(tenant, "ed", display_name="Ed East", department_ids=[str(east.id)]),
        "wu": make_person(tenant, "wu", display_name="吴西 Wu", department_ids=[str(west.id)]),
        "eve": make_person(tenant, "eve", display_name="Eve Eng", department_ids=[str(eng.id)]),
        "en": make_person(tenant, "en", display_name="En Eng", department_ids=[str(eng.id), str(east.id)]),
        "nod": make_person(tenant, "nod", display_name="Nod Nobody"),
    }
    save_department(tenant, sales, {"name": "Sales", "parent_id": str(hq.id), "head_id": str(people["sam"].id)})
    save_department(tenant, eng, {"name": "Engineering", "parent_id": str(hq.id), "head_id": str(people["eve"].id)})
    return {"tenant": tenant, "hq": hq, "sales": sales, "east": east, "west": west, "eng": eng, **people}


def join(org, login, *departments):
    """Move a person to these departments (the first one primary)."""
    person = org[login]
    return save_person(org["tenant"], person, {"display_name": person.display_name, "role": person.role,
                                               "department_ids": [str(org[d].id) for d in departments]})
