"""An org chart to route requests along, and helpers to read the event log and log people in."""

import pytest

from app.org.service import save_department
from app.tenancy.models import Tenant
from tests.conftest import TEST_PASSWORD, client_for as _client_for, events, make_person


@pytest.fixture
def org(tenant):
    """Alice (admin) apart; Sales headed by Hu, its North team headed by Li; Wei reports to Li, Li to Hu.

    Dan (Engineering, no manager) and Bob (Sales, reports to Li) complete it. Nobody has a password until
    client_for logs them in (hashing costs time most tests do not need).
    """
    alice = make_person(tenant, "alice", role="admin", display_name="Alice Admin", password=None)
    sales = save_department(tenant, None, {"name": "Sales"})
    north = save_department(tenant, None, {"name": "North", "parent_id": str(sales.id)})
    eng = save_department(tenant, None, {"name": "Engineering"})
    hu = make_person(tenant, "hu", password=None, display_name="胡总 Hu", department_ids=[str(sales.id)])
    in_north = {"department_ids": [str(north.id)], "password": None}
    li = make_person(tenant, "li", display_name="李娜 Li", manager_id=str(hu.id), **in_north)
    wei = make_person(tenant, "wei", display_name="张伟 Wei", manager_id=str(li.id), **in_north)
    bob = make_person(tenant, "bob", display_name="Bob", manager_id=str(li.id), **in_north)
    dan = make_person(tenant, "dan", password=None, display_name="Dan Wu", department_ids=[str(eng.id)])
    save_department(tenant, sales, {"name": "Sales", "head_id": str(hu.id)})
    save_department(tenant, north, {"name": "North", "parent_id": str(sales.id), "head_id": str(li.id)})
    return {"tenant": tenant, "alice": alice, "hu": hu, "li": li, "wei": wei, "bob": bob, "dan": dan,
            "sales": sales, "north": north, "eng": eng}


def client_for(app, login_name, host="localhost"):
    """A test client logged in as login_name (given the test password first if they have none)."""
    from app.org.models import Person
    from app.security.passwords import hash_password

    person = Person.get(Person.login == login_name, Person.tenant == Tenant.get(Tenant.slug == "acme"))
    if not person.password_hash:
        Person.update(password_hash=hash_password(TEST_PASSWORD)).where(Person.id == person.id).execute()
    return _client_for(app, login_name, host)


LEAVE = {"leave_type": "annual", "starts_on": "2025-03-03", "ends_on": "2025-03-05", "reason": "Family visit"}
