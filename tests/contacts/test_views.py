"""Contact pages: adding, history, sharing, handing over, stand-ins, errors that keep what was typed, who reaches what."""
import datetime

from app.contacts import service
from app.contacts.models import Contact, ContactShare, ContactTag, Interaction, StandIn
from app.org.service import deactivate_person
from tests.conftest import csrf_from, make_person
from tests.contacts.conftest import add_contact, client_for


def token(client, path="/contacts/"):
    return csrf_from(client.get(path).get_data(as_text=True))


def test_adding_a_contact_through_the_form(app, team):
    service.add_preset_tag(team["tenant"], "Key account")
    li = client_for(app, "li")
    form = li.get("/contacts/new").get_data(as_text=True)
    assert 'value="Key account"' in form and f'<option value="{team["li"].id}" selected>' in form
    assert 'data-label="save"' in form
    sent = li.post("/contacts/new", data={
        "name": "王芳", "kind": "customer", "company": "示例贸易", "email": "wf@example.com",
        "phone_label": ["mobile", "work"], "phone": ["138 0013 8000", ""], "tags": ["Key account"],
        "custom_tags": "North region, 华北", "owner": str(team["li"].id), "csrf_token": csrf_from(form)})
    contact = Contact.get()
    assert sent.status_code == 302 and sent.headers["Location"] == f"/contacts/{contact.id}"
    page = li.get(f"/contacts/{contact.id}").get_data(as_text=True)
    for text in ("王芳", "示例贸易", "138 0013 8000", 'href="tel:+8613800138000"', "Key account", "North region", "华北",
                 "Added"):
        assert text in page, text
    listing = li.get("/contacts/?q=shimao").get_data(as_text=True)
    assert "王芳" not in listing
    listing = li.get("/contacts/?q=wangfang").get_data(as_text=True)
    assert f'data-contact="{contact.id}"' in listing and "Responsible: 李娜" in listing


def test_form_errors_keep_what_was_typed_and_save_nothing(app, team):
    li = client_for(app, "li")
    csrf = token(li, "/contacts/new")
    bad = li.post("/contacts/new", data={"name": "王芳", "company": "Keep Me Co", "phone_label": ["mobile", "work"],
                                         "phone": ["138 0013 8000", "not a number"], "custom_tags": "vip",
                                         "csrf_token": csrf})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Not a valid phone number." in page
    assert 'id="phone_1" name="phone" type="tel" value="not a number"' in page and 'aria-invalid="true"' in page
    assert 'value="Keep Me Co"' in page and 'value="vip"' in page and 'value="138 0013 8000"' in page
    assert Contact.select().count() == 0 and ContactTag.select().count() == 0
    empty = li.post("/contacts/new", data={"name": " ", "csrf_token": csrf})
    assert empty.status_code == 400 and "This field is required." in empty.get_data(as_text=True)
    assert li.post("/contacts/new", data={"name": "No token"}).status_code == 400
    assert Contact.select().count() == 0


def test_editing_and_history_through_the_pages(app, team):
    contact = add_contact(team, company="Old Co")
    li = client_for(app, "li")
    form = li.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'value="Old Co"' in form and 'value="138 0013 8000"' in form and 'name="owner"' not in form
    saved = li.post(f"/contacts/{contact.id}/edit", data={"name": "王芳", "company": "New Co", "phone": ["13800138000"],
                                                          "phone_label": ["work"], "csrf_token": csrf_from(form)})
    assert saved.status_code == 302 and Contact.get_by_id(contact.id).company == "New Co"
    page = li.get(f"/contacts/{contact.id}").get_data(as_text=True)
    csrf = csrf_from(page)
    added = li.post(f"/contacts/{contact.id}/history", data={"kind": "visit", "body": "Visited the plant",
                                                             "csrf_token": csrf})
    assert added.status_code == 302 and added.headers["Location"].endswith("#history")
    missed = li.post(f"/contacts/{contact.id}/history", data={"kind": "call", "answered": "0", "body": "",
                                                              "csrf_token": csrf})
    assert missed.status_code == 302
    page = li.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Visited the plant" in page and "not answered" in page and 'class="call-missed"' in page
    bad = li.post(f"/contacts/{contact.id}/history", data={"kind": "note", "body": "Keep this text",
                                                           "happened_at": "2999-01-01T10:00", "csrf_token": csrf})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Choose a time that is not in the future." in text
    assert ">Keep this text</textarea>" in text and 'value="2999-01-01T10:00"' in text
    no_answer = li.post(f"/contacts/{contact.id}/history", data={"kind": "call", "csrf_token": csrf})
    assert no_answer.status_code == 400 and "Say whether the call was answered." in no_answer.get_data(as_text=True)
    assert Interaction.select().count() == 3


def test_sharing_handing_over_and_deleting(app, team):
    contact = add_contact(team)
    li = client_for(app, "li")
    csrf = token(li, f"/contacts/{contact.id}")
    assert li.post(f"/contacts/{contact.id}/shares", data={"person": team["sun"].id, "csrf_token": csrf}).status_code == 302
    refused = li.post(f"/contacts/{contact.id}/shares", data={"person": "999999", "csrf_token": csrf})
    assert refused.status_code == 400 and "Choose an active colleague" in refused.get_data(as_text=True)
    sun = client_for(app, "sun")
    page = sun.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "李娜 shared this contact with you." in page and ">Leave</button>" in page
    assert f'/contacts/{contact.id}/edit"' not in page and "Hand over to a colleague" not in page
    sun_csrf = csrf_from(page)
    for path in (f"/contacts/{contact.id}/edit", f"/contacts/{contact.id}/delete", f"/contacts/{contact.id}/owner",
                 f"/contacts/{contact.id}/shares"):
        assert sun.post(path, data={"csrf_token": sun_csrf, "person": team["zhao"].id, "owner": team["sun"].id,
                                    "name": "x"}).status_code == 403, path
    assert sun.get(f"/contacts/{contact.id}/edit").status_code == 403
    # Sun may add to the history and leave the share.
    assert sun.post(f"/contacts/{contact.id}/history", data={"kind": "note", "body": "Hi", "csrf_token": sun_csrf}
                    ).status_code == 302
    left = sun.post(f"/contacts/{contact.id}/shares/{team['sun'].id}/remove", data={"csrf_token": sun_csrf})
    assert left.status_code == 302 and left.headers["Location"] == "/contacts/"
    assert ContactShare.select().count() == 0 and sun.get(f"/contacts/{contact.id}").status_code == 404
    # Li hands it to Zhao and no longer sees it; Wang (manager) still does and deletes it.
    same = li.post(f"/contacts/{contact.id}/owner", data={"owner": team["li"].id, "csrf_token": csrf})
    assert same.status_code == 400 and "responsible for this contact already" in same.get_data(as_text=True)
    handed = li.post(f"/contacts/{contact.id}/owner", data={"owner": team["zhao"].id, "csrf_token": csrf})
    assert handed.status_code == 302 and handed.headers["Location"] == "/contacts/"
    assert li.get(f"/contacts/{contact.id}").status_code == 404
    wang = client_for(app, "wang")
    page = wang.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "From 李娜 to 赵磊" in page and "Delete contact" in page
    assert wang.post(f"/contacts/{contact.id}/delete", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert Contact.select().count() == 0 and Interaction.select().count() == 0


def test_outsiders_and_other_tenants_find_nothing(app, team, other_tenant):
    contact = add_contact(team)
    zhao = client_for(app, "zhao")
    csrf = token(zhao)
    for path in (f"/contacts/{contact.id}", f"/contacts/{contact.id}/edit"):
        assert zhao.get(path).status_code == 404
    for path in (f"/contacts/{contact.id}/edit", f"/contacts/{contact.id}/delete", f"/contacts/{contact.id}/history",
                 f"/contacts/{contact.id}/shares", f"/contacts/{contact.id}/owner",
                 f"/contacts/{contact.id}/shares/{team['zhao'].id}/remove"):
        assert zhao.post(path, data={"csrf_token": csrf, "kind": "note", "body": "x", "person": team["zhao"].id,
                                     "owner": team["zhao"].id, "name": "x"}).status_code == 404, path
    assert "王芳" not in zhao.get("/contacts/").get_data(as_text=True)
    make_person(other_tenant, "li", display_name="Other Li")
    foreign = client_for(app, "li", host="globex.example")
    assert foreign.get(f"/contacts/{contact.id}", base_url="http://globex.example").status_code == 404
    assert "王芳" not in foreign.get("/contacts/", base_url="http://globex.example").get_data(as_text=True)
    assert Interaction.select().count() == 1
    assert client_for(app, "sun").get("/contacts/tags").status_code == 403
    assert app.test_client().get("/contacts/").status_code == 302       # to the login page


def test_the_stand_in_page(app, team):
    contact = add_contact(team)
    li = client_for(app, "li")
    page = li.get("/contacts/stand-in").get_data(as_text=True)
    assert f'<option value="{team["zhao"].id}"' not in page.split('id="owner"')[1].split("</select>")[0]
    last = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    bad = li.post("/contacts/stand-in", data={"owner": team["li"].id, "delegate": team["sun"].id, "last_day": "",
                                              "csrf_token": csrf_from(page)})
    assert bad.status_code == 400 and "Give the last day of the leave." in bad.get_data(as_text=True)
    assert f'<option value="{team["sun"].id}" selected>' in bad.get_data(as_text=True)
    done = li.post("/contacts/stand-in", data={"owner": team["li"].id, "delegate": team["sun"].id, "last_day": last,
                                               "csrf_token": csrf_from(page)})
    assert done.status_code == 302
    sun = client_for(app, "sun")
    listing = sun.get("/contacts/?which=standing_in").get_data(as_text=True)
    assert "王芳" in listing and "孙丽 stands in for 李娜" in listing
    assert "You see this contact as the stand-in for 李娜." in sun.get(f"/contacts/{contact.id}").get_data(as_text=True)
    stand_in = StandIn.get()
    zhao = client_for(app, "zhao")
    assert zhao.post(f"/contacts/stand-in/{stand_in.id}/end", data={"csrf_token": token(zhao)}).status_code == 404
    assert li.post(f"/contacts/stand-in/{stand_in.id}/end", data={"csrf_token": token(li)}).status_code == 302
    assert sun.get(f"/contacts/{contact.id}").status_code == 404


def test_the_handover_to_do_on_the_home_and_contacts_pages(app, team):
    add_contact(team, "li", "First")
    add_contact(team, "li", "Second", phones=["13900139000"])
    deactivate_person(team["li"])
    wang = client_for(app, "wang")
    home = wang.get("/").get_data(as_text=True)
    assert "李娜 has left: hand over their 2 contacts" in home and f'href="/contacts/handover/{team["li"].id}"' in home
    listing = wang.get("/contacts/").get_data(as_text=True)
    assert f'data-departed="{team["li"].id}"' in listing and "has left" in listing
    assert "hand over" not in client_for(app, "chen").get("/").get_data(as_text=True)
    assert client_for(app, "zhao").get(f"/contacts/handover/{team['li'].id}").status_code == 404
    assert wang.get(f"/contacts/handover/{team['sun'].id}").status_code == 404        # still active
    page = wang.get(f"/contacts/handover/{team['li'].id}").get_data(as_text=True)
    assert "First" in page and "Second" in page and "Hand over 2 contacts" in page
    bad = wang.post(f"/contacts/handover/{team['li'].id}", data={"owner": "", "csrf_token": csrf_from(page)})
    assert bad.status_code == 400 and "Choose who takes the contacts over." in bad.get_data(as_text=True)
    done = wang.post(f"/contacts/handover/{team['li'].id}", data={"owner": team["zhao"].id,
                                                                 "csrf_token": csrf_from(page)})
    assert done.status_code == 302
    assert {c.owner_id for c in Contact.select()} == {team["zhao"].id}
    assert "has left" not in wang.get("/").get_data(as_text=True)
    assert "no contacts left" in wang.get(f"/contacts/handover/{team['li'].id}").get_data(as_text=True)


def test_preset_tags_page(app, team):
    alice = client_for(app, "alice")
    page = alice.get("/contacts/tags").get_data(as_text=True)
    bad = alice.post("/contacts/tags", data={"name": "a;b", "csrf_token": csrf_from(page)})
    assert bad.status_code == 400 and 'value="a;b"' in bad.get_data(as_text=True)
    assert alice.post("/contacts/tags", data={"name": "Key account", "csrf_token": csrf_from(page)}).status_code == 302
    tag = ContactTag.get()
    assert tag.preset and "Key account" in client_for(app, "li").get("/contacts/new").get_data(as_text=True)
    assert alice.post(f"/contacts/tags/{tag.id}/preset", data={"preset": "0", "csrf_token": csrf_from(page)}
                      ).status_code == 302
    assert not ContactTag.get_by_id(tag.id).preset
    assert alice.post(f"/contacts/tags/{tag.id}/delete", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert alice.post(f"/contacts/tags/{tag.id}/delete", data={"csrf_token": csrf_from(page)}).status_code == 404
    assert ContactTag.select().count() == 0
