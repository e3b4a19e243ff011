"""Tasks: giving, who sees them, progress, comments, chasing, lists and filters, on SQLite and PostgreSQL."""
import datetime
import zoneinfo

import pytest

from app import db as dbmod
from app.chat.service import direct_conversation, post_message, recall_message
from app.org.service import deactivate_person
from app.tasks import service
from app.tasks.models import Task, TaskAssignee, TaskComment
from app.tasks.service import RemindTooSoon, TaskFilters
from app.validation import ValidationError
from tests.conftest import make_person
from tests.tasks.conftest import events, latest_event

NOW = datetime.datetime(2025, 3, 3, 4, 0)          # Monday 12:00 in Shanghai
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def give(team, title="Prepare the quote", to=("li",), **kw):
    kw.setdefault("now", NOW)
    return service.create_task(team["tenant"], team[kw.pop("by", "wei")], title, [team[n].id for n in to], **kw)


def test_the_migrated_schema_matches_the_models(database_url):
    from app.circle.models import CircleComment, CircleImage, CircleLike, CirclePost, CirclePostDepartment

    database = dbmod.make_database(database_url, pool=False)
    database.connect()
    try:
        for model in (Task, TaskAssignee, TaskComment, CirclePost, CirclePostDepartment, CircleImage, CircleLike,
                      CircleComment):
            columns = {c.name for c in database.get_columns(model._meta.table_name)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, model._meta.table_name
            indexes = {i.name for i in database.get_indexes(model._meta.table_name)}
            assert f"{model._meta.table_name}_tenant_id" in indexes
    finally:
        database.close()


def test_giving_a_task_stores_it_and_tells_the_assignees(team):
    before = latest_event()
    task = give(team, "  报价单 for ACME  ", to=("li", "bob", "li"), description="Three lines\nof detail",
                due="2025-03-05T18:00", priority="high", zone=SHANGHAI)
    assert (task.title, task.description, task.priority_name, task.status, task.percent) == (
        "报价单 for ACME", "Three lines\nof detail", "high", "todo", 0)
    assert task.due_at == datetime.datetime(2025, 3, 5, 10, 0)                  # 18:00 in Shanghai
    assert sorted(service.assignee_ids(task)) == sorted([team["li"].id, team["bob"].id])
    told = events(after=before)
    assert sorted(pid for _aud, pid, _p in told) == sorted([team["li"].id, team["bob"].id, team["wei"].id])
    assert all(aud == "person" and p["action"] == "assigned" and p["by_name"] == "张伟"
               and p["url"] == f"/tasks/{task.id}" for aud, _pid, p in told)


@pytest.mark.parametrize("title, to, extra, field", [
    ("", ("li",), {}, "title"),
    ("x" * 201, ("li",), {}, "title"),
    ("bad\x07title", ("li",), {}, "title"),
    (["a list"], ("li",), {}, "title"),
    ("ok", (), {}, "assignees"),
    ("ok", ("li",), {"description": "d" * 5001}, "description"),
    ("ok", ("li",), {"description": "nul\x00byte"}, "description"),
    ("ok", ("li",), {"priority": "whenever"}, "priority"),
    ("ok", ("li",), {"due": "yesterday"}, "due"),
    ("ok", ("li",), {"due": "2025-03-01T09:00"}, "due"),               # in the past
    ("ok", ("li",), {"due": "2031-03-03T09:00"}, "due"),               # more than five years ahead
    ("ok", ("li",), {"due": 20250305}, "due"),
    ("ok", ("li",), {"message_id": "12345"}, "message"),
])
def test_bad_input_is_refused_and_saves_nothing(team, title, to, extra, field):
    before = latest_event()
    with pytest.raises(ValidationError) as info:
        give(team, title, to=to, **extra)
    assert info.value.field == field
    assert Task.select().count() == 0 and TaskAssignee.select().count() == 0 and events(after=before) == []


@pytest.mark.parametrize("assignees", [["abc"], [True], "li", [None], [" 1"]])
def test_assignees_that_are_not_ids_are_refused(team, assignees):
    with pytest.raises(ValidationError) as info:
        service.create_task(team["tenant"], team["wei"], "ok", assignees, now=NOW)
    assert info.value.field == "assignees"


def test_assignees_come_from_the_active_people_of_the_tenant(team, other_tenant):
    stranger = make_person(other_tenant, "stranger")
    gone = make_person(team["tenant"], "gone")
    deactivate_person(gone)
    for ids in ([stranger.id], [gone.id], [999999], [team["li"].id, stranger.id]):
        with pytest.raises(ValidationError, match="Choose active people from the list"):
            service.create_task(team["tenant"], team["wei"], "ok", ids, now=NOW)
    with pytest.raises(ValidationError, match="At most 50 people"):
        service.create_task(team["tenant"], team["wei"], "ok", list(range(1, 52)), now=NOW)
    assert Task.select().count() == 0
    mine = service.create_task(team["tenant"], team["wei"], "A note to myself", [team["wei"].id], now=NOW)
    assert service.assignee_ids(mine) == [team["wei"].id]


def test_the_due_time_is_read_in_the_persons_time_zone(team):
    new_york = zoneinfo.ZoneInfo("America/New_York")
    task = give(team, due="2025-03-04T09:30", zone=new_york)
    assert task.due_at == datetime.datetime(2025, 3, 4, 14, 30)
    whole_day = give(team, due="2025-03-04", zone=SHANGHAI)
    assert whole_day.due_at == datetime.datetime(2025, 3, 4, 15, 59)            # 23:59 in Shanghai
    offset = give(team, due="2025-03-04T09:30:00+02:00", zone=new_york)
    assert offset.due_at == datetime.datetime(2025, 3, 4, 7, 30)
    team["wei"].timezone = "America/New_York"
    team["wei"].save()
    by_person = give(team, due="2025-03-04T09:30")                             # the creator's own zone
    assert by_person.due_at == datetime.datetime(2025, 3, 4, 14, 30)
    assert give(team, due="").due_at is None


def test_a_task_from_a_chat_message_the_creator_can_see(team):
    t = team["tenant"]
    conv = direct_conversation(t, team["wei"], team["li"].id)
    text = "Please send the signed contract\nby Friday, with the annex"
    message = post_message(t, conv, team["li"], text)
    prefill = service.from_message(message)
    assert prefill == {"title": "Please send the signed contract", "description": text, "message": str(message.id)}
    task = give(team, prefill["title"], description=prefill["description"], message_id=message.id)
    assert task.source_message_id == message.id

    # Dan is not in that conversation; a recalled message is gone for everyone.
    assert service.visible_message(t, team["dan"], message.id) is None
    with pytest.raises(ValidationError) as info:
        give(team, "Steal it", by="dan", message_id=message.id)
    assert info.value.field == "message"
    recalled = post_message(t, conv, team["wei"], "oops")
    recall_message(t, team["wei"], recalled.id)
    assert service.visible_message(t, team["wei"], recalled.id) is None
    long = post_message(t, conv, team["wei"], "长" * 300)
    assert service.from_message(long)["title"] == "长" * 199 + "…"


def test_only_its_creator_and_assignees_see_a_task(team, other_tenant):
    task = give(team, to=("li",))
    t = team["tenant"]
    assert service.task_for(t, team["wei"], task.id).creator.display_name == "张伟"
    assert service.task_for(t, team["li"], task.id) is not None
    assert service.task_for(t, team["bob"], task.id) is None
    assert service.task_for(t, team["dan"], task.id) is None                   # an admin too: tasks are private
    assert service.task_for(t, team["li"], "1 OR 1=1") is None
    theirs = make_person(other_tenant, "li")
    assert service.task_for(other_tenant, theirs, task.id) is None


def test_progress_follows_status_and_percent(team):
    t, li = team["tenant"], team["li"]
    task = give(team, to=("li", "bob"))
    before = latest_event()
    task = service.set_progress(t, li, task.id, "todo", percent="40", note="Called the customer", now=NOW)
    assert (task.status, task.percent, task.completed_at) == ("in_progress", 40, None)
    told = events(after=before)
    assert sorted(pid for _a, pid, _p in told) == sorted([team["wei"].id, li.id, team["bob"].id])
    entry = told[0][2]["entry"]
    assert (told[0][2]["action"], entry["status"], entry["percent"], entry["text"]) == (
        "progress", "in_progress", 40, "Called the customer")
    task = service.set_progress(t, li, task.id, percent=100, now=NOW)
    assert (task.status, task.percent, task.completed_at) == ("done", 100, NOW)
    task = service.set_progress(t, team["bob"], task.id, status="in_progress", now=NOW)
    assert (task.status, task.percent, task.completed_at) == ("in_progress", 99, None)
    task = service.set_progress(t, li, task.id, status="todo", percent="70", now=NOW)
    assert (task.status, task.percent) == ("todo", 0)
    task = service.set_progress(t, li, task.id, status="done", percent="10", now=NOW)
    assert (task.status, task.percent) == ("done", 100)
    task = service.set_progress(t, li, task.id, note="Sent the invoice too", now=NOW)        # a note alone
    assert (task.status, task.percent) == ("done", 100)
    task = service.set_progress(t, li, task.id, "done", "80", now=NOW)          # the form's status, a new percent
    assert (task.status, task.percent, task.completed_at) == ("in_progress", 80, None)
    entries = service.timeline(task)
    assert [e.author.display_name for e in entries][:1] == ["李娜"] and len(entries) == 7


@pytest.mark.parametrize("status, percent, note, field", [
    ("finished", None, None, "status"),
    (None, "101", None, "percent"),
    (None, "-1", None, "percent"),
    (None, "half", None, "percent"),
    (None, True, None, "percent"),
    (None, None, None, "percent"),          # nothing changes
    (None, None, "n" * 2001, "note"),
])
def test_bad_progress_is_refused(team, status, percent, note, field):
    task = give(team)
    with pytest.raises(ValidationError) as info:
        service.set_progress(team["tenant"], team["li"], task.id, status, percent, note, now=NOW)
    assert info.value.field == field
    assert TaskComment.select().count() == 0 and Task.get_by_id(task.id).status == "todo"


def test_only_the_creator_cancels_and_reopens(team):
    t = team["tenant"]
    task = give(team)
    with pytest.raises(PermissionError):
        service.set_progress(t, team["li"], task.id, "cancelled", now=NOW)
    with pytest.raises(LookupError):
        service.set_progress(t, team["bob"], task.id, percent=50, now=NOW)
    task = service.set_progress(t, team["wei"], task.id, "cancelled", note="The customer withdrew", now=NOW)
    assert task.status == "cancelled"
    with pytest.raises(ValidationError, match="cancelled"):
        service.set_progress(t, team["li"], task.id, percent=50, now=NOW)
    with pytest.raises(ValidationError, match="choose a status to reopen"):
        service.set_progress(t, team["wei"], task.id, percent=50, now=NOW)
    assert service.set_progress(t, team["wei"], task.id, "in_progress", 20, now=NOW).status == "in_progress"


def test_comments_reach_everyone_involved(team):
    t = team["tenant"]
    task = give(team, to=("li", "bob"))
    before = latest_event()
    entry = service.add_comment(t, team["bob"], task.id, "  Draft attached: https://intranet.example/q/1 <b>  ")
    assert entry.text == "Draft attached: https://intranet.example/q/1 <b>" and entry.status is None
    told = events(after=before)
    assert sorted(pid for _a, pid, _p in told) == sorted([team["wei"].id, team["li"].id, team["bob"].id])
    html = told[0][2]["entry"]["html"]
    assert "&lt;b&gt;" in html and 'href="https://intranet.example/q/1"' in html
    for text in ("", "   ", "x" * 2001, "bell\x07"):
        with pytest.raises(ValidationError):
            service.add_comment(t, team["li"], task.id, text)
    with pytest.raises(LookupError):
        service.add_comment(t, team["dan"], task.id, "Let me in")
    assert TaskComment.select().count() == 1


def test_remind_now_is_the_creators_and_rate_limited(team):
    t, wei = team["tenant"], team["wei"]
    task = give(team, to=("li", "wei"))
    with pytest.raises(PermissionError):
        service.remind(t, team["li"], task.id, now=NOW)
    with pytest.raises(LookupError):
        service.remind(t, team["dan"], task.id, now=NOW)
    before = latest_event()
    assert service.remind(t, wei, task.id, now=NOW) == [team["li"].id]           # the creator is not reminded
    told = events(after=before)
    assert [(pid, p["action"]) for _a, pid, p in told] == [(team["li"].id, "reminder"), (wei.id, "reminder")]
    with pytest.raises(RemindTooSoon) as info:
        service.remind(t, wei, task.id, now=NOW + datetime.timedelta(minutes=3))
    assert info.value.retry_after == 7 * 60
    assert len(events(after=before)) == 2
    assert service.remind(t, wei, task.id, now=NOW + datetime.timedelta(minutes=10)) == [team["li"].id]
    assert Task.get_by_id(task.id).last_reminded_at == NOW + datetime.timedelta(minutes=10)

    service.set_progress(t, team["li"], task.id, "done", now=NOW)
    with pytest.raises(ValidationError, match="Only open tasks"):
        service.remind(t, wei, task.id, now=NOW + datetime.timedelta(hours=1))
    alone = give(team, to=("wei",))
    with pytest.raises(ValidationError, match="nobody else"):
        service.remind(t, wei, alone.id, now=NOW)


def test_changing_a_task_moves_who_sees_it(team):
    t = team["tenant"]
    task = give(team, to=("li", "bob"), due="2025-03-04T10:00", zone=SHANGHAI)
    before = latest_event()
    later = NOW + datetime.timedelta(days=5)                       # the due time is past by now
    task = service.update_task(t, team["wei"], task.id, "New title", [team["li"].id, team["dan"].id],
                               description="More", due=task.due_at, priority="urgent", now=later)
    assert (task.title, task.description, task.priority_name) == ("New title", "More", "urgent")
    assert task.due_at == datetime.datetime(2025, 3, 4, 2, 0)                   # kept, although past
    assert service.task_for(t, team["bob"], task.id) is None
    assert service.task_for(t, team["dan"], task.id) is not None
    told = {(pid, p["action"]) for _a, pid, p in events(after=before)}
    assert (team["dan"].id, "assigned") in told and (team["bob"].id, "unassigned") in told
    assert (team["li"].id, "changed") in told and (team["dan"].id, "changed") not in told
    with pytest.raises(ValidationError) as info:
        service.update_task(t, team["wei"], task.id, "New title", [team["li"].id], due="2025-03-05T10:00",
                            now=later)
    assert info.value.field == "due"
    with pytest.raises(PermissionError):
        service.update_task(t, team["li"], task.id, "Mine now", [team["li"].id], now=later)
    assert Task.get_by_id(task.id).title == "New title"


def test_deleting_is_the_creators_and_takes_the_timeline(team):
    t = team["tenant"]
    task = give(team, to=("li",))
    service.add_comment(t, team["li"], task.id, "On it")
    with pytest.raises(PermissionError):
        service.delete_task(t, team["li"], task.id)
    before = latest_event()
    service.delete_task(t, team["wei"], task.id)
    assert Task.select().count() == TaskAssignee.select().count() == TaskComment.select().count() == 0
    assert {(pid, p["action"]) for _a, pid, p in events(after=before)} == {
        (team["li"].id, "deleted"), (team["wei"].id, "deleted")}
    with pytest.raises(LookupError):
        service.delete_task(t, team["wei"], task.id)


def test_lists_filter_and_order_the_tasks(team):
    t, li = team["tenant"], team["li"]
    soon = give(team, "Soon", due="2025-03-03T18:00", priority="low", zone=SHANGHAI)           # today
    urgent_undated = give(team, "Undated", priority="urgent")
    week = give(team, "This week", due="2025-03-08T09:00", priority="high", zone=SHANGHAI)
    later = give(team, "Later", due="2025-04-01T09:00", zone=SHANGHAI)
    done = give(team, "Done", due="2025-03-04T09:00", zone=SHANGHAI)
    service.set_progress(t, li, done.id, "done", now=NOW)
    mine_by_dan = give(team, "Dan's", by="dan", to=("li",))
    give(team, "For Bob", to=("bob",))

    def titles(filters=TaskFilters(), now=NOW, who=li, given=False):
        query = (service.tasks_created_by if given else service.tasks_assigned_to)(t, who, filters, SHANGHAI, now)
        return [task.title for task in query]

    assert titles() == ["Soon", "This week", "Later", "Undated", "Dan's"]      # undated last, urgent first
    assert titles(TaskFilters(status="all"))[-1] == "Done"
    assert titles(TaskFilters(status="done")) == ["Done"]
    assert titles(TaskFilters(due="today")) == ["Soon"]
    assert titles(TaskFilters(due="week")) == ["Soon", "This week"]
    assert titles(TaskFilters(due="none")) == ["Undated", "Dan's"]
    assert titles(TaskFilters(priority="urgent")) == ["Undated"]
    assert titles(TaskFilters(due="overdue"), now=NOW + datetime.timedelta(days=6)) == ["Soon", "This week"]
    assert titles(given=True, who=team["wei"]) == ["Soon", "This week", "Later", "Undated", "For Bob"]
    assert titles(who=team["bob"]) == ["For Bob"]
    # "today" ends at the person's midnight: 23:30 in Shanghai is still Monday there.
    assert titles(TaskFilters(due="today"), now=datetime.datetime(2025, 3, 3, 15, 30)) == ["Soon"]
    assert {soon.id, urgent_undated.id, week.id, later.id, mine_by_dan.id} <= {task.id for task in
                                                                              service.tasks_assigned_to(t, li)}


@pytest.mark.parametrize("args, field", [({"status": "closed"}, "status"), ({"due": "tomorrow"}, "due"),
                                         ({"priority": "5"}, "priority")])
def test_unknown_filters_are_refused(args, field):
    with pytest.raises(ValidationError) as info:
        service.parse_filters(args)
    assert info.value.field == field


def test_overdue_tasks_for_the_home_page(team):
    t = team["tenant"]
    for n in range(7):
        give(team, f"Late {n}", due=f"2025-03-0{4 + n % 3}T09:00", zone=SHANGHAI)
    give(team, "Not late", due="2025-04-01T09:00", zone=SHANGHAI)
    done = give(team, "Late but done", due="2025-03-04T09:00", zone=SHANGHAI)
    service.set_progress(t, team["li"], done.id, "done", now=NOW)
    shown, count = service.overdue_for(t, team["li"], now=NOW + datetime.timedelta(days=10))
    assert count == 7 and len(shown) == 5 and shown[0].due_at <= shown[-1].due_at
    assert service.overdue_for(t, team["li"], now=NOW) == ([], 0)
    assert service.overdue_for(t, team["bob"], now=NOW + datetime.timedelta(days=10)) == ([], 0)
    assert service.is_overdue(shown[0], NOW + datetime.timedelta(days=10))
    assert not service.is_overdue(shown[0], NOW)



def test_assignees_are_notified_and_a_reminder_is_emailed(team):
    import json

    from flask_babel import force_locale

    from app.notify import kinds
    from app.notify.models import Notification

    task = give(team, title="Quarterly report", to=("li",))
    (given,) = Notification.select().where(Notification.person == team["li"].id)
    assert (given.kind, given.link, given.email) == ("task_assigned", f"/tasks/{task.id}", False)
    with force_locale("en"):
        assert kinds.title(given.kind, json.loads(given.params)) == "张伟 gave you a task: Quarterly report"
    service.remind(team["tenant"], team["wei"], task.id, now=NOW)
    reminder = Notification.select().where((Notification.person == team["li"].id)
                                           & (Notification.kind == "task_reminder")).get()
    assert reminder.email is True and reminder.ref == f"task:{task.id}"
    assert not Notification.select().where(Notification.person == team["wei"].id).exists()
