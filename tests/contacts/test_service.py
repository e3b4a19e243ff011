"""Contacts: who sees and changes them, stand-ins, handovers when the owner leaves, history, tags, numbers."""
import datetime

import peewee
import pytest

from app.contacts import service
from app.contacts.models import Contact, ContactPhone, ContactShare, ContactTag, Interaction, StandIn
from app.db import utcnow
from app.org.service import deactivate_person, reactivate_person, save_person
from app.validation import ValidationError
from tests.conftest import make_person
from tests.contacts.conftest import add_contact, events


@pytest.fixture
def passwords():
    return False      # no one logs in here


def visible(team, who) -> set[str]:
    return {c.name for c in service.visible_contacts(team["tenant"], team[who])}


def access(team, who, contact):
    return service.access(team["tenant"], team[who], contact)


# --- creating and changing ---------------------------------------------------------------------------

def test_a_new_contact_has_its_fields_phones_tags_owner_and_a_first_history_entry(team):
    service.add_preset_tag(team["tenant"], "Key account")
    contact = add_contact(team, company="示例贸易 Example Trading", title="Buyer", email="Wang.Fang@Example.com",
                          kind="supplier", phones=[{"label": "work", "number": "010 6552 9988"}, "+86 138 0013 8000"],
                          tags=["key ACCOUNT", "North region", "north region "])
    data = service.contact_json(team["tenant"], contact)
    assert (data["name"], data["kind"], data["company"], data["email"]) == (
        "王芳", "supplier", "示例贸易 Example Trading", "wang.fang@example.com")
    assert [(p["label"], p["normalized"]) for p in data["phones"]] == [("work", "861065529988"),
                                                                       ("mobile", "8613800138000")]
    assert [(t["name"], t["preset"]) for t in data["tags"]] == [("Key account", True), ("North region", False)]
    assert data["owner"] == {"id": team["li"].id, "name": "李娜", "active": True}
    [entry] = service.history(team["tenant"], contact)
    assert (entry.kind, entry.author_id, service.system_facts(entry)["owner"]["name"]) == ("created", team["li"].id,
                                                                                          "李娜")
    # Found by pinyin, company, email and phone digits.
    for q in ("wangfang", "wf", "example trading", "wang.fang@", "13800138000", "6552 9988", "010 6552 9988",
              "shili"):
        assert [c.id for c in service.search_contacts(team["tenant"], team["li"], q)] == [contact.id], q
    assert list(service.search_contacts(team["tenant"], team["li"], "nobody")) == []


@pytest.mark.parametrize("data, field, message", [
    ({"name": " "}, "name", "This field is required."),
    ({"name": "x" * 201}, "name", "At most 200 characters."),
    ({"name": "A\u202eB"}, "name", "Contains characters that are not allowed."),
    ({"name": "A", "kind": "enemy"}, "kind", "Choose customer, supplier or partner."),
    ({"name": "A", "email": "not-an-email"}, "email", "Not a valid email address."),
    ({"name": "A", "phones": "138"}, "phones", "Give the phone numbers as a list."),
    ({"name": "A", "phones": ["13800138000", "+86 138 0013 8000"]}, "phone_1", "The same number is given twice."),
    ({"name": "A", "phones": ["", "abc"]}, "phone_1", "Not a valid phone number."),
    ({"name": "A", "phones": [{"label": "fax", "number": "13800138000"}]}, "phone_0", "Choose mobile, work or other."),
    ({"name": "A", "phones": [str(13800138000 + i) for i in range(6)]}, "phones", "At most 5 phone numbers."),
    ({"name": "A", "tags": "vip"}, "tags", "Give the tags as a list."),
    ({"name": "A", "tags": ["a;b"]}, "tags", "A tag cannot contain , or ;."),
    ({"name": "A", "tags": ["x" * 41]}, "tags", "At most 40 characters."),
    ({"name": "A", "tags": [f"t{i}" for i in range(21)]}, "tags", "At most 20 tags."),
    ({"name": "A", "owner": "999999"}, "owner", "Choose an active colleague from the list."),
    ({"name": "A", "owner": "abc"}, "owner", "Choose an active colleague from the list."),
])
def test_bad_fields_are_refused_and_nothing_is_saved(team, data, field, message):
    with pytest.raises(ValidationError) as caught:
        service.create_contact(team["tenant"], team["li"], data)
    assert (caught.value.field, str(caught.value.message)) == (field, message)
    assert Contact.select().count() == 0 and ContactPhone.select().count() == 0
    assert ContactTag.select().count() == 0 and Interaction.select().count() == 0


def test_an_owner_from_another_tenant_or_inactive_is_refused(team, other_tenant):
    stranger = make_person(other_tenant, "stranger")
    deactivate_person(team["zhao"])
    for owner in (stranger.id, team["zhao"].id):
        with pytest.raises(ValidationError):
            service.create_contact(team["tenant"], team["li"], {"name": "A", "owner": owner})
    contact = service.create_contact(team["tenant"], team["li"], {"name": "A", "owner": team["sun"].id})
    assert contact.owner_id == team["sun"].id and contact.created_by_id == team["li"].id


def test_updating_keeps_what_is_not_given_and_a_failed_update_changes_nothing(team):
    contact = add_contact(team, company="Old Co", tags=["vip"])
    service.update_contact(team["tenant"], team["li"], contact, {"company": "New Co", "phones": ["+1 212 555 0100"]})
    data = service.contact_json(team["tenant"], Contact.get_by_id(contact.id))
    assert data["company"] == "New Co" and data["name"] == "王芳" and [t["name"] for t in data["tags"]] == ["vip"]
    assert [p["normalized"] for p in data["phones"]] == ["12125550100"]
    with pytest.raises(ValidationError):
        service.update_contact(team["tenant"], team["li"], contact, {"company": "Newer Co", "email": "bad"})
    assert service.contact_json(team["tenant"], Contact.get_by_id(contact.id)) == data
    with pytest.raises(PermissionError):
        service.update_contact(team["tenant"], team["sun"], contact, {"company": "Sun's"})


# --- who sees what ----------------------------------------------------------------------------------

def test_visibility_owner_managers_up_the_chain_shares_and_admins(team, other_tenant):
    mine = add_contact(team, "li", "Li's customer")
    theirs = add_contact(team, "zhao", "Zhao's customer", phones=["13900139000"])
    services = add_contact(team, "sun", "Sun's supplier", phones=["13700137000"])
    assert visible(team, "li") == {"Li's customer"}
    assert visible(team, "zhao") == {"Zhao's customer"}
    assert visible(team, "wang") == {"Li's customer", "Zhao's customer"}      # direct manager
    assert visible(team, "chen") == {"Li's customer", "Zhao's customer"}      # manager's manager
    assert visible(team, "sun") == {"Sun's supplier"}
    assert visible(team, "alice") == {"Li's customer", "Zhao's customer", "Sun's supplier"}
    service.share_contact(team["tenant"], team["li"], mine, team["sun"].id)
    assert visible(team, "sun") == {"Sun's supplier", "Li's customer"}
    assert access(team, "sun", mine) == service.Access(True, False, False, "shared")
    assert access(team, "wang", mine).manage and access(team, "chen", mine).why == "manager"
    assert access(team, "li", theirs) == service.NO_ACCESS and access(team, "li", services) == service.NO_ACCESS
    assert service.contact_for(team["tenant"], team["li"], theirs.id) is None
    assert service.contact_for(team["tenant"], team["li"], "abc") is None
    # Another tenant's admin sees none of it.
    stranger = make_person(other_tenant, "boss", role="admin")
    assert list(service.visible_contacts(other_tenant, stranger)) == []
    assert service.contact_for(other_tenant, stranger, mine.id) is None


def test_a_loop_in_the_manager_chain_does_not_hang(team):
    chen = team["chen"]
    save_person(team["tenant"], chen, {"display_name": chen.display_name, "manager_id": ""})
    add_contact(team, "li", "Li's customer")
    chen.manager = team["li"]          # a loop the directory could produce: chen -> li -> wang -> chen
    chen.save()
    assert visible(team, "li") == {"Li's customer"}
    assert visible(team, "chen") == {"Li's customer"}
    assert [p.login for p in service.manager_chain(team["tenant"], team["li"].id)] == ["wang", "chen"]


def test_sharing_rules(team):
    contact = add_contact(team)
    with pytest.raises(PermissionError):
        service.share_contact(team["tenant"], team["sun"], contact, team["zhao"].id)
    with pytest.raises(ValidationError, match="responsible"):
        service.share_contact(team["tenant"], team["li"], contact, team["li"].id)
    deactivate_person(team["zhao"])
    with pytest.raises(ValidationError):
        service.share_contact(team["tenant"], team["li"], contact, team["zhao"].id)
    service.share_contact(team["tenant"], team["li"], contact, team["sun"].id)
    service.share_contact(team["tenant"], team["li"], contact, team["sun"].id)        # again: no second row
    assert ContactShare.select().count() == 1
    shared = [e for e in events("contact_shared")]
    assert len(shared) == 1 and shared[0][1] == team["sun"].id and shared[0][3]["by"] == "李娜"
    # A shared colleague can leave the share but not remove someone else's.
    service.share_contact(team["tenant"], team["li"], contact, team["alice"].id)
    with pytest.raises(PermissionError):
        service.unshare_contact(team["tenant"], team["sun"], contact, team["alice"].id)
    service.unshare_contact(team["tenant"], team["sun"], contact, team["sun"].id)
    assert [p.login for p in service.shares_of(team["tenant"], contact)] == ["alice"]


# --- stand-ins --------------------------------------------------------------------------------------------

def test_a_stand_in_acts_for_the_owner_during_the_leave_only(team):
    contact = add_contact(team)
    now = utcnow()
    today = datetime.date.today()
    stand_in = service.set_stand_in(team["tenant"], team["li"], team["li"].id, team["sun"].id, "",
                                    (today + datetime.timedelta(days=3)).isoformat(), now=now)
    assert stand_in.starts_at <= now < stand_in.ends_at
    assert "王芳" in visible(team, "sun")
    assert access(team, "sun", contact) == service.Access(True, True, False, "stand_in")
    service.update_contact(team["tenant"], team["sun"], contact, {"title": "Changed by the stand-in"})
    with pytest.raises(PermissionError):
        service.transfer_contact(team["tenant"], team["sun"], contact, team["sun"].id)
    [announced] = events("contact_stand_in")
    assert announced[1] == team["sun"].id and announced[3]["name"] == "李娜"
    # After the end date it is over by itself.
    later = stand_in.ends_at + datetime.timedelta(seconds=1)
    assert service.stand_in_for(team["tenant"], team["li"].id, later) is None
    assert "王芳" not in {c.name for c in service.visible_contacts(team["tenant"], team["sun"], later)}
    # Ending it early.
    service.end_stand_in(team["tenant"], team["sun"], stand_in.id)
    assert service.stand_in_for(team["tenant"], team["li"].id) is None and "王芳" not in visible(team, "sun")


def test_a_future_stand_in_gives_nothing_yet_and_overlaps_are_refused(team):
    contact = add_contact(team)
    today = datetime.date.today()
    day = lambda n: (today + datetime.timedelta(days=n)).isoformat()   # noqa: E731
    later = service.set_stand_in(team["tenant"], team["wang"], team["li"].id, team["zhao"].id, day(10), day(12))
    assert later.created_by_id == team["wang"].id
    assert access(team, "zhao", contact) == service.NO_ACCESS
    with pytest.raises(ValidationError, match="already has a stand-in"):
        service.set_stand_in(team["tenant"], team["li"], team["li"].id, team["sun"].id, day(12), day(20))
    service.set_stand_in(team["tenant"], team["li"], team["li"].id, team["sun"].id, day(13), day(20))
    assert StandIn.select().count() == 2


@pytest.mark.parametrize("who, owner, delegate, first, last, field", [
    ("zhao", "li", "sun", "", "+3", "owner"),          # not oneself, not a report
    ("sun", "wang", "li", "", "+3", "owner"),
    ("li", "li", "li", "", "+3", "delegate"),
    ("li", "li", "nobody", "", "+3", "delegate"),
    ("li", "li", "sun", "", "", "last_day"),
    ("li", "li", "sun", "", "tomorrow", "last_day"),
    ("li", "li", "sun", "2020-01-01", "+3", "first_day"),
    ("li", "li", "sun", "+5", "+3", "last_day"),
    ("li", "li", "sun", "", "+400", "last_day"),
    ("li", "li", "sun", "2025-13-01", "+3", "first_day"),
])
def test_bad_stand_ins_are_refused(team, who, owner, delegate, first, last, field):
    today = datetime.date.today()

    def day(value):
        return (today + datetime.timedelta(days=int(value))).isoformat() if value.startswith("+") else value

    with pytest.raises(ValidationError) as caught:
        service.set_stand_in(team["tenant"], team[who], team[owner].id, team[delegate].id if delegate in team else 999,
                             day(first), day(last))
    assert caught.value.field == field
    assert StandIn.select().count() == 0


def test_a_stand_in_is_ended_only_by_those_involved(team):
    today = datetime.date.today()
    stand_in = service.set_stand_in(team["tenant"], team["li"], team["li"].id, team["sun"].id, "",
                                    (today + datetime.timedelta(days=2)).isoformat())
    with pytest.raises(LookupError):
        service.end_stand_in(team["tenant"], team["zhao"], stand_in.id)      # neither involved nor above li
    with pytest.raises(LookupError):
        service.end_stand_in(team["tenant"], team["li"], 999999)
    service.end_stand_in(team["tenant"], team["chen"], stand_in.id)       # a manager up the chain
    assert StandIn.get_by_id(stand_in.id).ended_at is not None


# --- handovers ---------------------------------------------------------------------------------------------

def test_deactivating_an_owner_offers_the_handover_to_their_manager(team):
    first = add_contact(team, "li", "First")
    add_contact(team, "li", "Second", phones=["13900139000"])
    service.share_contact(team["tenant"], team["li"], first, team["sun"].id)
    deactivate_person(team["li"], by="admin")
    offered = events("contact_handover")
    assert [(e[1], e[3]["count"], e[3]["name"]) for e in offered] == [(team["wang"].id, 2, "李娜")]
    assert [(p.departed.login, p.count) for p in service.pending_handovers(team["tenant"], team["wang"])] == [("li", 2)]
    assert service.pending_handovers(team["tenant"], team["chen"]) == []
    assert service.pending_handovers(team["tenant"], team["alice"]) == []
    # Nothing is lost meanwhile: the contacts keep their owner and stay visible up the chain and to the share.
    assert visible(team, "wang") == {"First", "Second"} and visible(team, "chen") == {"First", "Second"}
    assert "First" in visible(team, "sun")
    assert all(c.owner_id == team["li"].id for c in Contact.select())
    with pytest.raises(peewee.IntegrityError):
        with Contact._meta.database.atomic():
            team["li"].delete_instance()
    # The manager hands them over in one step.
    assert not service.may_hand_over(team["tenant"], team["zhao"], team["li"])
    with pytest.raises(LookupError):
        service.hand_over_departed(team["tenant"], team["zhao"], team["li"].id, team["zhao"].id)
    with pytest.raises(ValidationError):
        service.hand_over_departed(team["tenant"], team["wang"], team["li"].id, "")
    count = service.hand_over_departed(team["tenant"], team["wang"], team["li"].id, team["zhao"].id)
    assert count == 2 and {c.owner_id for c in Contact.select()} == {team["zhao"].id}
    assert service.pending_handovers(team["tenant"], team["wang"]) == []
    entries = Interaction.select().where(Interaction.kind == "handover")
    assert {(service.system_facts(e)["from"]["name"], service.system_facts(e)["to"]["name"], e.author_id)
            for e in entries} == {("李娜", "赵磊", team["wang"].id)}
    assert [e[1] for e in events("contact_owner")] == [team["zhao"].id]
    assert visible(team, "zhao") == {"First", "Second"}
    assert "First" in visible(team, "sun")          # the share stays


def test_with_no_active_manager_the_admins_are_offered_it_and_reactivation_withdraws_it(team):
    add_contact(team, "sun", "Sun's supplier")
    deactivate_person(team["sun"])
    assert [e[1] for e in events("contact_handover")] == [team["alice"].id]
    assert [p.departed.login for p in service.pending_handovers(team["tenant"], team["alice"])] == ["sun"]
    reactivate_person(team["sun"])
    assert service.pending_handovers(team["tenant"], team["alice"]) == []
    # An inactive manager is passed over for the next one up.
    add_contact(team, "li", "Li's", phones=["13900139000"])
    deactivate_person(team["wang"])
    deactivate_person(team["li"])
    assert [p.departed.login for p in service.pending_handovers(team["tenant"], team["chen"])] == ["li"]
    assert service.successor(team["tenant"], team["li"]).login == "chen"


def test_when_the_manager_holding_a_handover_leaves_the_next_one_up_is_offered_it(team):
    add_contact(team, "li", "Li's")
    deactivate_person(team["li"])
    add_contact(team, "zhao", "Zhao's", phones=["13900139000"])
    deactivate_person(team["zhao"])          # held by Wang too, who is still there
    assert [(e[1], e[3]["name"]) for e in events("contact_handover")] == [(team["wang"].id, "李娜"),
                                                                          (team["wang"].id, "赵磊")]
    deactivate_person(team["wang"])          # owns nothing, but held both
    offered = [(e[1], e[3]["name"]) for e in events("contact_handover")][2:]
    assert sorted(offered) == [(team["chen"].id, "李娜"), (team["chen"].id, "赵磊")]
    assert [p.departed.login for p in service.pending_handovers(team["tenant"], team["chen"])] == ["li", "zhao"]
    deactivate_person(team["sun"])           # unrelated: offers nothing again
    assert len(events("contact_handover")) == 4


def test_deactivating_someone_without_contacts_offers_nothing(team):
    deactivate_person(team["zhao"])
    assert events("contact_handover") == []


def test_handing_over_refuses_an_inactive_or_foreign_new_owner_and_changes_nothing(team, other_tenant):
    add_contact(team, "li", "Li's")
    deactivate_person(team["li"])
    deactivate_person(team["zhao"])
    stranger = make_person(other_tenant, "stranger")
    for new_owner in (team["zhao"].id, stranger.id, "x"):
        with pytest.raises(ValidationError):
            service.hand_over_departed(team["tenant"], team["wang"], team["li"].id, new_owner)
    assert {c.owner_id for c in Contact.select()} == {team["li"].id}
    with pytest.raises(LookupError):          # someone still active is not handed over this way
        service.hand_over_departed(team["tenant"], team["alice"], team["sun"].id, team["alice"].id)


def test_transfer_by_owner_manager_or_admin(team):
    contact = add_contact(team)
    with pytest.raises(ValidationError, match="responsible for this contact already"):
        service.transfer_contact(team["tenant"], team["li"], contact, team["li"].id)
    with pytest.raises(ValidationError):
        service.transfer_contact(team["tenant"], team["li"], contact, "")
    service.transfer_contact(team["tenant"], team["li"], contact, team["sun"].id)
    assert Contact.get_by_id(contact.id).owner_id == team["sun"].id
    assert service.contact_for(team["tenant"], team["li"], contact.id) is None        # given away
    service.transfer_contact(team["tenant"], team["alice"], contact, team["zhao"].id)
    assert service.contact_for(team["tenant"], team["wang"], contact.id) is not None  # now in wang's team


# --- history ------------------------------------------------------------------------------------------------

def test_history_entries_and_their_live_updates(team):
    contact = add_contact(team)
    service.share_contact(team["tenant"], team["li"], contact, team["sun"].id)
    before = len(events())
    service.add_interaction(team["tenant"], team["sun"], contact, "visit", "Visited the factory")
    call = service.add_interaction(team["tenant"], team["li"], contact, "call", None, answered=False)
    assert (call.answered, call.direction, call.body) == (False, "outbound", "")
    kinds = [e.kind for e in service.history(team["tenant"], contact)]
    assert kinds == ["call", "visit", "created"]
    live = [e for e in events()[before:] if e[2] == "contact_interaction"]
    audience = {e[1] for e in live if e[3]["kind"] == "visit"}
    assert audience == {team["li"].id, team["wang"].id, team["chen"].id, team["sun"].id, team["alice"].id}
    assert live[0][3]["body"] == "Visited the factory" and live[0][3]["author"]["name"] == "孙丽"
    with pytest.raises(PermissionError):
        service.add_interaction(team["tenant"], team["zhao"], contact, "note", "Not mine")


@pytest.mark.parametrize("kind, body, extra, field", [
    ("email", "x", {}, "kind"),
    ("note", "  ", {}, "body"),
    ("visit", "x" * 5001, {}, "body"),
    ("note", "a\x00b", {}, "body"),
    ("call", "", {}, "answered"),
    ("call", "", {"answered": "maybe"}, "answered"),
    ("call", "", {"answered": True, "direction": "sideways"}, "direction"),
    ("note", "x", {"happened_at": "yesterday"}, "happened_at"),
    ("note", "x", {"happened_at": "2999-01-01T09:00"}, "happened_at"),
    ("note", "x", {"happened_at": "1990-01-01T09:00"}, "happened_at"),
])
def test_bad_history_entries_are_refused(team, kind, body, extra, field):
    contact = add_contact(team)
    with pytest.raises(ValidationError) as caught:
        service.add_interaction(team["tenant"], team["li"], contact, kind, body, **extra)
    assert caught.value.field == field
    assert [e.kind for e in service.history(team["tenant"], contact)] == ["created"]


def test_a_time_without_offset_is_read_in_the_authors_zone(team):
    contact = add_contact(team)
    li = team["li"]
    li.timezone = "Asia/Shanghai"
    li.save()
    entry = service.add_interaction(team["tenant"], li, contact, "note", "x", happened_at="2025-03-01T09:30")
    assert entry.happened_at == datetime.datetime(2025, 3, 1, 1, 30)


# --- tags and the country code ---------------------------------------------------------------------------------

def test_preset_tags_are_kept_by_admins(team):
    custom = add_contact(team, tags=["Key Account"])
    tag = service.add_preset_tag(team["tenant"], "key account")       # the custom tag becomes preset
    assert tag.preset and tag.name == "Key Account" and ContactTag.select().count() == 1
    with pytest.raises(ValidationError, match="preset tag of this name already"):
        service.add_preset_tag(team["tenant"], "KEY ACCOUNT")
    assert service.tag_counts(team["tenant"]) == {tag.id: 1}
    service.set_tag_preset(team["tenant"], tag.id, False)
    assert not ContactTag.get_by_id(tag.id).preset
    service.delete_tag(team["tenant"], tag.id)
    assert service.contact_json(team["tenant"], custom)["tags"] == []
    with pytest.raises(LookupError):
        service.delete_tag(team["tenant"], tag.id)


def test_changing_the_country_code_reads_stored_numbers_again(team):
    contact = add_contact(team, phones=["212 555 0100", "+86 138 0013 8000"])
    assert service.country_code(team["tenant"]) == "86"
    for bad in ("", "0", "+", "1234", None):
        with pytest.raises(ValidationError):
            service.set_country_code(team["tenant"], bad)
    assert service.set_country_code(team["tenant"], "+1") == 1
    assert service.country_code(team["tenant"]) == "1"
    assert [p["normalized"] for p in service.contact_json(team["tenant"], contact)["phones"]] == [
        "12125550100", "8613800138000"]
    assert service.set_country_code(team["tenant"], "1") == 0
