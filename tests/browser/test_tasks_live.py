"""A task in real browsers: made from a chat message, the assignee is told live on a phone, the creator sees the
progress arrive live, and "remind now" reaches the assignee."""
import datetime

import pytest

from app.chat import service as chat
from app.db import utcnow
from app.tasks.models import Task
from tests.browser.conftest import logged_in
from tests.conftest import make_person


pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def pair(tenant):
    wei = make_person(tenant, "wei", display_name="张伟")
    li = make_person(tenant, "li", display_name="李娜")
    return wei, li




def test_a_task_from_a_message_live_on_both_sides(browser, live_server, pair, tenant, artifacts):
    wei, li = pair
    base = f"http://localhost:{live_server}"
    conv = chat.direct_conversation(tenant, wei, li.id)
    message = chat.post_message(tenant, conv, li, "Customer asks for the Q3 report <b>by Friday</b>")
    errors: list[str] = []
    ctx_li, page_li = logged_in(browser, live_server, "li", errors, viewport={"width": 390, "height": 844},
                                is_mobile=True, has_touch=True)
    page_li.goto(f"{base}/tasks/")
    assert page_li.locator("#task-news").is_hidden()

    ctx_wei, page_wei = logged_in(browser, live_server, "wei", errors, viewport={"width": 1100, "height": 800})
    page_wei.goto(f"{base}/chat/{conv.id}")
    page_wei.locator(f"#m{message.id} .make-task").click()
    page_wei.wait_for_url(f"**/tasks/new?message={message.id}")
    assert page_wei.input_value("#title") == "Customer asks for the Q3 report <b>by Friday</b>"
    page_wei.select_option("#assignees", [str(li.id)])
    page_wei.select_option("#priority", "high")
    page_wei.click("button[data-label=new_task]")
    page_wei.wait_for_url("**/tasks/*")
    task = Task.get()
    assert task.source_message_id == message.id

    # Li's list offers the new task and a toast says who gave it, without a reload.
    page_li.locator(".toast", has_text="张伟 gave you a task: Customer asks for the Q3 report").wait_for()
    page_li.locator("#task-news").wait_for(state="visible")
    page_li.locator("#task-news a").click()
    page_li.locator(f"[data-task='{task.id}'] .task-title").click()
    page_li.wait_for_url(f"**/tasks/{task.id}")
    assert page_li.evaluate("document.documentElement.scrollWidth") <= 390

    # Li reports progress; Wei's open task page follows live.
    page_li.fill("#percent", "60")
    page_li.fill("#note", "Half the figures are in")
    page_li.click("#progress-form button[type=submit]")
    page_li.wait_for_url(f"**/tasks/{task.id}")
    page_wei.locator("#task-percent", has_text="60%").wait_for()
    assert page_wei.locator("#task [data-status]").inner_text() == "In progress"
    entry = page_wei.locator("#task-timeline .task-entry").last
    entry.locator("text=Half the figures are in").wait_for()
    assert entry.locator(".task-entry-status").inner_text() == "set it to In progress · 60%"
    page_wei.screenshot(path=str(artifacts / "task-progress-live.png"))

    # Wei chases; Li's page shows the reminder, and Wei's comment arrives in Li's timeline.
    page_wei.click("#task-remind")
    page_wei.locator(".flash-success", has_text="The assignees are reminded.").wait_for()
    page_li.locator(".toast", has_text="张伟 reminds you of a task: Customer asks for the Q3 report").wait_for()
    page_wei.fill("#text", "Thanks <i>so far</i>")
    page_wei.click("#comment-form button[type=submit]")
    page_li.locator("#task-timeline .message-body", has_text="Thanks <i>so far</i>").wait_for()
    page_li.screenshot(path=str(artifacts / "task-assignee-phone.png"))

    # Past its due time, the task surfaces on Li's home page; the filtered list fits the phone.
    Task.update(due_at=utcnow() - datetime.timedelta(hours=1)).where(Task.id == task.id).execute()
    page_li.goto(f"{base}/")
    page_li.locator("#overdue-tasks-card", has_text="Customer asks for the Q3 report").wait_for()
    page_li.goto(f"{base}/tasks/?due=overdue&priority=high")
    assert page_li.locator(f"[data-task='{task.id}'] .task-overdue").inner_text() == "Overdue"
    assert page_li.evaluate("document.documentElement.scrollWidth") <= 390
    page_li.screenshot(path=str(artifacts / "task-list-phone.png"), full_page=True)
    assert errors == []
    ctx_wei.close()
    ctx_li.close()
