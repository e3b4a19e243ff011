"""Emails through a real SMTP server on loopback: language, time zone, brand, plain text, and who gets what."""
from __future__ import annotations

import datetime
import json

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from app.announce.service import publish_announcement
from app.brand.service import brand_for
from app.notify.models import OutgoingEmail
from app.notify.outbox import send_due
from app.notify.service import notify, queue_email, save_email_settings
from app.validation import ValidationError
from tests.inert import hostile_texts, problems
from tests.notify.conftest import FROM

T0 = datetime.datetime(2026, 3, 2, 2, 0)   # a Monday: 10:00 in Shanghai, 02:00 in London
TEXTS = hostile_texts()


def parts(message) -> dict[str, object]:
    """The message's parts by content type (the text and HTML bodies decoded, the images as bytes)."""
    found = {}
    for part in message.walk():
        if not part.is_multipart():
            found.setdefault(part.get_content_type(), part)
    return found


def test_an_important_announcement_reaches_each_reader_in_their_language_and_zone(app, team, email_on, relay):
    with app.app_context():
        announcement = publish_announcement(team["tenant"], team["wei"], "周五停电 Power cut", "Servers off\n18:00",
                                            to_all=True, important=True, now=T0)
        counts = send_due(app.config["ATRIUM"], T0)
        with force_locale("zh_Hans"):
            zh_subject = _("Important announcement: %(title)s", title="周五停电 Power cut")
        with force_locale("en"):
            en_subject = _("Important announcement: %(title)s", title="周五停电 Power cut")
    assert counts["sent"] == 2 and counts["failed"] == 0          # Li and Bob; Dan has no address, Wei wrote it
    assert sorted(rcpt for _f, (rcpt,) in relay.mailbox.envelopes) == ["bob@acme.example", "li@acme.example"]

    (li,) = relay.mailbox.to("li@acme.example")
    assert li["Subject"] == zh_subject and li["Content-Language"] == "zh-Hans"
    assert li["From"].addresses[0].addr_spec == FROM and li["From"].addresses[0].display_name == "Atrium 协同"
    assert li["To"].addresses[0].display_name == "李娜"
    body = parts(li)
    text, html = body["text/plain"].get_content(), body["text/html"].get_content()
    assert "Servers off\n18:00" in text and "2026年3月2日 10:00:00 (Asia/Shanghai)" in text   # her zone, her format
    assert "查看" in text and "查看" in html                                                   # "Open", in Chinese
    link = "https://atrium.example.com/notifications/"
    assert link in text and link in html and 'lang="zh-Hans"' in html
    assert "https://atrium.example.com/me/settings" in text

    (bob,) = relay.mailbox.to("bob@acme.example")
    assert bob["Subject"] == en_subject == "Important announcement: 周五停电 Power cut"
    assert bob["Content-Language"] == "en" and bob["From"].addresses[0].display_name == "Atrium"
    text = parts(bob)["text/plain"].get_content()
    assert "Mar 2, 2026, 2:00:00\u202fAM (Europe/London)" in text and "Acme Corp" in text
    assert "Open: https://atrium.example.com" in text
    assert li["Message-ID"] != bob["Message-ID"]
    assert {row.message_id for row in OutgoingEmail.select()} == {li["Message-ID"], bob["Message-ID"]}
    assert announcement.important


def test_the_email_carries_the_brand_colours_and_logo_and_a_plain_text_part(app, team, email_on, relay):
    from app.brand.pack import build_pack, read_folder
    from app.brand.service import apply_pack, branding_dir

    with app.app_context():
        apply_pack(team["tenant"], build_pack(read_folder(branding_dir() / "sakura")))
        brand = brand_for(team["tenant"])
        notify(team["tenant"], team["bob"], "task_reminder", {"sender": "张伟", "title": "Leave <3 days>"},
               link="/approvals/7", email=True, now=T0)
        assert send_due(app.config["ATRIUM"], T0)["sent"] == 1
    (mail,) = relay.mailbox.messages
    assert mail.get_content_type() == "multipart/alternative"
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html", "image/png"}
    html = body["text/html"].get_content()
    colors = brand.settings.colors
    assert colors["primary"] in html and colors["on_primary"] in html and colors["surface"] in html
    assert brand.text("product_name", "en") in html
    logo = body["image/png"]
    cid = logo["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert logo.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Leave &lt;3 days&gt;" in html and "<3 days>" not in html      # user text is escaped in HTML
    text = body["text/plain"].get_content()
    assert "Task reminder: Leave <3 days>" in text and "<table" not in text
    assert "https://acme.example/notifications/" not in text            # the default tenant: the public URL
    assert mail["Auto-Submitted"] == "auto-generated"


def test_people_without_an_address_and_tenants_without_email_get_none(app, team, relay):
    with app.app_context():
        notify(team["tenant"], [team["dan"], team["bob"]], "task_reminder", {"title": "Report"}, email=True, now=T0)
        assert OutgoingEmail.select().count() == 0                      # the tenant has not switched email on
        save_email_settings(team["tenant"], {"enabled": "1", "ding_delay_minutes": "5", "digest_time": "08:00"})
        notify(team["tenant"], [team["dan"], team["bob"]], "task_reminder", {"title": "Report"}, email=True, now=T0)
        notify(team["tenant"], team["bob"], "mention", {"sender": "Li"}, now=T0)   # not an email kind of news
        assert [r.to_address for r in OutgoingEmail.select()] == ["bob@acme.example"]
        assert send_due(app.config["ATRIUM"], T0)["sent"] == 1
    assert [m["Subject"] for m in relay.mailbox.messages] == ["Task reminder: Report"]


def test_a_dedupe_key_queues_one_email_however_often_it_is_asked(app, team, email_on, relay):
    with app.app_context():
        first = queue_email(team["tenant"], team["bob"], "test", {}, dedupe_key="once", now=T0)
        again = queue_email(team["tenant"], team["bob"], "test", {}, dedupe_key="once", now=T0)
        assert first is not None and again is None
        send_due(app.config["ATRIUM"], T0)
        send_due(app.config["ATRIUM"], T0 + datetime.timedelta(minutes=5))
    assert len(relay.mailbox.messages) == 1
    assert json.loads(OutgoingEmail.get().params) == {}


@pytest.mark.parametrize("text", TEXTS, ids=[repr(t[:24]) for t in TEXTS])
def test_hostile_texts_stay_inert_in_the_email_and_the_centre(app, team, email_on, relay, text):
    """The corpus of tests/data/hostile_text.txt as an important announcement's title and body (the pages that
    show them: tests/security/test_hostile.py). A title the form refuses (control and format characters) is
    sent as "Plain" with the text in the body; a body it refuses, with a field error, sends nothing."""
    from tests.notify.conftest import client_for

    title = text[:200]
    with app.app_context():
        try:
            try:
                publish_announcement(team["tenant"], team["wei"], title, text + "\r\nBcc: victim@example.com",
                                     to_all=True, important=True, now=T0)
            except ValidationError as exc:
                if exc.field != "title":
                    raise
                title = "Plain"
                publish_announcement(team["tenant"], team["wei"], title, text + "\r\nBcc: victim@example.com",
                                     to_all=True, important=True, now=T0)
        except ValidationError as exc:
            assert exc.field == "body" and str(exc.message)
            send_due(app.config["ATRIUM"], T0)
            assert not relay.mailbox.messages
            return
        send_due(app.config["ATRIUM"], T0)
    (mail,) = relay.mailbox.to("bob@acme.example")
    assert mail["Bcc"] is None and "\n" not in mail["Subject"]
    assert mail["Subject"] == f"Important announcement: {title.strip()}"[:200]   # a subject is one line of 200
    html = parts(mail)["text/html"].get_content()
    heading = html.split("<h1", 1)[1].split(">", 1)[1].split("</h1>")[0]
    item = html.split('white-space:pre-line;">', 1)[1].split("</p>")[0]
    assert problems(heading) == [] and problems(item) == []
    shown = str(escape(title.strip()))
    assert shown in heading and "{{" not in html.replace(shown, "").replace(str(escape(text)), "")
    # The email carries the start of the body (a notification keeps an excerpt), as typed.
    assert text.replace("\r\n", "\n").strip()[:200] in parts(mail)["text/plain"].get_content().replace("\r\n", "\n")
    page = client_for(app, "bob").get("/notifications/").get_data(as_text=True)
    shown_title = page.split('class="notification-title"', 1)[1].split(">", 1)[1].split("</a>")[0]
    assert problems(shown_title) == [] and shown in shown_title
