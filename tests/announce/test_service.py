"""Announcements: who may publish to whom, who reads what, confirmations and read rates."""
import json

import pytest

from app.announce import service
from app.announce.models import Announcement, AnnouncementDepartment, AnnouncementRead
from app.events.models import Event
from app.org.service import deactivate_person, save_department
from app.validation import ValidationError
from tests.announce.conftest import join
from tests.conftest import make_person


def publish(org, author, title="Office closed Friday", body="The office is closed.", **kw):
    return service.publish_announcement(org["tenant"], org[author], title, body, **kw)


def readers(org, announcement) -> set[str]:
    return {login for login in ("ada", "sam", "ed", "wu", "eve", "en", "nod")
            if service.announcement_for(org["tenant"], org[login], announcement.id) is not None}


def test_an_admin_publishes_to_everyone(org):
    a = publish(org, "ada", to_all=True, important=True)
    assert a.to_all and a.important and readers(org, a) == {"ada", "sam", "ed", "wu", "eve", "en", "nod"}
    rows = [(e.audience, e.audience_id, e.kind, json.loads(e.payload)) for e in Event.select()
            if e.kind == "announcement"]
    assert len(rows) == 1 and rows[0][:3] == ("tenant", None, "announcement")
    assert rows[0][3] == {"id": a.id, "title": "Office closed Friday", "author": org["ada"].id,
                          "author_name": "Ada Admin", "important": True,
                          "created_at": a.created_at.isoformat() + "Z", "url": f"/announcements/{a.id}"}
    assert {p.login for p in service.audience(org["tenant"], a)} == {"sam", "ed", "wu", "eve", "en", "nod"}


def test_a_department_audience_is_its_subtree_resolved_when_read(org):
    a = publish(org, "sam", department_ids=[org["sales"].id])
    assert readers(org, a) == {"sam", "ed", "wu", "en"}              # en through a second department
    events = sorted(e.audience_id for e in Event.select().where(Event.kind == "announcement"))
    assert all(e.audience == "person" for e in Event.select())
    assert events == sorted([org["ed"].id, org["wu"].id, org["en"].id])   # not to the author, nobody else
    join(org, "nod", "west")                                          # joins later, sees it
    assert "nod" in readers(org, a)
    join(org, "ed", "eng")                                            # moves away, no longer sees it
    assert "ed" not in readers(org, a)
    newcomer = make_person(org["tenant"], "neo", department_ids=[str(org["east"].id)])
    assert service.announcement_for(org["tenant"], newcomer, a.id) is not None
    deactivate_person(newcomer)
    assert newcomer.id not in {p.id for p in service.audience(org["tenant"], a)}


def test_department_heads_publish_only_within_their_subtrees(org):
    assert service.allowed_departments(org["tenant"], org["sam"]) == {org["sales"].id, org["east"].id, org["west"].id}
    assert service.allowed_departments(org["tenant"], org["ada"]) is None
    assert service.can_publish(org["tenant"], org["eve"]) and not service.can_publish(org["tenant"], org["ed"])
    assert publish(org, "sam", department_ids=[org["east"].id, str(org["west"].id)])
    before = (Announcement.select().count(), Event.select().count())
    for author, kw, field in (("sam", {"department_ids": [org["eng"].id]}, "departments"),
                              ("sam", {"department_ids": [org["hq"].id]}, "departments"),
                              ("sam", {"to_all": True}, "departments"),
                              ("eve", {"department_ids": [org["sales"].id, org["eng"].id]}, "departments")):
        with pytest.raises(ValidationError) as info:
            publish(org, author, **kw)
        assert info.value.field == field
    with pytest.raises(PermissionError):
        publish(org, "ed", department_ids=[org["east"].id])
    assert (Announcement.select().count(), Event.select().count()) == before


@pytest.mark.parametrize("title, body, departments, field", [
    ("", "Body", ["sales"], "title"),
    ("x" * 201, "Body", ["sales"], "title"),
    ("Tab\tin title", "Body", ["sales"], "title"),
    ("Title", "", ["sales"], "body"),
    ("Title", "  \n  ", ["sales"], "body"),
    ("Title", "x" * 10001, ["sales"], "body"),
    ("Title", "nul \x00", ["sales"], "body"),
    ("Title", "Body", [], "departments"),
    ("Title", "Body", ["nope"], "departments"),
    ("Title", "Body", [999999], "departments"),
    ("Title", "Body", ["theirs"], "departments"),
    ("Title", "Body", "sales", "departments"),
])
def test_bad_input_is_refused_and_saves_nothing(org, other_tenant, title, body, departments, field):
    theirs = save_department(other_tenant, None, {"name": "Their dept"})
    ids = {"sales": org["sales"].id, "theirs": theirs.id}
    chosen = [ids.get(d, d) for d in departments] if isinstance(departments, list) else departments
    with pytest.raises(ValidationError) as info:
        publish(org, "ada", title, body, department_ids=chosen)
    assert info.value.field == field
    assert Announcement.select().count() == 0 and AnnouncementDepartment.select().count() == 0
    assert Event.select().count() == 0


def test_confirming_twice_keeps_the_first_time(org):
    a = publish(org, "ada", to_all=True)
    first = service.confirm_read(org["tenant"], org["ed"], a.id)
    assert service.confirm_read(org["tenant"], org["ed"], str(a.id)) == first
    assert AnnouncementRead.select().count() == 1
    assert service.read_times(org["ed"], [a.id]) == {a.id: first}
    b = publish(org, "sam", department_ids=[org["sales"].id])
    for person, announcement_id in (("eve", b.id), ("ed", 999999), ("ed", "1; DROP TABLE person")):
        with pytest.raises(LookupError):
            service.confirm_read(org["tenant"], org[person], announcement_id)


def test_unread_first_then_newest(org):
    old = publish(org, "ada", "Old", to_all=True)
    mid = publish(org, "ada", "Middle", to_all=True)
    new = publish(org, "ada", "New", to_all=True)
    service.confirm_read(org["tenant"], org["ed"], new.id)
    assert [a.id for a in service.announcements_for(org["tenant"], org["ed"])] == [mid.id, old.id, new.id]
    assert [a.author.login for a in service.announcements_for(org["tenant"], org["ed"])] == ["ada"] * 3


def test_read_rates_per_department_and_who_has_not_read(org):
    a = publish(org, "ada", to_all=True)
    for login in ("ed", "wu", "en"):
        service.confirm_read(org["tenant"], org[login], a.id)
    stats = service.read_stats(org["tenant"], a)
    assert (stats.read, stats.total) == (3, 6) and stats.rate == 0.5
    rows = {r.department_id: (r.read, r.total) for r in stats.departments}
    assert rows == {org["sales"].id: (0, 1), org["east"].id: (1, 1), org["west"].id: (1, 1),
                    org["eng"].id: (1, 2), None: (0, 1)}                # by primary department; the author left out
    assert [d.department_id for d in stats.departments] == [org["eng"].id, org["sales"].id, org["east"].id,
                                                            org["west"].id, None]
    assert [(p.login, dept) for p, dept in stats.unread] == [("eve", org["eng"].id), ("nod", None),
                                                             ("sam", org["sales"].id)]

    b = publish(org, "sam", department_ids=[org["sales"].id])
    service.confirm_read(org["tenant"], org["en"], b.id)
    with pytest.raises(LookupError):                                  # HQ is above Sales, not in it
        service.confirm_read(org["tenant"], org["ada"], b.id)
    stats = service.read_stats(org["tenant"], b)
    assert (stats.read, stats.total) == (1, 3)
    assert {r.department_id: (r.read, r.total) for r in stats.departments} == {
        org["east"].id: (0, 1), org["west"].id: (0, 1), org["eng"].id: (1, 1)}
