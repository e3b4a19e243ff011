"""A sales team with a manager chain, and helpers to log people in and read the event log."""

import pytest

from app.contacts import service
from app.org.service import save_department
from tests.conftest import client_for, events
from tests.conftest import make_person as _make_person


@pytest.fixture
def passwords():
    """Whether the team gets passwords (tests that never log in skip the hashing)."""
    return True


@pytest.fixture
def team(tenant, passwords):
    """Chen (sales director) manages Wang (sales manager), who manages Li and Zhao; Sun is in Service;
    Alice is the admin. Sales has a North sub-department."""
    from tests.conftest import TEST_PASSWORD

    def make_person(tenant, login, **fields):
        return _make_person(tenant, login, password=TEST_PASSWORD if passwords else None, **fields)

    sales = save_department(tenant, None, {"name": "销售部 Sales"})
    north = save_department(tenant, None, {"name": "North", "parent_id": str(sales.id)})
    service_dept = save_department(tenant, None, {"name": "Service"})
    alice = make_person(tenant, "alice", role="admin", display_name="Alice Admin")
    chen = make_person(tenant, "chen", display_name="陈静", department_ids=[str(sales.id)])
    wang = make_person(tenant, "wang", display_name="王强", manager_id=str(chen.id), department_ids=[str(sales.id)])
    li = make_person(tenant, "li", display_name="李娜", manager_id=str(wang.id), department_ids=[str(north.id)])
    zhao = make_person(tenant, "zhao", display_name="赵磊", manager_id=str(wang.id), department_ids=[str(north.id)])
    sun = make_person(tenant, "sun", display_name="孙丽", department_ids=[str(service_dept.id)])
    return {"tenant": tenant, "sales": sales, "north": north, "service": service_dept, "alice": alice, "chen": chen,
            "wang": wang, "li": li, "zhao": zhao, "sun": sun}


def add_contact(team, owner="li", name="王芳", phones=("138 0013 8000",), **fields):
    """A contact made by (and owned by) one of the team."""
    actor = team[owner]
    return service.create_contact(team["tenant"], actor, {"name": name, "phones": list(phones), **fields})
