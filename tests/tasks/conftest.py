"""A small team for tasks, and helpers to read the event log and log people in."""
import json

import pytest

from app.org.service import save_department
from tests.conftest import client_for, make_person


@pytest.fixture
def team(tenant):
    """Wei gives tasks to Li and Bob in Sales; Dan in Engineering has nothing to do with them."""
    sales = save_department(tenant, None, {"name": "销售部 Sales"})
    eng = save_department(tenant, None, {"name": "Engineering"})
    wei = make_person(tenant, "wei", display_name="张伟", department_ids=[str(sales.id)])
    li = make_person(tenant, "li", display_name="李娜", department_ids=[str(sales.id)])
    bob = make_person(tenant, "bob", display_name="Bob Smith", department_ids=[str(sales.id)])
    dan = make_person(tenant, "dan", display_name="Dan Wu", role="admin", department_ids=[str(eng.id)])
    return {"sales": sales, "eng": eng, "wei": wei, "li": li, "bob": bob, "dan": dan, "tenant": tenant}


def events(kind="task", after=0) -> list[tuple[str, int | None, dict]]:
    """(audience, audience id, payload) of the event log's events of one kind, oldest first."""
    from app.events.models import Event

    rows = Event.select().where((Event.id > after) & (Event.kind == kind)).order_by(Event.id)
    return [(e.audience, e.audience_id, json.loads(e.payload)) for e in rows]


def latest_event() -> int:
    from app.events import latest_id

    return latest_id()
