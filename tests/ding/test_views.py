"""DING pages: sending, confirming, stopping, errors, isolation, and the live script on every page."""
import datetime
import re
import zoneinfo
from pathlib import Path


from app.db import utcnow
from app.ding import service
from app.ding.models import Ding
from tests.conftest import csrf_from, make_person
from tests.ding.conftest import client_for



def token(client, path="/ding/"):
    return csrf_from(client.get(path).get_data(as_text=True))


def test_send_confirm_and_stop_through_the_pages(app, team):
    wei_c, li_c = client_for(app, "wei"), client_for(app, "li")
    form = wei_c.get("/ding/new").get_data(as_text=True)
    assert 'data-label="ding"' in form and "李娜 (li)" in form and "张伟 (wei)" not in form
    sent = wei_c.post("/ding/new", data={"recipients": [team["li"].id, team["bob"].id], "text": "Call me now",
                                         "remind_minutes": "15", "send_at": "", "csrf_token": csrf_from(form)})
    assert sent.status_code == 302
    ding = Ding.get()
    assert sent.headers["Location"] == f"/ding/{ding.id}" and ding.remind_minutes == 15
    page = wei_c.get(f"/ding/{ding.id}").get_data(as_text=True)
    assert "0 confirmed · 2 not yet" in page and "Stop reminders" in page and "Reminders every 15 minutes" in page

    mine = li_c.get("/ding/").get_data(as_text=True)
    assert "Call me now" in mine and f'action="/ding/{ding.id}/confirm"' in mine and "ding-waiting" in mine
    done = li_c.post(f"/ding/{ding.id}/confirm", data={"csrf_token": csrf_from(mine), "next": "/ding/"})
    assert done.status_code == 302 and done.headers["Location"] == "/ding/"
    assert f'action="/ding/{ding.id}/confirm"' not in li_c.get("/ding/").get_data(as_text=True)
    again = li_c.post(f"/ding/{ding.id}/confirm", data={"csrf_token": csrf_from(mine)},
                      headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.json["id"] == ding.id and again.json["confirmed_at"].endswith("Z")
    assert "You confirmed at" in li_c.get(f"/ding/{ding.id}").get_data(as_text=True)
    offsite = li_c.post(f"/ding/{ding.id}/confirm", data={"csrf_token": csrf_from(mine), "next": "//evil.example/"})
    assert offsite.headers["Location"] == f"/ding/{ding.id}"

    page = wei_c.get(f"/ding/{ding.id}").get_data(as_text=True)
    assert "1 confirmed · 1 not yet" in page
    assert wei_c.post(f"/ding/{ding.id}/stop", data={"csrf_token": csrf_from(page)}).status_code == 302
    page = wei_c.get(f"/ding/{ding.id}").get_data(as_text=True)
    assert "Reminders stopped" in page and 'id="ding-stop"' not in page
    assert "1 confirmed · 1 not yet" in wei_c.get("/ding/").get_data(as_text=True)
    assert wei_c.post(f"/ding/{ding.id}/stop", data={}).status_code == 400          # no CSRF token


def test_form_errors_keep_what_was_typed_and_save_nothing(app, team):
    wei_c = client_for(app, "wei")
    csrf = token(wei_c, "/ding/new")
    empty = wei_c.post("/ding/new", data={"recipients": [team["li"].id], "text": " ", "csrf_token": csrf})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 400 and "Write what the DING is about." in page
    assert f'<option value="{team["li"].id}" selected>' in page
    past = wei_c.post("/ding/new", data={"recipients": [team["li"].id], "text": "Later", "send_at": "2020-01-01T09:00",
                                         "csrf_token": csrf})
    assert past.status_code == 400 and "Choose a time in the future." in past.get_data(as_text=True)
    assert "Later" in past.get_data(as_text=True)
    nobody = wei_c.post("/ding/new", data={"text": "Hello", "csrf_token": csrf})
    assert nobody.status_code == 400 and "Choose at least one person." in nobody.get_data(as_text=True)
    assert Ding.select().count() == 0


def test_the_form_reads_send_at_in_the_persons_time_zone(app, team):
    wei = team["wei"]
    wei.timezone = "America/New_York"
    wei.save()
    wei_c = client_for(app, "wei")
    page = wei_c.get("/ding/new").get_data(as_text=True)
    assert "America/New_York" in page
    local = (datetime.datetime.now(zoneinfo.ZoneInfo("America/New_York")) + datetime.timedelta(hours=2))
    response = wei_c.post("/ding/new", data={"recipients": [team["li"].id], "text": "Stand-up",
                                             "send_at": local.strftime("%Y-%m-%dT%H:%M"), "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    ding = Ding.get()
    assert abs((ding.send_at - utcnow()) - datetime.timedelta(hours=2)) < datetime.timedelta(minutes=2)
    assert ding.sent_at is None
    shown = wei_c.get(f"/ding/{ding.id}").get_data(as_text=True)
    assert "Scheduled for" in shown and local.strftime("%-I:%M") in shown and "Cancel the DING" in shown


def test_nobody_else_reaches_a_ding(app, team, other_tenant):
    t = team["tenant"]
    secret = service.send_ding(t, team["wei"], "the secret plan", [team["li"].id])
    later = service.send_ding(t, team["wei"], "the later secret", [team["li"].id],
                              send_at=utcnow() + datetime.timedelta(hours=1))
    outsider = make_person(other_tenant, "zed")
    theirs = service.send_ding(other_tenant, outsider, "globex secret", [make_person(other_tenant, "yan").id])
    make_person(other_tenant, "dan")
    clients = {"dan": client_for(app, "dan"), "li": client_for(app, "li"),
               "globex dan": client_for(app, "dan", host="globex.example")}
    cases = [("dan", secret.id), ("dan", later.id), ("dan", theirs.id), ("li", later.id), ("li", theirs.id),
             ("li", 999999), ("globex dan", secret.id)]
    for who, ding_id in cases:
        client = clients[who]
        base = "http://globex.example" if who.startswith("globex") else "http://localhost"
        csrf = csrf_from(client.get("/ding/", base_url=base).get_data(as_text=True))
        for method, path in (("get", f"/ding/{ding_id}"), ("post", f"/ding/{ding_id}/confirm"),
                             ("post", f"/ding/{ding_id}/stop")):
            response = getattr(client, method)(path, base_url=base,
                                               data={"csrf_token": csrf} if method == "post" else None)
            assert response.status_code == 404, (who, method, path)
            assert "secret" not in response.get_data(as_text=True)
    for who, client in clients.items():
        base = "http://globex.example" if who.startswith("globex") else "http://localhost"
        for path in ("/ding/", "/ding/pending"):
            body = client.get(path, base_url=base).get_data(as_text=True)
            assert "the later secret" not in body and "globex secret" not in body
            assert ("the secret plan" in body) == (who == "li")
    # A recipient knows the DING exists, but only its sender stops it.
    li_csrf = token(clients["li"])
    assert clients["li"].post(f"/ding/{secret.id}/stop", data={"csrf_token": li_csrf}).status_code == 403
    assert Ding.get_by_id(secret.id).stopped_at is None


def test_pending_alerts_for_a_page_opened_later(app, team):
    ding = service.send_ding(team["tenant"], team["wei"], "Urgent", [team["li"].id, team["bob"].id])
    li_c = client_for(app, "li")
    pending = li_c.get("/ding/pending").json["dings"]
    assert [(d["id"], d["text"], d["urgent"], d["confirm_url"]) for d in pending] == [
        (ding.id, "Urgent", True, f"/ding/{ding.id}/confirm")]
    service.confirm(team["tenant"], team["li"], ding.id)
    assert li_c.get("/ding/pending").json["dings"] == []
    bob_c = client_for(app, "bob")
    service.stop(team["tenant"], team["wei"], ding.id)
    assert bob_c.get("/ding/pending").json["dings"] == []
    assert "Urgent" in bob_c.get("/ding/").get_data(as_text=True)      # still listed, and can still be confirmed


def test_every_signed_in_page_listens_for_dings(app, team):
    client = client_for(app, "li")
    for path in ("/", "/people", "/ding/", "/announcements/", "/chat/", "/me/settings"):
        page = client.get(path).get_data(as_text=True)
        assert page.count("/static/live.js") == 1 and page.count("/static/ding.js") == 1, path
        assert page.index("/static/live.js") < page.index("/static/ding.js"), path
        assert re.search(r'<body[^>]* data-live data-last-event-id="\d+"', page), path
        assert "data-pending-url=\"/ding/pending\"" in page and 'data-text-from="DING from {name}"' in page
    anonymous = app.test_client().get("/login").get_data(as_text=True)
    assert "ding.js" not in anonymous and "data-live" not in anonymous


def test_the_ding_button_carries_the_tenants_label(app, team):
    from app.brand.pack import build_pack, read_pack
    from app.brand.service import apply_pack

    files = read_pack(Path(__file__).resolve().parents[2] / "branding" / "default")
    files["brand.toml"] = files["brand.toml"].replace(b"[buttons.labels]\n", b'[buttons.labels]\nding = "Urgent!"\n', 1)
    apply_pack(team["tenant"], build_pack(files), note="test")
    page = client_for(app, "wei").get("/ding/").get_data(as_text=True)
    assert re.search(r'data-label="ding">\s*Urgent!', page)
    assert 'data-text-from="Urgent! from {name}"' in page
