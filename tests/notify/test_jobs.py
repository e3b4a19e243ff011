"""Off-work holding and release, DING escalation by email (even off work), and the daily digest for those who opt in."""
from __future__ import annotations

import datetime

from flask_babel import force_locale
from flask_babel import gettext as _

from app.announce.service import confirm_read, publish_announcement
from app.ding import service as ding
from app.notify import jobs
from app.notify.models import Notification, OutgoingEmail
from app.notify.outbox import send_due
from app.notify.service import mark_read, notify, set_daily_digest
from app.org.status import set_dnd, set_working_hours

T0 = datetime.datetime(2026, 3, 2, 2, 0)   # Monday 02:00 in London (GMT), 10:00 in Shanghai


def at(hours: float = 0, minutes: float = 0, days: int = 0) -> datetime.datetime:
    return T0 + datetime.timedelta(days=days, hours=hours, minutes=minutes)


def sent_to(relay) -> list[str]:
    return [rcpts[0] for _f, rcpts in relay.mailbox.envelopes]


def test_off_work_holds_ordinary_email_until_working_hours_start(app, team, email_on, relay):
    set_working_hours(team["bob"], "09:00", "17:00", ["1", "2", "3", "4", "5"])    # London; off work at 02:00
    with app.app_context():
        publish_announcement(team["tenant"], team["wei"], "Fire drill", "At 11:00", to_all=True, important=True,
                             now=T0)
        held = OutgoingEmail.get(OutgoingEmail.to_address == "bob@acme.example")
        assert held.next_attempt_at == at(hours=7)                     # 09:00 in London
        assert send_due(app.config["ATRIUM"], T0)["sent"] == 1          # Li works no set hours: at once
        assert sent_to(relay) == ["li@acme.example"]
        assert send_due(app.config["ATRIUM"], at(hours=6, minutes=59))["sent"] == 0
        assert send_due(app.config["ATRIUM"], at(hours=7))["sent"] == 1
    assert sent_to(relay) == ["li@acme.example", "bob@acme.example"]


def test_hours_changed_after_queueing_hold_the_email_at_sending_time(app, team, email_on, relay):
    with app.app_context():
        notify(team["tenant"], team["li"], "task_reminder", {"title": "Report"}, email=True, now=T0)
        assert OutgoingEmail.get().next_attempt_at == T0                # at work when it was queued
        set_dnd(team["li"], 90)                                          # ...then do-not-disturb
        until = type(team["li"]).get_by_id(team["li"].id).dnd_until
        counts = send_due(app.config["ATRIUM"])
        assert counts["held"] == 1 and counts["sent"] == 0
        assert OutgoingEmail.get().next_attempt_at == until and OutgoingEmail.get().attempts == 0
        assert send_due(app.config["ATRIUM"], until)["sent"] == 1
    assert sent_to(relay) == ["li@acme.example"]


def test_a_weekend_waits_for_monday(app, team, email_on, relay):
    set_working_hours(team["bob"], "09:00", "17:00", ["1", "2", "3", "4", "5"])
    saturday = at(days=5, hours=10)                                      # Saturday 12:00 in London
    with app.app_context():
        notify(team["tenant"], team["bob"], "task_reminder", {"title": "Report"}, email=True, now=saturday)
    assert OutgoingEmail.get().next_attempt_at == at(days=7, hours=7)   # Monday 09:00


def test_an_email_read_in_the_app_first_is_not_sent(app, team, email_on, relay):
    set_working_hours(team["bob"], "09:00", "17:00", [])
    with app.app_context():
        announcement = publish_announcement(team["tenant"], team["wei"], "Menu", "Noodles", to_all=True,
                                            important=True, now=T0)
        confirm_read(team["tenant"], team["bob"], announcement.id)       # read before his hours start
        counts = send_due(app.config["ATRIUM"], at(hours=8))
    assert counts["skipped"] == 1 and sent_to(relay) == ["li@acme.example"]
    skipped = OutgoingEmail.get(OutgoingEmail.to_address == "bob@acme.example")
    assert skipped.state == "skipped" and skipped.detail == "read in the app before it was sent"


def test_an_unconfirmed_ding_is_emailed_once_after_the_delay_even_off_work(app, team, email_on, relay):
    set_working_hours(team["bob"], "09:00", "17:00", ["1", "2", "3", "4", "5"])
    settings = app.config["ATRIUM"]
    with app.app_context():
        sent = ding.send_ding(team["tenant"], team["wei"], "机房着火 Server room on fire",
                              [team["li"].id, team["bob"].id, team["dan"].id], now=T0)
        assert jobs.escalate_dings(settings, at(minutes=9)) == 0          # the tenant's delay is 10 minutes
        ding.confirm(team["tenant"], team["li"], sent.id)                  # Li confirmed in time
        assert jobs.escalate_dings(settings, at(minutes=10)) == 1          # Bob; Dan has no address
        assert jobs.escalate_dings(settings, at(minutes=20)) == 0          # once
        assert send_due(settings, at(minutes=10))["sent"] == 1             # at 02:10, off work: DINGs go anyway
        with force_locale("en"):
            subject = _("Not yet confirmed: %(ding)s from %(sender)s", ding="DING", sender="张伟")
    (mail,) = relay.mailbox.messages
    assert mail["To"].addresses[0].addr_spec == "bob@acme.example" and mail["Subject"] == subject
    text = mail.get_body(("plain",)).get_content()
    notification = Notification.get((Notification.person == team["bob"]) & (Notification.kind == "ding"))
    assert "机房着火 Server room on fire" in text
    assert f"https://atrium.example.com/notifications/{notification.id}/open" in text


def test_a_ding_confirmed_before_its_email_goes_out_is_not_emailed(app, team, email_on, relay):
    settings = app.config["ATRIUM"]
    with app.app_context():
        sent = ding.send_ding(team["tenant"], team["wei"], "Call me", [team["bob"].id], now=T0)
        relay.stop()
        jobs.escalate_dings(settings, at(minutes=10))
        assert send_due(settings, at(minutes=10))["retried"] == 1         # the relay is down
        ding.confirm(team["tenant"], team["bob"], sent.id)
        relay.start()
        assert send_due(settings, at(minutes=20))["skipped"] == 1
    assert relay.mailbox.messages == []


def test_stopped_dings_and_tenants_without_email_are_not_escalated(app, team, relay):
    settings = app.config["ATRIUM"]
    with app.app_context():
        quiet = ding.send_ding(team["tenant"], team["wei"], "No email here", [team["bob"].id], now=T0)
        assert jobs.escalate_dings(settings, at(hours=1)) == 0            # email is off for the tenant
        from app.notify.service import save_email_settings
        save_email_settings(team["tenant"], {"enabled": "1", "ding_delay_minutes": "10", "digest_time": "08:00"})
        ding.stop(team["tenant"], team["wei"], quiet.id)
        assert jobs.escalate_dings(settings, at(hours=2)) == 0
    assert OutgoingEmail.select().count() == 0


def test_the_daily_digest_goes_to_those_who_opted_in_once_a_day(app, team, email_on, relay):
    settings = app.config["ATRIUM"]
    set_daily_digest(team["bob"], True)                                   # Li did not opt in
    with app.app_context():
        for title in ("Report A", "Report B", "Report C"):
            notify(team["tenant"], [team["bob"], team["li"]], "task_reminder", {"title": title}, now=T0)
        first = Notification.get((Notification.person == team["bob"]) & (Notification.params.contains("Report A")))
        mark_read(team["tenant"], team["bob"], first.id)
        assert jobs.queue_digests(settings, at(hours=5, minutes=59)) == 0  # 07:59 in London
        assert jobs.queue_digests(settings, at(hours=6)) == 1              # 08:00
        assert jobs.queue_digests(settings, at(hours=9)) == 0              # once a day
        assert send_due(settings, at(hours=6))["sent"] == 1
        with force_locale("en"):
            subject = _("%(product)s: %(count)d unread notifications", product="Atrium", count=2)
    (mail,) = relay.mailbox.messages
    assert mail["To"].addresses[0].addr_spec == "bob@acme.example" and mail["Subject"] == subject
    text = mail.get_body(("plain",)).get_content()
    assert "- Task reminder: Report C" in text and "- Task reminder: Report B" in text and "Report A" not in text
    assert text.index("Report C") < text.index("Report B")                # newest first
    assert "https://atrium.example.com/notifications\n" in text or "https://atrium.example.com/notifications" in text
    with app.app_context():
        assert jobs.queue_digests(settings, at(days=1, hours=6)) == 0      # nothing new unread the next day
        notify(team["tenant"], team["bob"], "task_reminder", {"title": "Report D"}, now=at(days=1, hours=7))
        assert jobs.queue_digests(settings, at(days=2, hours=6)) == 1      # only what came since
        send_due(settings, at(days=2, hours=6))
    text = relay.mailbox.messages[1].get_body(("plain",)).get_content()
    assert "Report D" in text and "Report B" not in text


def test_the_digest_is_in_the_readers_language(app, team, email_on, relay):
    settings = app.config["ATRIUM"]
    set_daily_digest(team["li"], True)
    with app.app_context():
        notify(team["tenant"], team["li"], "mention", {"sender": "Bob Smith", "text": "你好"}, now=T0)
        assert jobs.queue_digests(settings, at(hours=1)) == 1              # 11:00 in Shanghai, after 08:00
        send_due(settings, at(hours=1))
        with force_locale("zh_Hans"):
            subject = _("%(product)s: %(count)d unread notifications", product="Atrium 协同", count=1)
            title = _("%(sender)s mentioned you", sender="Bob Smith")
    (mail,) = relay.mailbox.messages
    assert mail["Subject"] == subject and mail["Content-Language"] == "zh-Hans"
    text = mail.get_body(("plain",)).get_content()
    assert f"- {title}" in text and "你好" in text and "2026年3月2日 10:00:00 (Asia/Shanghai)" in text
