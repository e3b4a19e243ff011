"""A small team in a tenant, and helpers to read the event log and log people in."""

import pytest

from app.org.service import save_department
from tests.conftest import client_for, events, make_person


@pytest.fixture
def team(tenant):
    """Wei (admin) in Sales with Li and Bob; Dan in Engineering."""
    sales = save_department(tenant, None, {"name": "销售部 Sales"})
    eng = save_department(tenant, None, {"name": "Engineering"})
    wei = make_person(tenant, "wei", role="admin", display_name="张伟", department_ids=[str(sales.id)])
    li = make_person(tenant, "li", display_name="李娜", department_ids=[str(sales.id)])
    bob = make_person(tenant, "bob", display_name="Bob Smith", department_ids=[str(sales.id)])
    dan = make_person(tenant, "dan", display_name="Dan Wu", department_ids=[str(eng.id)])
    return {"sales": sales, "eng": eng, "wei": wei, "li": li, "bob": bob, "dan": dan, "tenant": tenant}
