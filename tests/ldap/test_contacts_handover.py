"""A salesperson the directory disables leaves their contacts with their manager, who is offered the handover."""
from __future__ import annotations

import json

from app.contacts import service
from app.contacts.models import Contact
from app.events.models import Event
from app.org.ldap.sync import run_sync
from app.org.models import Person
from app.tenancy.scope import TenantScope
from tests.ldap.conftest import configure


def sales_team(d):
    """A sales head with two salespeople reporting to them."""
    head = d.person("head", "Chen Jing", d.org, email="head@acme.example", title="Head of Sales")
    sales = d.ou("Sales", order=1)
    rep = d.person("rep", "Zhao Lei", sales, email="rep@acme.example", manager=head)
    other = d.person("other", "Sun Li", sales, email="other@acme.example", manager=head)
    d.load()
    return {"head": head, "rep": rep, "other": other}


def people(tenant) -> dict[str, Person]:
    return {p.login: p for p in TenantScope(tenant).select(Person)}


def test_the_sync_offers_a_departed_salespersons_contacts_to_their_manager(tenant, directory, local_admin):
    dns = sales_team(directory)
    configure(tenant, directory, max_deactivation_share=0.5)
    assert run_sync(tenant).run.status == "ok"
    found = people(tenant)
    rep, head = found["rep"], found["head"]
    for name, number in (("王芳", "13800138000"), ("李雷", "13900139000")):
        service.create_contact(tenant, rep, {"name": name, "phones": [number]})

    directory.disable(dns["rep"])
    dry = run_sync(tenant, dry_run=True)
    assert [d[1] for d in dry.plan.deactivations] == ["rep"]
    assert service.pending_handovers(tenant, head) == []          # a dry run offers nothing
    before = Event.select().count()
    result = run_sync(tenant)
    assert result.run.status == "ok", result.run.reason
    rep = people(tenant)["rep"]
    assert not rep.is_active and rep.deactivated_by == "directory"
    [offer] = [e for e in Event.select().where(Event.id > before) if e.kind == "contact_handover"]
    assert offer.audience_id == head.id and json.loads(offer.payload)["count"] == 2
    assert [(p.departed.login, p.count) for p in service.pending_handovers(tenant, head)] == [("rep", 2)]
    assert {c.owner_id for c in TenantScope(tenant).select(Contact)} == {rep.id}    # never without an owner
    assert {c.name for c in service.visible_contacts(tenant, head)} == {"王芳", "李雷"}

    # A second sync changes nothing and offers nothing again.
    again = Event.select().count()
    assert run_sync(tenant).run.status == "ok"
    assert [e for e in Event.select().where(Event.id > again) if e.kind == "contact_handover"] == []

    assert service.hand_over_departed(tenant, head, rep.id, people(tenant)["other"].id) == 2
    assert service.pending_handovers(tenant, head) == []


def test_a_departed_head_without_a_manager_leaves_the_offer_to_the_admins(tenant, directory, local_admin):
    dns = sales_team(directory)
    configure(tenant, directory, max_deactivation_share=0.5)
    assert run_sync(tenant).run.status == "ok"
    service.create_contact(tenant, people(tenant)["head"], {"name": "Key customer"})
    directory.disable(dns["head"])
    assert run_sync(tenant).run.status == "ok"
    assert [p.departed.login for p in service.pending_handovers(tenant, local_admin)] == ["head"]
