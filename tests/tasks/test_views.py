"""Task pages: giving (also from a chat message), lists with filters and pages, one task, progress, chasing,
form errors that keep what was typed, isolation, and overdue tasks on the home page.
Hostile text in tasks: tests/security/test_hostile.py."""
import datetime
import re

from app.chat.service import create_group, post_message
from app.db import utcnow
from app.tasks import service
from app.tasks.models import Task, TaskComment
from tests.conftest import csrf_from, make_person
from tests.tasks.conftest import client_for, events, latest_event


def token(client, path="/tasks/"):
    return csrf_from(client.get(path).get_data(as_text=True))


def in_days(days: float, zone_offset_hours: int = 8) -> str:
    """A datetime-local value `days` from now, in a zone `zone_offset_hours` ahead of UTC."""
    moment = utcnow() + datetime.timedelta(days=days, hours=zone_offset_hours)
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_give_a_task_through_the_pages(app, team):
    wei_c, li_c = client_for(app, "wei"), client_for(app, "li")
    form = wei_c.get("/tasks/new").get_data(as_text=True)
    assert 'data-label="new_task"' in form and "李娜 (li)" in form and "Asia/Shanghai" in form
    due = in_days(2)
    before = latest_event()
    sent = wei_c.post("/tasks/new", data={"title": "Quote for ACME", "description": "Ten units",
                                          "assignees": [team["li"].id, team["bob"].id], "due": due,
                                          "priority": "high", "csrf_token": csrf_from(form)})
    assert sent.status_code == 302
    task = Task.get()
    assert sent.headers["Location"] == f"/tasks/{task.id}"
    assert task.due_at.strftime("%Y-%m-%dT%H:%M") == (
        datetime.datetime.fromisoformat(due) - datetime.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    assert {pid for _a, pid, p in events(after=before)} == {team["li"].id, team["bob"].id, team["wei"].id}

    mine = li_c.get("/tasks/").get_data(as_text=True)
    assert "Quote for ACME" in mine and "From 张伟" in mine and "High" in mine
    page = li_c.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Ten units" in page and "Report progress" in page and 'value="cancelled"' not in page
    assert f'action="/tasks/{task.id}/remind"' not in page and f'href="/tasks/{task.id}/edit"' not in page
    given = wei_c.get("/tasks/given").get_data(as_text=True)
    assert "Quote for ACME" in given and "For Bob Smith, 李娜" in given
    creator_page = wei_c.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'action="/tasks/{task.id}/remind"' in creator_page and 'value="cancelled"' in creator_page


def test_progress_comments_and_reminders_through_the_pages(app, team):
    task = service.create_task(team["tenant"], team["wei"], "Visit the plant", [team["li"].id])
    wei_c, li_c = client_for(app, "wei"), client_for(app, "li")
    csrf = token(li_c, f"/tasks/{task.id}")
    done = li_c.post(f"/tasks/{task.id}/progress", data={"status": "in_progress", "percent": "60",
                                                         "note": "Booked the car", "csrf_token": csrf})
    assert done.status_code == 302 and done.headers["Location"] == f"/tasks/{task.id}"
    page = li_c.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Progress saved." in page and "Booked the car" in page and "set it to In progress · 60%" in page
    bad = li_c.post(f"/tasks/{task.id}/progress", data={"percent": "150", "csrf_token": csrf})
    assert bad.status_code == 302
    assert "Give a whole number from 0 to 100." in li_c.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert li_c.post(f"/tasks/{task.id}/progress", data={"status": "cancelled", "csrf_token": csrf}).status_code == 403
    li_c.post(f"/tasks/{task.id}/comments", data={"text": "Plant visit on Tuesday", "csrf_token": csrf})
    assert "Plant visit on Tuesday" in wei_c.get(f"/tasks/{task.id}").get_data(as_text=True)
    empty = li_c.post(f"/tasks/{task.id}/comments", data={"text": "  ", "csrf_token": csrf})
    assert empty.status_code == 302 and TaskComment.select().count() == 2
    assert "This field is required." in li_c.get(f"/tasks/{task.id}").get_data(as_text=True)

    assert li_c.post(f"/tasks/{task.id}/remind", data={"csrf_token": csrf}).status_code == 403
    wcsrf = token(wei_c, f"/tasks/{task.id}")
    before = latest_event()
    first = wei_c.post(f"/tasks/{task.id}/remind", data={"csrf_token": wcsrf})
    assert first.status_code == 302
    assert [(pid, p["action"]) for _a, pid, p in events(after=before)][0] == (team["li"].id, "reminder")
    again = wei_c.post(f"/tasks/{task.id}/remind", data={"csrf_token": wcsrf})
    assert again.status_code == 303 and 540 <= int(again.headers["Retry-After"]) <= 600
    assert "You can remind again in 10 minutes." in wei_c.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert wei_c.post(f"/tasks/{task.id}/remind", data={}).status_code == 400          # no CSRF token


def test_form_errors_keep_what_was_typed_and_save_nothing(app, team):
    wei_c = client_for(app, "wei")
    csrf = token(wei_c, "/tasks/new")
    empty = wei_c.post("/tasks/new", data={"title": " ", "description": "Keep me", "assignees": [team["li"].id],
                                           "priority": "urgent", "due": "", "csrf_token": csrf})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 400 and "This field is required." in page and "Keep me" in page
    assert f'<option value="{team["li"].id}" selected>' in page and '<option value="urgent" selected>' in page
    past = wei_c.post("/tasks/new", data={"title": "Later", "assignees": [team["li"].id], "due": "2020-01-01T09:00",
                                          "csrf_token": csrf})
    assert past.status_code == 400 and "Choose a time in the future." in past.get_data(as_text=True)
    assert 'value="2020-01-01T09:00"' in past.get_data(as_text=True)
    nobody = wei_c.post("/tasks/new", data={"title": "Hello", "csrf_token": csrf})
    assert nobody.status_code == 400 and "Choose at least one person." in nobody.get_data(as_text=True)
    forged = wei_c.post("/tasks/new", data={"title": "Hello", "assignees": ["1 OR 1=1"], "csrf_token": csrf})
    assert forged.status_code == 400 and "Choose people from the list." in forged.get_data(as_text=True)
    priority = wei_c.post("/tasks/new", data={"title": "Hello", "assignees": [team["li"].id], "priority": "asap",
                                              "csrf_token": csrf})
    assert priority.status_code == 400 and "Choose a priority from the list." in priority.get_data(as_text=True)
    assert Task.select().count() == 0


def test_make_a_task_from_a_chat_message(app, team):
    t = team["tenant"]
    group = create_group(t, team["li"], "Deal room", [team["wei"].id])
    message = post_message(t, group, team["li"], "Customer wants the <b>price list</b>\nby Friday")
    wei_c = client_for(app, "wei")
    chat = wei_c.get(f"/chat/{group.id}").get_data(as_text=True)
    assert f'href="/tasks/new?message={message.id}"' in chat and 'data-task-url="/tasks/new"' in chat
    form = wei_c.get(f"/tasks/new?message={message.id}").get_data(as_text=True)
    assert 'value="Customer wants the &lt;b&gt;price list&lt;/b&gt;"' in form
    assert f'name="message" value="{message.id}"' in form and "<b>price list" not in form
    made = wei_c.post("/tasks/new", data={"title": "Send the price list", "description": message.text,
                                          "assignees": [team["li"].id], "message": message.id,
                                          "csrf_token": csrf_from(form)})
    task = Task.get()
    assert made.status_code == 302 and task.source_message_id == message.id
    page = wei_c.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'href="/chat/{group.id}#m{message.id}"' in page

    # Dan is not in the conversation: neither the form nor a forged post reaches the message.
    dan_c = client_for(app, "dan")
    assert dan_c.get(f"/tasks/new?message={message.id}").status_code == 404
    assert dan_c.get("/tasks/new?message=abc").status_code == 404
    forged = dan_c.post("/tasks/new", data={"title": "Mine", "assignees": [team["dan"].id], "message": message.id,
                                            "csrf_token": token(dan_c, "/tasks/new")})
    assert forged.status_code == 400 and "That message cannot be made into a task." in forged.get_data(as_text=True)
    assert Task.select().count() == 1
    # Li was given the task but the link shows only to members of the conversation: Li is one.
    li_page = client_for(app, "li").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'href="/chat/{group.id}#m{message.id}"' in li_page


def test_nobody_else_reaches_a_task(app, team, other_tenant):
    task = service.create_task(team["tenant"], team["wei"], "Private", [team["li"].id])
    dan_c = client_for(app, "dan")                                   # an admin, not involved
    csrf = token(dan_c)
    for method, path, data in (("get", f"/tasks/{task.id}", None), ("get", f"/tasks/{task.id}/edit", None),
                               ("post", f"/tasks/{task.id}/edit", {"title": "x"}),
                               ("post", f"/tasks/{task.id}/progress", {"percent": "50"}),
                               ("post", f"/tasks/{task.id}/comments", {"text": "hi"}),
                               ("post", f"/tasks/{task.id}/remind", {}),
                               ("post", f"/tasks/{task.id}/delete", {}),
                               ("get", "/tasks/999999", None)):
        if method == "get":
            response = dan_c.get(path)
        else:
            response = dan_c.post(path, data={**data, "csrf_token": csrf})
        assert response.status_code == 404, path
    li_c = client_for(app, "li")
    assert li_c.get(f"/tasks/{task.id}/edit").status_code == 403
    assert li_c.post(f"/tasks/{task.id}/delete", data={"csrf_token": token(li_c)}).status_code == 403
    assert "Private" not in dan_c.get("/tasks/given").get_data(as_text=True)
    assert "Private" not in dan_c.get("/tasks/?status=all").get_data(as_text=True)

    make_person(other_tenant, "wei")
    theirs = client_for(app, "wei", host="globex.example")
    assert theirs.get(f"/tasks/{task.id}", base_url="http://globex.example").status_code == 404
    assert Task.get_by_id(task.id).title == "Private" and TaskComment.select().count() == 0


def test_edit_and_delete_through_the_pages(app, team):
    task = service.create_task(team["tenant"], team["wei"], "Old title", [team["li"].id, team["bob"].id],
                               due=in_days(1))
    wei_c = client_for(app, "wei")
    form = wei_c.get(f"/tasks/{task.id}/edit").get_data(as_text=True)
    assert 'value="Old title"' in form and f'<option value="{team["bob"].id}" selected>' in form
    local_due = re.search(r'name="due" type="datetime-local" value="([^"]+)"', form).group(1)
    assert local_due == (task.due_at + datetime.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    saved = wei_c.post(f"/tasks/{task.id}/edit", data={"title": "New title", "assignees": [team["li"].id],
                                                       "due": local_due, "priority": "low",
                                                       "csrf_token": csrf_from(form)})
    assert saved.status_code == 302
    assert Task.get_by_id(task.id).title == "New title"
    assert client_for(app, "bob").get(f"/tasks/{task.id}").status_code == 404
    bad = wei_c.post(f"/tasks/{task.id}/edit", data={"title": "", "assignees": [team["li"].id],
                                                     "csrf_token": csrf_from(form)})
    assert bad.status_code == 400 and Task.get_by_id(task.id).title == "New title"
    gone = wei_c.post(f"/tasks/{task.id}/delete", data={"csrf_token": csrf_from(form)})
    assert gone.status_code == 302 and gone.headers["Location"] == "/tasks/given"
    assert Task.select().count() == 0 and wei_c.get(f"/tasks/{task.id}").status_code == 404


def test_lists_filter_and_page(app, team):
    t = team["tenant"]
    for n in range(35):
        service.create_task(t, team["wei"], f"Task {n:02d}", [team["li"].id], priority="high" if n % 5 == 0 else None)
    urgent = service.create_task(t, team["wei"], "The urgent one", [team["li"].id], priority="urgent")
    service.set_progress(t, team["li"], urgent.id, "done")
    li_c = client_for(app, "li")
    first = li_c.get("/tasks/").get_data(as_text=True)
    assert first.count('class="ding-item task-item') == 30 and "Page 1 of 2" in first
    second = li_c.get("/tasks/?page=2").get_data(as_text=True)
    assert second.count('class="ding-item task-item') == 5 and "The urgent one" not in second
    high = li_c.get("/tasks/?priority=high").get_data(as_text=True)
    assert high.count('class="ding-item task-item') == 7 and '<option value="high" selected>' in high
    done = li_c.get("/tasks/?status=done").get_data(as_text=True)
    assert "The urgent one" in done and "Task 00" not in done
    assert 'href="/tasks/?page=2&amp;status=all"' in li_c.get("/tasks/?status=all").get_data(as_text=True)
    bad = li_c.get("/tasks/?status=closed&priority=now")
    assert bad.status_code == 400 and "Choose a status from the list." in bad.get_data(as_text=True)
    assert li_c.get("/tasks/?page=abc").status_code == 200
    nothing = li_c.get("/tasks/?due=none&priority=low").get_data(as_text=True)
    assert "No tasks for you here." in nothing


def test_overdue_tasks_surface_on_the_home_page(app, team):
    t = team["tenant"]
    late = service.create_task(t, team["wei"], "Late <script>alert(1)</script>", [team["li"].id],
                               due=in_days(1))
    Task.update(due_at=utcnow() - datetime.timedelta(hours=2)).where(Task.id == late.id).execute()
    service.create_task(t, team["wei"], "Not yet", [team["li"].id], due=in_days(3))
    home = client_for(app, "li").get("/").get_data(as_text=True)
    assert "Overdue tasks" in home and f'href="/tasks/{late.id}"' in home and "Not yet" not in home
    assert "<script>alert(1)" not in home and "&lt;script&gt;" in home
    assert "Overdue tasks" not in client_for(app, "bob").get("/").get_data(as_text=True)
    assert "Overdue" in client_for(app, "li").get("/tasks/?due=overdue").get_data(as_text=True)
    service.set_progress(t, team["li"], late.id, "done")
    assert "Overdue tasks" not in client_for(app, "li").get("/").get_data(as_text=True)


def test_the_live_script_is_on_every_page(app, team):
    page = client_for(app, "li").get("/people").get_data(as_text=True)
    assert '/static/tasks.js' in page and 'data-text-reminder="{name} reminds you of a task: {title}"' in page
    script = client_for(app, "li").get("/static/tasks.js")
    assert script.status_code == 200 and b'live.listen("task")' in script.data
    script.close()
