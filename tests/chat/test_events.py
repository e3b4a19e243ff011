"""The event log and the SSE stream: replay by Last-Event-ID, live fan-out, several workers, revocation."""
import json

import pytest

from app.chat import service
from app.events import hub as hubmod
from app.events import latest_id, publish
from app.events.hub import CLOSE, Hub, Subscription
from app.events.views import conversation_ids, replay
from app.org.service import deactivate_person
from tests.conftest import login


def frames_of(texts):
    out = []
    for text in texts:
        if text.startswith("id:"):
            lines = dict(line.split(": ", 1) for line in text.strip().splitlines())
            out.append((int(lines["id"]), lines["event"], json.loads(lines["data"])))
    return out


def test_replay_shows_only_what_the_person_may_see(team, other_tenant):
    t, wei, li, dan = team["tenant"], team["wei"], team["li"], team["dan"]
    ours = service.direct_conversation(t, wei, li.id)
    theirs = service.direct_conversation(t, dan, li.id)
    start = latest_id()
    service.post_message(t, ours, wei, "for wei and li")
    service.post_message(t, theirs, dan, "for dan and li")
    publish(t, "notice", {"to": "everyone"})
    publish(other_tenant, "notice", {"to": "globex"})
    publish(t, "private", {"to": "li"}, person=li)
    frames = frames_of(replay(t, wei, conversation_ids(t, wei), start, latest_id()))
    texts = [f[2].get("text") or f[2].get("to") for f in frames if f[1] in ("message", "notice", "private")]
    assert texts == ["for wei and li", "everyone"]
    li_frames = frames_of(replay(t, li, conversation_ids(t, li), start, latest_id()))
    assert [f[1] for f in li_frames].count("message") == 2 and any(f[1] == "private" for f in li_frames)


def test_two_hubs_see_the_same_events_in_order(team):
    """Two workers (two hubs) reading the same database both deliver every event, in id order."""
    t, wei, li = team["tenant"], team["wei"], team["li"]
    conv = service.direct_conversation(t, wei, li.id)
    hubs = [Hub(), Hub()]
    subs = []
    for hub in hubs:
        hub.last_id = latest_id()
        subs.append(hub.subscribe_without_poller(Subscription(t.id, li.id, {conv.id})))
    sent = [service.post_message(t, conv, wei, f"n{i}").id for i in range(5)]
    for hub, sub in zip(hubs, subs):
        hub.poll_once()
        got = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
        assert [f[2]["id"] for f in frames_of(got) if f[1] == "message"] == sent


def test_membership_changes_reach_the_hub(team):
    t, wei, li, dan = team["tenant"], team["wei"], team["li"], team["dan"]
    hub = Hub()
    hub.last_id = latest_id()
    sub = hub.subscribe_without_poller(Subscription(t.id, dan.id, set()))
    group = service.create_group(t, wei, "Later joiner", [li.id])
    service.post_message(t, group, wei, "before dan")
    service.add_to_group(group, wei, [dan.id])
    service.post_message(t, group, wei, "after dan")
    hub.poll_once()
    kinds = [(f[1], f[2].get("text")) for f in frames_of([sub.queue.get_nowait() for _ in range(sub.queue.qsize())])]
    assert ("member_added", None) in kinds and ("message", "after dan") in kinds and ("message", "before dan") not in kinds


def test_deactivation_closes_live_streams(team):
    t, li = team["tenant"], team["li"]
    hub = Hub()
    hub.last_id = latest_id()
    sub = hub.subscribe_without_poller(Subscription(t.id, li.id, set()))
    deactivate_person(li)
    hub.poll_once()
    items = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    assert items[-1] is CLOSE


@pytest.fixture
def fast_stream(monkeypatch):
    from app.events import views
    monkeypatch.setattr(views, "HEARTBEAT_SECONDS", 0.05)
    hubmod.reset_for_tests()
    yield
    hubmod.hub.stop()


def read_stream(response, count):
    """The first `count` chunks of a streaming response, then close it."""
    chunks = []
    for chunk in response.response:
        chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
        if len(chunks) >= count:
            break
    response.close()
    return chunks


def test_sse_endpoint_replays_from_last_event_id(app, team, fast_stream):
    t, wei, li = team["tenant"], team["wei"], team["li"]
    conv = service.direct_conversation(t, wei, li.id)
    before = latest_id()
    first = service.post_message(t, conv, wei, "missed while offline")
    client = app.test_client()
    login(client, "li")
    response = client.get("/events", headers={"Last-Event-ID": str(before)}, buffered=False)
    assert response.mimetype == "text/event-stream" and response.headers["Cache-Control"] == "no-cache"
    chunks = read_stream(response, 3)
    assert chunks[0].startswith("retry:")
    assert any(f[1] == "message" and f[2]["id"] == first.id for f in frames_of(chunks))


def test_sse_needs_login_and_a_live_stream_delivers(app, team, fast_stream):
    client = app.test_client()
    assert client.get("/events").status_code == 302
    t, wei, li = team["tenant"], team["wei"], team["li"]
    conv = service.direct_conversation(t, wei, li.id)
    login(client, "li")
    response = client.get("/events?after=" + str(latest_id()), buffered=False)
    stream = response.response
    assert next(iter(stream)).decode().startswith("retry:")
    message = service.post_message(t, conv, wei, "live one")
    assert hubmod.wait_until_routed(latest_id())
    for chunk in stream:
        text = chunk.decode()
        if text.startswith("id:"):
            assert frames_of([text])[0][2]["id"] == message.id
            break
    response.close()


def test_replay_too_far_behind_asks_for_a_reload(team, monkeypatch):
    from app.events import views
    monkeypatch.setattr(views, "REPLAY_LIMIT", 3)
    t = team["tenant"]
    start = latest_id()
    for i in range(5):
        publish(t, "notice", {"i": i})
    assert replay(t, team["li"], set(), start, latest_id()) is None
