"""The notification centre, the unread badge and its live updates, the admin's email page and the digest setting."""
from __future__ import annotations

import json
import re

import pytest

from app.chat import service as chat
from app.ding import service as ding
from app.events import hub as hubmod
from app.events import latest_id
from app.events.models import Event
from app.notify.models import EmailSettings, Notification, NotificationPreference, OutgoingEmail
from app.notify.service import notify, unread_count
from tests.conftest import csrf_from, make_person
from tests.inert import problems
from tests.notify.conftest import client_for


def badge(html: str) -> str:
    found = re.search(r'<span class="unread( hidden)?" data-notifications-unread>(\d+)</span>', html)
    assert found, "the page has no notification badge"
    return ("hidden " if found.group(1) else "") + found.group(2)


def post(client, path, data=None, page="/notifications/", **kw):
    html = client.get(page).get_data(as_text=True)
    return client.post(path, data={**(data or {}), "csrf_token": csrf_from(html)}, **kw)


def test_the_centre_lists_notifications_with_the_badge_and_marks_them_read(app, team):
    t, wei, bob = team["tenant"], team["wei"], team["bob"]
    conv = chat.direct_conversation(t, wei, bob.id)
    message = chat.post_message(t, conv, wei, "@bob 请看 <b>报价</b>")
    sent = ding.send_ding(t, wei, "Server room", [bob.id])
    client = client_for(app, "bob")
    home = client.get("/").get_data(as_text=True)
    assert badge(home) == "2"
    page = client.get("/notifications/").get_data(as_text=True)
    assert "张伟 mentioned you" in page and "DING from 张伟" in page
    excerpts = re.findall(r'<p class="notification-text">(.*?)</p>', page, re.S)
    assert excerpts == ["Server room", "@bob 请看 &lt;b&gt;报价&lt;/b&gt;"]
    assert all(problems(e) == [] for e in excerpts)                               # the excerpt stays inert
    assert page.index("DING from 张伟") < page.index("张伟 mentioned you")       # newest first
    mention = Notification.get(Notification.kind == "mention")
    assert mention.link == f"/chat/{conv.id}#m{message.id}"

    opened = client.get(f"/notifications/{mention.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == f"/chat/{conv.id}#m{message.id}"
    assert badge(client.get("/").get_data(as_text=True)) == "1"
    unread_page = client.get("/notifications/?unread=1").get_data(as_text=True)
    assert "DING from 张伟" in unread_page and "mentioned you" not in unread_page

    ding.confirm(t, bob, sent.id)                    # dealing with it reads its notification
    assert badge(client.get("/").get_data(as_text=True)) == "hidden 0"
    assert "No unread notifications." in client.get("/notifications/?unread=1").get_data(as_text=True)


def test_mark_one_and_mark_all_read(app, team):
    t, li = team["tenant"], team["li"]
    for n in range(3):
        notify(t, li, "task_reminder", {"title": f"Report {n}"})
    client = client_for(app, "li")
    first = Notification.select().order_by(Notification.id).first()
    response = post(client, f"/notifications/{first.id}/read", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json["unread"] == 2 and response.json["id"] == first.id
    again = post(client, f"/notifications/{first.id}/read", {"next": "/notifications/?unread=1"})
    assert again.status_code == 302 and again.headers["Location"] == "/notifications/?unread=1"
    done = post(client, "/notifications/read-all")
    assert done.status_code == 302 and unread_count(li) == 0
    assert "所有通知已标为已读。" in client.get("/notifications/").get_data(as_text=True)   # li reads Chinese
    assert post(client, "/notifications/read-all", headers={"Accept": "application/json"}).json == {
        "changed": 0, "unread": 0}


def test_others_notifications_do_not_exist(app, team, other_tenant):
    t, bob = team["tenant"], team["bob"]
    notify(t, bob, "task_reminder", {"title": "Bob's"})
    stranger = make_person(other_tenant, "zed")
    notify(other_tenant, stranger, "task_reminder", {"title": "Globex"})
    notify(t, stranger, "task_reminder", {"title": "Not ours"})          # another tenant's person: left out
    assert Notification.select().where(Notification.person == stranger).count() == 1
    client = client_for(app, "li")
    for n in list(Notification.select()):
        assert client.get(f"/notifications/{n.id}/open").status_code == 404
        assert post(client, f"/notifications/{n.id}/read").status_code == 404
    assert "Bob's" not in client.get("/notifications/").get_data(as_text=True)
    assert client.get("/notifications/99999/open").status_code == 404
    assert app.test_client().get("/notifications/").status_code == 302          # login first


def test_an_unknown_kind_is_refused_and_inactive_people_are_left_out(app, team):
    with pytest.raises(ValueError):
        notify(team["tenant"], team["li"], "no_such_kind")
    team["bob"].is_active = False
    team["bob"].save()
    assert notify(team["tenant"], [team["li"], team["bob"].id, team["li"].id], "task_reminder", {"title": "x"}) == 1


def test_a_link_that_leaves_the_site_is_not_followed(app, team):
    notify(team["tenant"], team["li"], "task_reminder", {"title": "x"}, link="//evil.example/")
    client = client_for(app, "li")
    opened = client.get(f"/notifications/{Notification.get().id}/open")
    assert opened.headers["Location"] == "/notifications/"


def test_events_carry_the_title_in_the_readers_language_and_the_unread_count(app, team):
    t, li, bob = team["tenant"], team["li"], team["bob"]
    start = latest_id()
    with app.app_context():
        notify(t, [li, bob], "mention", {"sender": "张伟", "text": "hi"}, link="/chat/1")
    rows = {e.audience_id: json.loads(e.payload) for e in Event.select().where(
        (Event.id > start) & (Event.kind == "notification"))}
    assert set(rows) == {li.id, bob.id}
    assert rows[bob.id]["title"] == "张伟 mentioned you" and rows[bob.id]["unread"] == 1
    assert rows[li.id]["unread"] == 1 and rows[li.id]["text"] == "hi" and rows[li.id]["urgent"] is False
    assert rows[li.id]["url"] == f"/notifications/{rows[li.id]['id']}/open" and rows[li.id]["link"] == "/chat/1"
    client = client_for(app, "li")
    post(client, f"/notifications/{rows[li.id]['id']}/read")
    read = [json.loads(e.payload) for e in Event.select().where(Event.kind == "notifications_read")]
    assert read == [{"ids": [rows[li.id]["id"]], "unread": 0}]


@pytest.fixture
def fast_stream(monkeypatch):
    from app.events import views

    monkeypatch.setattr(views, "HEARTBEAT_SECONDS", 0.05)
    hubmod.reset_for_tests()
    yield
    hubmod.hub.stop()


def test_a_notification_arrives_live_on_the_stream(app, team, fast_stream):
    client = client_for(app, "bob")
    response = client.get("/events?after=" + str(latest_id()), buffered=False)
    stream = iter(response.response)
    assert next(stream).decode().startswith("retry:")
    notify(team["tenant"], team["bob"], "approval_request", {"sender": "张伟", "what": "leave"})
    assert hubmod.wait_until_routed(latest_id())
    for chunk in stream:
        text = chunk.decode()
        if text.startswith("id:"):
            assert "event: notification" in text
            payload = json.loads(text.split("data: ", 1)[1])
            assert payload["title"] == "张伟 asks for your approval: Leave" and payload["unread"] == 1
            break
    response.close()


def test_the_badge_and_centre_work_on_a_phone_and_the_page_has_no_inline_script(app, team):
    notify(team["tenant"], team["li"], "task_reminder", {"title": "Report"})
    client = client_for(app, "li")
    response = client.get("/notifications/", headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
    html = response.get_data(as_text=True)
    assert 'name="viewport"' in html and 'class="bell"' in html and "<script>" not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_digest_setting_on_me(app, team, relay):
    client = client_for(app, "bob")
    page = client.get("/me/settings").get_data(as_text=True)
    assert 'name="daily_digest"' in page and "does not send email yet" in page
    response = client.post("/me/settings", data={"daily_digest": "1", "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert NotificationPreference.get(NotificationPreference.person == team["bob"]).daily_digest is True
    page = client.get("/me/settings").get_data(as_text=True)
    assert re.search(r'name="daily_digest" value="1" checked', page)
    client.post("/me/settings", data={"csrf_token": csrf_from(page)})
    assert NotificationPreference.get(NotificationPreference.person == team["bob"]).daily_digest is False
    dan = client_for(app, "dan")
    EmailSettings.create(tenant=team["tenant"], enabled=True)
    assert "has no email address" in dan.get("/me/settings").get_data(as_text=True)


def test_the_admin_email_page_saves_checks_and_never_shows_the_password(app, team, relay, tmp_path):
    client = client_for(app, "wei")
    page = client.get("/admin/email/").get_data(as_text=True)
    assert f"127.0.0.1:{relay.port}" in page and "atrium@acme.example" in page
    good = {"enabled": "1", "from_address": "notice@acme.example", "from_name": "Acme 通知", "ding_delay_minutes": "15",
            "digest_time": "07:30"}
    for field, value, message in [("ding_delay_minutes", "0", "from 1 to 1440"),
                                  ("ding_delay_minutes", "abc", "from 1 to 1440"),
                                  ("ding_delay_minutes", "1441", "from 1 to 1440"),
                                  ("digest_time", "25:00", "Use the form 08:00."),
                                  ("from_address", "not an address", "Not a valid email address."),
                                  ("from_name", "a\x00b", "not allowed")]:
        bad = client.post("/admin/email/", data={**good, field: value, "csrf_token": csrf_from(page)})
        assert bad.status_code == 400 and message in bad.get_data(as_text=True), field
        kept = "from_name" if field == "from_address" else "from_address"
        assert f'value="{good[kept]}"' in bad.get_data(as_text=True)                 # nothing typed is lost
    assert EmailSettings.select().count() == 0
    saved = client.post("/admin/email/", data={**good, "csrf_token": csrf_from(page)})
    assert saved.status_code == 302
    row = EmailSettings.get()
    assert (row.enabled, row.from_address, row.from_name, row.ding_delay_minutes, row.digest_time) == (
        True, "notice@acme.example", "Acme 通知", 15, "07:30")
    assert "/admin/email/" in client.get("/admin/people").get_data(as_text=True)    # in the admin's menu
    assert client_for(app, "li").get("/admin/email/").status_code == 403


def test_the_test_email_is_queued_for_the_admin_and_sent(app, team, relay):
    from app.notify.outbox import send_due

    client = client_for(app, "wei")
    page = client.get("/admin/email/").get_data(as_text=True)
    refused = client.post("/admin/email/test", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "Switch email on and save first." in refused.get_data(as_text=True)
    client.post("/admin/email/", data={"enabled": "1", "ding_delay_minutes": "10", "digest_time": "08:00",
                                       "csrf_token": csrf_from(page)})
    queued = client.post("/admin/email/test", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "A test email to wei@acme.example is queued" in queued.get_data(as_text=True)
    with app.app_context():
        assert send_due(app.config["ATRIUM"])["sent"] == 1
    assert relay.mailbox.messages[0]["Subject"] == "Test email"
    assert 'data-count="sent">1<' in client.get("/admin/email/").get_data(as_text=True)


def test_email_cannot_be_switched_on_without_a_relay(app, tenant):
    from app.notify.service import save_email_settings
    from app.validation import ValidationError

    with app.app_context():
        app.config["ATRIUM"].smtp.host = ""
        with pytest.raises(ValidationError) as info:
            save_email_settings(tenant, {"enabled": "1", "ding_delay_minutes": "10", "digest_time": "08:00"})
    assert info.value.field == "enabled"
    assert OutgoingEmail.select().count() == 0


def test_reading_a_conversation_reads_the_mentions_in_it_and_no_others(app, team):
    t, wei, li, bob = team["tenant"], team["wei"], team["li"], team["bob"]
    group = chat.create_group(t, wei, "Quotes", [li.id, bob.id])
    direct = chat.direct_conversation(t, wei, bob.id)
    first = chat.post_message(t, group, wei, "@bob the first quote")
    chat.post_message(t, direct, wei, "@bob in another conversation")
    client = client_for(app, "bob")
    assert badge(client.get("/").get_data(as_text=True)) == "2"

    page = client.get(f"/chat/{group.id}")                # opening the conversation reads it
    assert page.status_code == 200
    assert badge(client.get("/").get_data(as_text=True)) == "1"
    still = Notification.get((Notification.person == bob.id) & Notification.read_at.is_null())
    assert still.link.startswith(f"/chat/{direct.id}#")  # the other conversation's mention is still unread
    assert Notification.get(Notification.ref == f"message:{first.id}").read_at is not None

    later = chat.post_message(t, group, wei, "@bob and @li a second one")
    assert unread_count(bob) == 2                         # a mention after the read position is news again
    chat.mark_read(bob, group, up_to=first.id)            # reading up to an older message changes nothing
    assert unread_count(bob) == 2
    chat.mark_read(bob, group)
    assert unread_count(bob) == 1
    assert Notification.get((Notification.ref == f"message:{later.id}") & (Notification.person == li.id)).read_at \
        is None                                           # Li has not read it
    chat.mark_all_read(bob)
    assert unread_count(bob) == 0
