"""DING: sending, validation, confirming, stopping, scheduled delivery and reminders, on SQLite and PostgreSQL."""
import datetime
import threading

import pytest

from app.db import db, utcnow
from app.ding import service
from app.ding.models import Ding, DingRecipient
from app.events.models import Event
from app.org.service import deactivate_person
from app.org.status import is_off_work
from app.validation import ValidationError
from tests.conftest import make_person
from tests.ding.conftest import events

T0 = datetime.datetime(2026, 3, 2, 1, 0)   # a Monday, 09:00 in Shanghai


def minutes(n: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=n)


def send(team, text="Server room is on fire", to=("li", "bob"), **kw):
    kw.setdefault("now", T0)
    return service.send_ding(team["tenant"], team["wei"], text, [team[name].id for name in to], **kw)


def alerts(ding) -> dict[int, int]:
    return dict(DingRecipient.select(DingRecipient.person, DingRecipient.alerts)
                .where(DingRecipient.ding == ding).tuples())


def test_sending_alerts_each_recipient_and_nobody_else(team):
    ding = service.send_ding(team["tenant"], team["wei"], "  Server room\nis on fire  ",
                             [str(team["li"].id), team["bob"].id, team["li"].id, team["wei"].id], now=T0)
    assert ding.text == "Server room\nis on fire" and ding.sent_at == T0 and ding.send_at is None
    assert ding.remind_minutes == 5
    assert alerts(ding) == {team["li"].id: 1, team["bob"].id: 1}      # the sender and the duplicate left out
    sent = events("ding")
    assert sorted((a, pid, kind) for a, pid, kind, _p in sent) == sorted(
        [("person", team["li"].id, "ding"), ("person", team["bob"].id, "ding")])
    # Each recipient also gets a notification (the notification centre's badge counts it).
    assert sorted(pid for _a, pid, _k, _p in events("notification")) == sorted([team["li"].id, team["bob"].id])
    payload = sent[0][3]
    assert payload == {"id": ding.id, "sender": team["wei"].id, "sender_name": "张伟", "text": "Server room\nis on fire",
                       "created_at": "2026-03-02T01:00:00Z", "sent_at": "2026-03-02T01:00:00Z",
                       "url": f"/ding/{ding.id}", "confirm_url": f"/ding/{ding.id}/confirm", "alert": 1, "urgent": True}


@pytest.mark.parametrize("text, to, send_at, remind, field", [
    ("", ["li"], None, 5, "text"),
    ("   \n ", ["li"], None, 5, "text"),
    ("x" * 1001, ["li"], None, 5, "text"),
    ("nul\x00byte", ["li"], None, 5, "text"),
    ("bell\x07", ["li"], None, 5, "text"),
    ("ok", [], None, 5, "recipients"),
    ("ok", ["wei"], None, 5, "recipients"),               # only oneself
    ("ok", ["not-a-number"], None, 5, "recipients"),
    ("ok", [3.5], None, 5, "recipients"),
    ("ok", [True], None, 5, "recipients"),
    ("ok", "li", None, 5, "recipients"),                  # not a list
    ("ok", ["nobody"], None, 5, "recipients"),
    ("ok", ["outsider"], None, 5, "recipients"),          # another tenant's person
    ("ok", ["left"], None, 5, "recipients"),              # deactivated
    ("ok", ["li"], None, 4, "remind_minutes"),
    ("ok", ["li"], None, 0, "remind_minutes"),
    ("ok", ["li"], None, 1441, "remind_minutes"),
    ("ok", ["li"], None, "often", "remind_minutes"),
    ("ok", ["li"], None, True, "remind_minutes"),
    ("ok", ["li"], None, None, "remind_minutes"),
    ("ok", ["li"], "2026-03-02T08:59", 5, "send_at"),     # a minute ago in Shanghai
    ("ok", ["li"], "2026-04-02T09:01", 5, "send_at"),     # more than 30 days ahead
    ("ok", ["li"], "tomorrow", 5, "send_at"),
    ("ok", ["li"], "2026-03-02T25:00", 5, "send_at"),
    ("ok", ["li"], 12345, 5, "send_at"),
])
def test_bad_input_is_refused_and_saves_nothing(team, other_tenant, text, to, send_at, remind, field):
    people = {**{k: team[k].id for k in ("wei", "li", "bob", "dan")}, "nobody": 999999,
              "outsider": make_person(other_tenant, "out").id}
    left = make_person(team["tenant"], "left")
    deactivate_person(left)
    people["left"] = left.id
    before = Event.select().count()
    recipients = [people.get(r, r) if isinstance(r, str) else r for r in to] if isinstance(to, list) else to
    with pytest.raises(ValidationError) as info:
        service.send_ding(team["tenant"], team["wei"], text, recipients, send_at, remind, now=T0)
    assert info.value.field == field
    assert Ding.select().count() == 0 and DingRecipient.select().count() == 0
    assert Event.select().count() == before


def test_send_at_is_read_in_the_senders_time_zone(team):
    wei = team["wei"]
    assert wei.timezone is None                                  # the default zone, Asia/Shanghai
    local = send(team, send_at="2026-03-02T10:30")
    assert local.send_at == minutes(90) and local.sent_at is None
    wei.timezone = "Europe/Berlin"
    wei.save()
    berlin = send(team, send_at="2026-03-02T03:00")
    assert berlin.send_at == minutes(60)
    assert send(team, send_at="2026-03-02T10:00+08:00").send_at == minutes(60)   # an explicit offset wins
    assert send(team, send_at="2026-03-02T02:00Z").send_at == minutes(60)
    assert send(team, send_at=minutes(15)).send_at == minutes(15)                # a datetime is naive UTC already
    assert events() == []                                                        # nothing went out yet


def test_confirming_twice_tells_the_sender_once(team):
    ding = send(team)
    first = service.confirm(team["tenant"], team["li"], ding.id)
    again = service.confirm(team["tenant"], team["li"], str(ding.id))
    assert first.confirmed_at is not None and again.confirmed_at == first.confirmed_at
    updates = events("ding_updated")
    assert len(updates) == 2
    to_sender = [e for e in updates if e[1] == team["wei"].id]
    assert len(to_sender) == 1
    payload = to_sender[0][3]
    assert (payload["id"], payload["confirmed"], payload["total"], payload["person"], payload["person_name"],
            payload["stopped"]) == (ding.id, 1, 2, team["li"].id, "李娜", False)
    to_li = [e for e in updates if e[1] == team["li"].id][0][3]
    assert to_li == {"id": ding.id, "person": team["li"].id, "confirmed_at": payload["confirmed_at"]}
    assert "confirmed" not in to_li                       # a recipient does not learn how the others answered


def test_only_recipients_confirm(team, other_tenant):
    ding = send(team)
    scheduled = send(team, send_at=minutes(60))
    outsider = make_person(other_tenant, "li")
    for tenant, person, ding_id in ((team["tenant"], team["dan"], ding.id),       # not a recipient
                                    (team["tenant"], team["wei"], ding.id),       # the sender
                                    (team["tenant"], team["li"], scheduled.id),   # not sent yet
                                    (team["tenant"], team["li"], 999999),
                                    (team["tenant"], team["li"], "1 OR 1=1"),
                                    (other_tenant, outsider, ding.id)):
        with pytest.raises(LookupError):
            service.confirm(tenant, person, ding_id)
        assert service.ding_for(tenant, person, ding_id) is None or person == team["wei"]
    assert DingRecipient.select().where(DingRecipient.confirmed_at.is_null(False)).count() == 0


def test_stopping_ends_reminders_and_only_the_sender_may(team):
    ding = send(team)
    with pytest.raises(PermissionError):
        service.stop(team["tenant"], team["li"], ding.id)
    with pytest.raises(LookupError):
        service.stop(team["tenant"], team["dan"], ding.id)
    stopped = service.stop(team["tenant"], team["wei"], ding.id)
    assert stopped.stopped_at is not None
    assert service.stop(team["tenant"], team["wei"], ding.id).stopped_at == stopped.stopped_at
    update = events("ding_updated")
    assert len(update) == 1 and update[0][1] == team["wei"].id and update[0][3]["stopped"] is True
    assert service.due_work(minutes(60)) == {"delivered": 0, "reminded": 0}
    # A stopped DING can still be confirmed.
    assert service.confirm(team["tenant"], team["li"], ding.id).confirmed_at is not None


def test_a_scheduled_ding_goes_out_when_its_time_comes(team):
    ding = send(team, send_at=minutes(60))
    assert service.received(team["tenant"], team["li"]) == [] and service.pending(team["tenant"], team["li"]) == []
    assert service.due_work(minutes(59)) == {"delivered": 0, "reminded": 0}
    assert service.due_work(minutes(61)) == {"delivered": 1, "reminded": 0}
    assert service.due_work(minutes(62)) == {"delivered": 0, "reminded": 0}
    assert Ding.get_by_id(ding.id).sent_at == minutes(61)
    assert alerts(ding) == {team["li"].id: 1, team["bob"].id: 1}
    assert sorted(e[1] for e in events("ding")) == sorted([team["li"].id, team["bob"].id])
    assert [d["id"] for d in service.pending(team["tenant"], team["li"])] == [ding.id]
    # The first reminder counts from delivery, not from when it was written.
    assert service.due_work(minutes(65)) == {"delivered": 0, "reminded": 0}
    assert service.due_work(minutes(66)) == {"delivered": 0, "reminded": 2}


def test_a_cancelled_scheduled_ding_never_goes_out(team):
    ding = send(team, send_at=minutes(30))
    service.stop(team["tenant"], team["wei"], ding.id)
    assert service.due_work(minutes(120)) == {"delivered": 0, "reminded": 0}
    assert events("ding") == [] and service.received(team["tenant"], team["li"]) == []


def test_reminders_come_at_the_interval_until_confirmed(team):
    ding = send(team, remind_minutes=10)
    assert service.due_work(minutes(5)) == {"delivered": 0, "reminded": 0}
    assert service.due_work(minutes(9.9)) == {"delivered": 0, "reminded": 0}
    assert service.due_work(minutes(10)) == {"delivered": 0, "reminded": 2}
    assert alerts(ding) == {team["li"].id: 2, team["bob"].id: 2}
    service.confirm(team["tenant"], team["li"], ding.id)
    assert service.due_work(minutes(15)) == {"delivered": 0, "reminded": 0}
    assert service.due_work(minutes(20)) == {"delivered": 0, "reminded": 1}
    assert alerts(ding) == {team["li"].id: 2, team["bob"].id: 3}
    last = events("ding")[-1]
    assert last[1] == team["bob"].id and last[3]["alert"] == 3 and last[3]["urgent"] is True


def test_never_more_often_than_every_five_minutes_even_if_misconfigured(team):
    ding = send(team, to=("li",))
    Ding.update(remind_minutes=1).where(Ding.id == ding.id).execute()   # a row written past the validation
    reminded = [service.due_work(minutes(m))["reminded"] for m in range(1, 16)]
    assert reminded == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_deactivated_recipients_are_not_reminded(team):
    ding = send(team)
    deactivate_person(team["bob"])
    assert service.due_work(minutes(5)) == {"delivered": 0, "reminded": 1}
    assert alerts(ding) == {team["li"].id: 2, team["bob"].id: 1}


def test_an_off_work_recipient_is_alerted_all_the_same(team):
    li = team["li"]
    li.work_start, li.work_end, li.work_days = "09:00", "18:00", "12345"
    li.dnd_until = utcnow() + datetime.timedelta(hours=8)
    li.save()
    assert is_off_work(li)
    ding = service.send_ding(team["tenant"], team["wei"], "Outage", [li.id])
    alert = [e for e in events("ding") if e[1] == li.id]
    assert len(alert) == 1 and alert[0][3]["urgent"] is True
    assert service.due_work(utcnow() + datetime.timedelta(minutes=5))["reminded"] == 1
    assert len([e for e in events("ding") if e[1] == li.id]) == 2
    assert alerts(ding) == {li.id: 2}


def test_two_workers_at_the_same_moment_alert_once(team):
    scheduled = [send(team, f"scheduled {i}", to=("li", "bob", "dan"), send_at=minutes(1)) for i in range(4)]
    running = [send(team, f"running {i}", to=("li", "bob", "dan")) for i in range(4)]
    before = Event.select().count()
    for attempt in range(3):
        now = minutes(10 + 10 * attempt)
        start = threading.Barrier(2)
        results, failures = [], []

        def work():
            try:
                start.wait()
                results.append(service.due_work(now))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)
            finally:
                db.close()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert sum(r["delivered"] for r in results) == (len(scheduled) if attempt == 0 else 0)
        # First round: the 4 running DINGs remind 3 people each; the scheduled ones just went out.
        # Later rounds: all 8 DINGs remind their 3 people, exactly once each.
        assert sum(r["reminded"] for r in results) == (12 if attempt == 0 else 24)
    for ding in scheduled:
        assert set(alerts(ding).values()) == {3}     # delivery, then two reminders
    for ding in running:
        assert set(alerts(ding).values()) == {4}     # sending, then three reminders
    # Three alerts per person and DING, and a notification for each person of each scheduled DING as it goes out.
    assert Event.select().count() - before == 4 * 3 * 3 + 4 * 3 * 3 + 4 * 3


def test_lists_for_recipient_and_sender(team):
    old = send(team, "old one", to=("li",))
    new = send(team, "new one", to=("li", "bob"), now=minutes(1))
    service.confirm(team["tenant"], team["li"], new.id)
    rows = service.received(team["tenant"], team["li"])
    assert [d.id for _r, d, _s in rows] == [old.id, new.id]           # unconfirmed first
    assert rows[0][2].display_name == "张伟"
    sent = service.sent(team["tenant"], team["wei"])
    assert [(s.ding.id, s.confirmed, s.total) for s in sent] == [(new.id, 1, 2), (old.id, 0, 1)]
    done, waiting = service.recipients_of(new)
    assert [p.login for p, _r in done] == ["li"] and [p.login for p, _r in waiting] == ["bob"]
    assert service.sent(team["tenant"], team["li"]) == []
