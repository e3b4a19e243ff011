"""Conversations, messages, read receipts, search, department groups and attachments."""
import datetime
import io
from pathlib import Path

import pytest

from app.chat import service
from app.chat.models import Conversation, ConversationMember, Message
from app.chat.service import ChatRules, RateLimited
from app.db import utcnow
from app.org.models import Person
from app.org.service import deactivate_person, save_person
from app.validation import ValidationError
from tests.conftest import csrf_from, login, make_person



def post(tenant, conv, person, text, **kw):
    return service.post_message(tenant, conv, person, text, **kw)


def test_direct_conversation_is_one_per_pair(team):
    t, wei, li = team["tenant"], team["wei"], team["li"]
    first = service.direct_conversation(t, wei, li.id)
    assert service.direct_conversation(t, li, wei.id).id == first.id          # from either side
    assert sorted(service.member_ids(first)) == sorted([wei.id, li.id])
    with pytest.raises(ValidationError):
        service.direct_conversation(t, wei, wei.id)
    with pytest.raises(ValidationError):
        service.direct_conversation(t, wei, 99999)


def test_group_validation(team):
    t, wei = team["tenant"], team["wei"]
    for title, members in (("", [team["li"].id]), ("x" * 201, [team["li"].id]), ("Team", []), ("Team", ["abc"]),
                           ("Team", [424242])):
        with pytest.raises(ValidationError):
            service.create_group(t, wei, title, members)
    with pytest.raises(ValidationError):
        service.create_group(t, wei, "Big", [team["li"].id, team["bob"].id], ChatRules(max_group_members=2))
    assert Conversation.select().count() == 0


def test_other_tenants_people_cannot_join(team, other_tenant):
    stranger = make_person(other_tenant, "stranger")
    with pytest.raises(ValidationError):
        service.create_group(team["tenant"], team["wei"], "Leak", [stranger.id])
    with pytest.raises(ValidationError):
        service.direct_conversation(team["tenant"], team["wei"], stranger.id)


def test_messages_receipts_and_unread(team):
    t, wei, li, bob = team["tenant"], team["wei"], team["li"], team["bob"]
    group = service.create_group(t, wei, "Q3 plan", [li.id, bob.id])
    m1 = post(t, group, wei, "Hello @li and @nobody, see https://intranet.example/q3?a=1&b=2.")
    assert service.unread_counts(li) == {group: 1} and service.unread_counts(wei) == {}
    read, unread = service.receipts(m1)
    assert read == [] and {p.login for p in unread} == {"li", "bob"}
    service.mark_read(li, group)
    read, unread = service.receipts(m1)
    assert [p.login for p in read] == ["li"] and [p.login for p in unread] == ["bob"]
    assert service.read_counts(group, [m1]) == {m1.id: (1, 2)}
    service.mark_read(li, group, up_to=0)                       # never moves back
    assert ConversationMember.get((ConversationMember.person == li)).last_read_id == m1.id
    m2 = post(t, group, li, "OK")
    assert service.unread_counts(wei) == {group: 1}
    assert service.mark_all_read(bob) == 1 and service.unread_counts(bob) == {}
    payload = service.message_payload(m1, wei, {"li": li})
    assert '<span class="mention">@李娜</span>' in payload["html"]
    assert "@nobody" in payload["html"]
    assert 'href="https://intranet.example/q3?a=1&amp;b=2"' in payload["html"] and "</a>." in payload["html"]
    assert [m.id for m in service.history(group)][-2:] == [m1.id, m2.id]


def test_limits(team):
    t, wei, li = team["tenant"], team["wei"], team["li"]
    conv = service.direct_conversation(t, wei, li.id)
    rules = ChatRules(max_message_length=10, rate_messages=3, rate_seconds=60)
    for bad in ("", "   ", "x" * 11, "nul\x00byte"):
        with pytest.raises(ValidationError):
            post(t, conv, wei, bad, rules=rules)
    for i in range(3):
        post(t, conv, wei, f"m{i}", rules=rules)
    with pytest.raises(RateLimited) as info:
        post(t, conv, wei, "m4", rules=rules)
    assert 1 <= info.value.retry_after <= 60
    post(t, conv, li, "li is not limited", rules=ChatRules(rate_messages=3, rate_seconds=60))


def test_edit_and_recall_windows(team):
    t, wei, li = team["tenant"], team["wei"], team["li"]
    conv = service.direct_conversation(t, wei, li.id)
    m = post(t, conv, wei, "tpyo")
    with pytest.raises(PermissionError):
        service.edit_message(t, li, m.id, "hacked")
    assert service.edit_message(t, wei, m.id, "typo").text == "typo"
    Message.update(created_at=utcnow() - datetime.timedelta(minutes=30)).where(Message.id == m.id).execute()
    with pytest.raises(ValidationError):
        service.edit_message(t, wei, m.id, "too late")
    assert service.recall_message(t, wei, m.id).recalled_at is not None
    assert service.message_payload(Message.get_by_id(m.id), wei)["html"] == ""
    old = post(t, conv, wei, "old")
    Message.update(created_at=utcnow() - datetime.timedelta(hours=3)).where(Message.id == old.id).execute()
    with pytest.raises(ValidationError):
        service.recall_message(t, wei, old.id)


def test_search_sees_only_own_conversations(team):
    t, wei, li, dan = team["tenant"], team["wei"], team["li"], team["dan"]
    ours = service.direct_conversation(t, wei, li.id)
    theirs = service.direct_conversation(t, dan, li.id)
    post(t, ours, wei, "项目进度 review on Friday")
    post(t, theirs, dan, "项目进度 secret roadmap")
    post(t, ours, li, "Lunch?")
    assert [m.text for m in service.search(wei, "进度")] == ["项目进度 review on Friday"]
    assert [m.text for m in service.search(wei, "REVIEW")] == ["项目进度 review on Friday"]
    assert service.search(wei, "roadmap") == []
    assert len(service.search(li, "项目")) == 2
    assert service.search(wei, "目进度 rev") != []      # a substring across the character boundary
    assert service.search(wei, "\"*:(") == []           # query syntax is never passed through
    recalled = post(t, ours, wei, "recall me please")
    service.recall_message(t, wei, recalled.id)
    assert service.search(wei, "recall") == []


def test_department_groups_follow_the_org_chart(team):
    t, sales, wei, li, bob, dan = (team[k] for k in ("tenant", "sales", "wei", "li", "bob", "dan"))
    group = service.enable_department_group(t, sales, wei)
    assert sorted(service.member_ids(group)) == sorted([wei.id, li.id, bob.id])
    save_person(t, dan, {"display_name": "Dan Wu", "department_ids": [str(sales.id)]})   # joiner
    deactivate_person(Person.get_by_id(bob.id))                                          # leaver
    changes = service.sync_department_groups(t)
    assert changes == {group.id: (1, 1)}
    assert sorted(service.member_ids(group)) == sorted([wei.id, li.id, dan.id])
    assert service.sync_department_groups(t) == {}
    with pytest.raises(ValidationError):
        service.leave(group, li)


def _client_for(app, login_name):
    client = app.test_client()
    assert login(client, login_name).status_code == 302
    return client


def _token(client, path="/chat/"):
    return csrf_from(client.get(path).get_data(as_text=True))


def test_pages_post_and_receipts(app, team):
    t, wei, li = team["tenant"], team["wei"], team["li"]
    conv = service.direct_conversation(t, wei, li.id)
    wei_c, li_c = _client_for(app, "wei"), _client_for(app, "li")
    assert wei_c.get("/chat/").status_code == 200
    page = wei_c.get(f"/chat/{conv.id}")
    assert page.status_code == 200 and "李娜" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    sent = wei_c.post(f"/chat/{conv.id}/messages", data={"text": "你好 Li", "csrf_token": token},
                      headers={"Accept": "application/json"})
    assert sent.status_code == 201 and sent.json["text"] == "你好 Li"
    assert "1 unread" in wei_c.get(f"/chat/{conv.id}").get_data(as_text=True)
    assert ">1<" in li_c.get("/chat/").get_data(as_text=True).replace(" ", "")          # unread badge
    li_c.get(f"/chat/{conv.id}")                                                          # reading marks read
    assert "All read" in wei_c.get(f"/chat/{conv.id}").get_data(as_text=True)
    receipts = wei_c.get(f"/chat/{conv.id}/messages/{sent.json['id']}/receipts", headers={"Accept": "application/json"})
    assert receipts.json == {"read": [{"id": li.id, "name": "李娜"}], "unread": []}
    older = wei_c.get(f"/chat/{conv.id}/messages?before={sent.json['id'] + 1}")
    assert older.json["messages"][-1]["id"] == sent.json["id"]
    assert wei_c.post("/chat/read-all", data={"csrf_token": token}).status_code == 302
    assert wei_c.post(f"/chat/{conv.id}/messages", data={"text": "no token"}).status_code == 400


def test_rate_limit_answers_429_with_retry_after(app, team):
    app.config["ATRIUM_CHAT_RULES"] = ChatRules(rate_messages=2, rate_seconds=60)
    conv = service.direct_conversation(team["tenant"], team["wei"], team["li"].id)
    client = _client_for(app, "wei")
    token = _token(client)
    for _ in range(2):
        client.post(f"/chat/{conv.id}/messages", data={"text": "x", "csrf_token": token}, headers={"Accept": "application/json"})
    limited = client.post(f"/chat/{conv.id}/messages", data={"text": "x", "csrf_token": token},
                          headers={"Accept": "application/json"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_nobody_reaches_a_conversation_they_are_not_in(app, team, other_tenant):
    t, wei, li, dan = team["tenant"], team["wei"], team["li"], team["dan"]
    private = service.direct_conversation(t, wei, li.id)
    secret = post(t, private, wei, "the secret plan", attachment=None)
    outsider = make_person(other_tenant, "dan")
    other_conv = service.create_group(other_tenant, outsider, "Globex only",
                                      [make_person(other_tenant, "zed").id])
    other_msg = post(other_tenant, other_conv, outsider, "globex secret")
    dan_c = _client_for(app, "dan")
    token = _token(dan_c)
    for conv_id, msg_id in ((private.id, secret.id), (other_conv.id, other_msg.id), (999999, 999999)):
        for method, path, data in (
                ("get", f"/chat/{conv_id}", None),
                ("get", f"/chat/{conv_id}/messages", None),
                ("post", f"/chat/{conv_id}/messages", {"text": "intrude"}),
                ("post", f"/chat/{conv_id}/messages/{msg_id}/edit", {"text": "x"}),
                ("post", f"/chat/{conv_id}/messages/{msg_id}/recall", {}),
                ("get", f"/chat/{conv_id}/messages/{msg_id}/receipts", None),
                ("post", f"/chat/{conv_id}/read", {}),
                ("get", f"/chat/{conv_id}/attachments/{msg_id}", None)):
            response = getattr(dan_c, method)(path, data={**(data or {}), "csrf_token": token} if data is not None else None)
            assert response.status_code == 404, (method, path)
            body = response.get_data(as_text=True)
            assert "secret" not in body and "Globex" not in body
    assert Message.select().where(Message.text == "intrude").count() == 0
    assert "the secret plan" not in dan_c.get("/chat/search?q=secret").get_data(as_text=True)
    # A message id of another conversation through one's own conversation is a 404 too.
    own = service.direct_conversation(t, dan, li.id)
    assert dan_c.get(f"/chat/{own.id}/messages/{secret.id}/receipts").status_code == 404
    assert dan_c.post(f"/chat/{own.id}/messages", data={"text": "q", "reply_to": secret.id, "csrf_token": token},
                      headers={"Accept": "application/json"}).status_code == 400


def test_attachments_policy_and_download(app, team):
    conv = service.direct_conversation(team["tenant"], team["wei"], team["li"].id)
    wei_c = _client_for(app, "wei")
    token = _token(wei_c)

    def send(data, name):
        return wei_c.post(f"/chat/{conv.id}/messages", content_type="multipart/form-data",
                          headers={"Accept": "application/json"},
                          data={"text": "", "csrf_token": token, "attachment": (io.BytesIO(data), name)})

    png = (Path(__file__).resolve().parents[2] / "branding" / "default" / "icons" / "app-icon.png").read_bytes()
    ok = send(png, "../../etc/报告\t.png")
    assert ok.status_code == 201 and ok.json["attachment"] == "报告.png"
    assert send(b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "tool.png").status_code == 400      # by content, not name
    assert send(b"", "empty.txt").status_code == 400
    app.config["ATRIUM_CHAT_RULES"] = ChatRules(max_attachment_bytes=1000)
    assert send(b"a" * 1001, "big.txt").status_code == 400
    download = _client_for(app, "li").get(f"/chat/{conv.id}/attachments/{ok.json['id']}")
    assert download.status_code == 200 and download.data == png and download.mimetype == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment;" in download.headers["Content-Disposition"] and "\r" not in download.headers["Content-Disposition"]
    assert _client_for(app, "dan").get(f"/chat/{conv.id}/attachments/{ok.json['id']}").status_code == 404


def test_directory_search_by_pinyin_and_initials(app, team):
    from app.org.service import search_people
    t = team["tenant"]
    for query in ("张伟", "zhangwei", "zhang wei", "ZW", "wei"):
        assert "张伟" in [p.display_name for p in search_people(t, query)], query
    assert [p.display_name for p in search_people(t, "lina")] == ["李娜"]
