"""Announcement pages: publishing, reading and confirming, read rates and isolation."""

from app.announce import service
from app.announce.models import Announcement, AnnouncementRead
from app.org.service import save_department
from tests.conftest import csrf_from, make_person
from tests.ding.conftest import client_for


def test_publish_read_confirm_and_see_the_rates(app, org):
    ada = client_for(app, "ada")
    form = ada.get("/announcements/new").get_data(as_text=True)
    assert 'value="all"' in form and "总部 HQ / Sales / East" in form
    published = ada.post("/announcements/new", data={
        "title": "Fire drill", "body": "Thursday 10:00.\nLeave by the stairs.", "audience": "all", "important": "1",
        "csrf_token": csrf_from(form)})
    assert published.status_code == 302
    a = Announcement.get()
    assert published.headers["Location"] == f"/announcements/{a.id}" and a.to_all and a.important

    ed = client_for(app, "ed")
    listing = ed.get("/announcements/").get_data(as_text=True)
    assert "Fire drill" in listing and "announcement-unread" in listing and "Important" in listing
    page = ed.get(f"/announcements/{a.id}").get_data(as_text=True)
    assert "Thursday 10:00.<br>Leave by the stairs." in page and "To everyone" in page
    assert "Read rates" not in page
    done = ed.post(f"/announcements/{a.id}/confirm", data={"csrf_token": csrf_from(page), "next": "/announcements/"})
    assert done.status_code == 302 and done.headers["Location"] == "/announcements/"
    again = ed.post(f"/announcements/{a.id}/confirm", data={"csrf_token": csrf_from(page)},
                    headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.json["id"] == a.id
    assert AnnouncementRead.select().count() == 1
    assert "You confirmed reading it" in ed.get(f"/announcements/{a.id}").get_data(as_text=True)

    stats = ada.get(f"/announcements/{a.id}/stats").get_data(as_text=True)
    assert "1 of 6 have read it (16%)" in stats
    assert "Eve Eng" in stats.split('id="not-read"')[1] and "Ed East" not in stats.split('id="not-read"')[1]
    assert "No department" in stats


def test_department_heads_publish_to_their_own_departments_only(app, org):
    sam = client_for(app, "sam")
    form = sam.get("/announcements/new").get_data(as_text=True)
    assert 'value="all"' not in form and "Engineering" not in form and "总部 HQ / Sales / West" in form
    refused = sam.post("/announcements/new", data={"title": "T", "body": "B", "departments": [org["eng"].id],
                                                   "csrf_token": csrf_from(form)})
    assert refused.status_code == 400 and "You can address only the departments you head" in refused.get_data(as_text=True)
    everyone = sam.post("/announcements/new", data={"title": "T", "body": "B", "audience": "all",
                                                    "csrf_token": csrf_from(form)})
    assert everyone.status_code == 400 and Announcement.select().count() == 0
    kept = refused.get_data(as_text=True)
    assert 'value="T"' in kept
    ok = sam.post("/announcements/new", data={"title": "Sales meeting", "body": "B", "departments": [org["west"].id],
                                              "csrf_token": csrf_from(form)})
    assert ok.status_code == 302
    assert "To 总部 HQ / Sales / West" in sam.get(ok.headers["Location"]).get_data(as_text=True)
    ed = client_for(app, "ed")
    assert ed.get("/announcements/new").status_code == 403
    csrf = csrf_from(ed.get("/announcements/").get_data(as_text=True))
    assert ed.post("/announcements/new", data={"title": "T", "body": "B", "departments": [org["east"].id],
                                               "csrf_token": csrf}).status_code == 403
    assert 'href="/announcements/new"' not in ed.get("/announcements/").get_data(as_text=True)
    assert Announcement.select().count() == 1


def test_nobody_else_reaches_an_announcement(app, org, other_tenant):
    t = org["tenant"]
    secret = service.publish_announcement(t, org["sam"], "the secret plan", "secret body",
                                          department_ids=[org["west"].id])
    outsider = make_person(other_tenant, "zed", role="admin")
    save_department(other_tenant, None, {"name": "Their dept"})
    theirs = service.publish_announcement(other_tenant, outsider, "globex secret", "their body", to_all=True)
    make_person(other_tenant, "ed", role="admin")
    clients = {"ed": (client_for(app, "ed"), "http://localhost"),
               "globex ed": (client_for(app, "ed", host="globex.example"), "http://globex.example")}
    for who, announcement_id in (("ed", secret.id), ("ed", theirs.id), ("ed", 999999), ("globex ed", secret.id)):
        client, base = clients[who]
        csrf = csrf_from(client.get("/announcements/", base_url=base).get_data(as_text=True))
        for method, path in (("get", f"/announcements/{announcement_id}"),
                             ("post", f"/announcements/{announcement_id}/confirm"),
                             ("get", f"/announcements/{announcement_id}/stats")):
            response = getattr(client, method)(path, base_url=base,
                                               data={"csrf_token": csrf} if method == "post" else None)
            assert response.status_code == 404, (who, method, path)
            assert "secret" not in response.get_data(as_text=True)
    for client, base in clients.values():
        listing = client.get("/announcements/", base_url=base).get_data(as_text=True)
        assert "the secret plan" not in listing
    assert AnnouncementRead.select().count() == 0
    # A reader knows it exists, but only its author and the admins see the read rates.
    wu = client_for(app, "wu")
    assert wu.get(f"/announcements/{secret.id}").status_code == 200
    assert wu.get(f"/announcements/{secret.id}/stats").status_code == 403
    assert client_for(app, "ada").get(f"/announcements/{secret.id}/stats").status_code == 200
    assert client_for(app, "sam").get(f"/announcements/{secret.id}/stats").status_code == 200
