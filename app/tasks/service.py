"""Tasks: giving work to colleagues, progress, comments and chasing; plain functions over a tenant and plain values.

A task is seen by its creator and its assignees only; to anyone else it does not
exist. Assignees and the creator report progress (one status and percent for
the task) and comment; the creator changes the task, cancels or deletes it, and
chases the assignees ("remind now"), at most once every REMIND_MINUTES.

Every change is announced live to the people involved through one `_announce_*`
function per occasion; those are the places notifications hook in. Each gets the
people to tell, the actor left out (the actor's own other tabs follow anyway).
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import peewee
from flask_babel import lazy_gettext as _l

from app.chat.models import Message
from app.chat.render import render_text
from app.chat.service import member_row
from app.db import db, utcnow
from app.events import publish
from app.notify import notify
from app.org.models import Person
from app.org.status import person_zone
from app.tasks.models import OPEN_STATUSES, PRIORITIES, STATUSES, Task, TaskAssignee, TaskComment
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope, as_row_id
from app.validation import ValidationError, clean_long_text, clean_text

MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000
MAX_COMMENT_LENGTH = 2000
MAX_ASSIGNEES = 50
MAX_DUE_DAYS = 5 * 366
REMIND_MINUTES = 10               # the creator chases at most this often
STATUS_FILTERS = ("open",) + STATUSES + ("all",)
DUE_FILTERS = ("overdue", "today", "week", "none")
_ID = re.compile(r"[0-9]{1,12}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class RemindTooSoon(Exception):
    """The assignees were chased a moment ago; retry_after is in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def task_url(task_id: int) -> str:
    """The page of one task (a fixed path, so no request is needed to build it)."""
    return f"/tasks/{task_id}"


# --- checking what people typed ---------------------------------------------------------------

def _title(value) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError("title", _l("Must be text."))
    return clean_text(value, "title", required=True, max_length=MAX_TITLE_LENGTH)


def _ids(values, field: str, message) -> list[int]:
    if not isinstance(values, (list, tuple)):
        raise ValidationError(field, message)
    ids = []
    for raw in values:
        number = as_row_id(raw) if isinstance(raw, int) or (isinstance(raw, str) and _ID.fullmatch(raw)) else None
        if number is None:   # not a number, or one no row can have (a JSON body's 10**30)
            raise ValidationError(field, message)
        ids.append(number)
    return list(dict.fromkeys(ids))


def _assignees(tenant: Tenant, values) -> list[Person]:
    ids = _ids(values, "assignees", _l("Choose people from the list."))
    if not ids:
        raise ValidationError("assignees", _l("Choose at least one person."))
    if len(ids) > MAX_ASSIGNEES:
        raise ValidationError("assignees", _l("At most %(n)d people.", n=MAX_ASSIGNEES))
    people = list(Person.active(tenant).where(Person.id.in_(ids)).order_by(Person.display_name, Person.id))
    if len(people) != len(ids):
        raise ValidationError("assignees", _l("Choose active people from the list."))
    return people


def priority_value(value) -> int:
    """The stored priority (1-4) for a priority name; empty means normal."""
    if value is None or value == "":
        return PRIORITIES.index("normal") + 1
    if isinstance(value, str) and value in PRIORITIES:
        return PRIORITIES.index(value) + 1
    raise ValidationError("priority", _l("Choose a priority from the list."))


def parse_due(value, zone: datetime.tzinfo, now: datetime.datetime,
              keep: datetime.datetime | None = None) -> datetime.datetime | None:
    """Naive UTC due time, None for none: ISO text read in `zone` unless it has an offset; a date alone is its
    day's end. It must lie ahead, unless it is `keep` (the due time a task already has)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    elif isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        try:
            if _DATE.fullmatch(text):
                moment = datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time(23, 59))
            else:
                moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("due", _l("Give a date and time like 2025-03-01 18:00.")) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
    else:
        raise ValidationError("due", _l("Give a date and time like 2025-03-01 18:00."))
    moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None, second=0, microsecond=0)
    if keep is not None and moment == keep.replace(second=0, microsecond=0):
        return keep
    if moment <= now:
        raise ValidationError("due", _l("Choose a time in the future."))
    if moment > now + datetime.timedelta(days=MAX_DUE_DAYS):
        raise ValidationError("due", _l("At most %(n)d years ahead.", n=MAX_DUE_DAYS // 366))
    return moment


def visible_message(tenant: Tenant, person: Person, message_id) -> Message | None:
    """A chat message the person can see (in a conversation they are in, not recalled), or None."""
    if not _ID.fullmatch(str(message_id)):
        return None
    message = TenantScope(tenant).get_or_none(Message, message_id)
    if message is None or message.recalled_at is not None or message.kind != "text":
        return None
    if member_row(message.conversation_id, person) is None:
        return None
    return message


def from_message(message: Message) -> dict:
    """A new task's title and description taken from a message."""
    text = message.text.strip() or (message.attachment_name or "")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first = "".join(ch for ch in first if ch.isprintable())
    title = first if len(first) <= MAX_TITLE_LENGTH else first[:MAX_TITLE_LENGTH - 1] + "…"
    return {"title": title, "description": text[:MAX_DESCRIPTION_LENGTH], "message": str(message.id)}


# --- who sees what ---------------------------------------------------------------------------

def task_for(tenant: Tenant, person: Person, task_id) -> Task | None:
    """A task the person gave or has (with its creator), or None: other tasks do not exist for them."""
    if not _ID.fullmatch(str(task_id)):
        return None
    task = (TenantScope(tenant).select(Task, Task, Person).join(Person, on=(Task.creator == Person.id))
            .where(Task.id == int(task_id)).first())
    if task is None:
        return None
    if task.creator_id == person.id or person.id in assignee_ids(task):
        return task
    return None


def assignee_ids(task: Task) -> list[int]:
    return [pid for (pid,) in TaskAssignee.select(TaskAssignee.person).where(TaskAssignee.task == task.id).tuples()]


def assignees_of(task_ids: list[int]) -> dict[int, list[Person]]:
    """task id -> its assignees by name, for a page of tasks in one query."""
    found: dict[int, list[Person]] = {tid: [] for tid in task_ids}
    if not task_ids:
        return found
    rows = (Person.select(Person, TaskAssignee.task).join(TaskAssignee, on=(TaskAssignee.person == Person.id))
            .where(TaskAssignee.task.in_(task_ids)).order_by(Person.display_name, Person.id))
    for person in rows:
        found[person.taskassignee.task_id].append(person)
    return found


def involved(task: Task) -> list[int]:
    """The creator and the assignees: everyone who sees the task."""
    return list(dict.fromkeys([task.creator_id] + assignee_ids(task)))


def may_change(task: Task, person: Person) -> bool:
    """Only its creator changes, cancels, deletes or chases a task."""
    return task.creator_id == person.id


def is_overdue(task: Task, now: datetime.datetime | None = None) -> bool:
    return task.is_open and task.due_at is not None and task.due_at < (now or utcnow())


def timeline(task: Task) -> list[TaskComment]:
    """Comments and progress updates, oldest first, each with its author."""
    return list(TaskComment.select(TaskComment, Person).join(Person, on=(TaskComment.author == Person.id))
                .where(TaskComment.task == task.id).order_by(TaskComment.id))


# --- lists -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskFilters:
    """What a list shows: a status (or open / all), a due window, a priority."""

    status: str = "open"
    due: str = ""
    priority: str = ""

    def as_args(self) -> dict[str, str]:
        """The filters as query arguments (the defaults left out)."""
        return {k: v for k, v in (("status", self.status), ("due", self.due), ("priority", self.priority))
                if v and not (k == "status" and v == "open")}


def parse_filters(args) -> TaskFilters:
    """Filters from query arguments; ValidationError names the first one not in its list."""
    status = (args.get("status") or "open").strip()
    due = (args.get("due") or "").strip()
    priority = (args.get("priority") or "").strip()
    if status not in STATUS_FILTERS:
        raise ValidationError("status", _l("Choose a status from the list."))
    if due and due not in DUE_FILTERS:
        raise ValidationError("due", _l("Choose a due date from the list."))
    if priority and priority not in PRIORITIES:
        raise ValidationError("priority", _l("Choose a priority from the list."))
    return TaskFilters(status, due, priority)


def _local_day_start(now: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    local = now.replace(tzinfo=datetime.timezone.utc).astimezone(zone)
    start = datetime.datetime.combine(local.date(), datetime.time(0, 0), tzinfo=zone)
    return start.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _filtered(query, filters: TaskFilters, zone: datetime.tzinfo, now: datetime.datetime):
    if filters.status == "open":
        query = query.where(Task.status.in_(OPEN_STATUSES))
    elif filters.status != "all":
        query = query.where(Task.status == filters.status)
    if filters.due == "overdue":
        query = query.where(Task.status.in_(OPEN_STATUSES) & (Task.due_at < now))
    elif filters.due in ("today", "week"):
        # Days in the person's own time zone: "today" ends at their midnight, not at UTC's.
        start = _local_day_start(now, zone)
        days = 1 if filters.due == "today" else 7
        end = _local_day_start(now + datetime.timedelta(days=days), zone)
        query = query.where((Task.due_at >= start) & (Task.due_at < end))
    elif filters.due == "none":
        query = query.where(Task.due_at.is_null())
    if filters.priority:
        query = query.where(Task.priority == PRIORITIES.index(filters.priority) + 1)
    open_first = peewee.Case(None, [(Task.status.in_(OPEN_STATUSES), 0)], 1)
    undated_last = peewee.Case(None, [(Task.due_at.is_null(), 1)], 0)
    return query.order_by(open_first, undated_last, Task.due_at, Task.priority.desc(), Task.id.desc())


def _with_creator(tenant: Tenant):
    return TenantScope(tenant).select(Task, Task, Person).join(Person, on=(Task.creator == Person.id))


def tasks_assigned_to(tenant: Tenant, person: Person, filters: TaskFilters = TaskFilters(),
                      zone: datetime.tzinfo | None = None, now: datetime.datetime | None = None):
    """Tasks the person has, filtered; open first, then by due date (undated last), priority, newest."""
    mine = TaskAssignee.select(TaskAssignee.task).where(TaskAssignee.person == person.id)
    return _filtered(_with_creator(tenant).where(Task.id.in_(mine)), filters, zone or person_zone(person),
                     now or utcnow())


def tasks_created_by(tenant: Tenant, person: Person, filters: TaskFilters = TaskFilters(),
                     zone: datetime.tzinfo | None = None, now: datetime.datetime | None = None):
    """Tasks the person gave, filtered and ordered like the tasks they have."""
    return _filtered(_with_creator(tenant).where(Task.creator == person.id), filters, zone or person_zone(person),
                     now or utcnow())


def overdue_for(tenant: Tenant, person: Person, now: datetime.datetime | None = None,
                limit: int = 5) -> tuple[list[Task], int]:
    """The person's open tasks past their due time, most overdue first, and how many there are."""
    query = tasks_assigned_to(tenant, person, TaskFilters(due="overdue"), now=now)
    return list(query.limit(limit)), query.count()


# --- live updates: one function per occasion ---------------------------------------------------

def entry_json(entry: TaskComment, author: Person) -> dict:
    """A comment or progress update as clients receive it (its text already rendered safe)."""
    return {"id": entry.id, "author": {"id": author.id, "name": author.display_name}, "text": entry.text,
            "html": str(render_text(entry.text)), "status": entry.status, "percent": entry.percent,
            "created_at": _iso(entry.created_at)}


def task_payload(task: Task, action: str, by: Person, **extra) -> dict:
    """What the people involved receive when something happens to a task."""
    return {"id": task.id, "action": action, "title": task.title, "status": task.status, "percent": task.percent,
            "priority": task.priority_name, "due_at": _iso(task.due_at), "by": by.id, "by_name": by.display_name,
            "url": task_url(task.id), **extra}


def _others(person_ids, by: Person) -> list[int]:
    return [pid for pid in dict.fromkeys(person_ids) if pid != by.id]


def _publish(tenant: Tenant, task: Task, action: str, by: Person, person_ids, **extra) -> None:
    # The actor's own other tabs follow too, so the actor is always among those the event reaches.
    payload = task_payload(task, action, by, **extra)
    for pid in dict.fromkeys([*person_ids, by.id]):
        publish(tenant, "task", payload, person=pid)


def _announce_assigned(tenant: Tenant, task: Task, by: Person, person_ids: list[int]) -> None:
    """People newly given the task learn of it."""
    _publish(tenant, task, "assigned", by, person_ids)
    notify(tenant, person_ids, "task_assigned", {"sender": by.display_name, "title": task.title},
           link=f"/tasks/{task.id}", ref=f"task:{task.id}")


def _announce_unassigned(tenant: Tenant, task: Task, by: Person, person_ids: list[int]) -> None:
    """People taken off the task: their pages drop it."""
    _publish(tenant, task, "unassigned", by, person_ids)


def _announce_changed(tenant: Tenant, task: Task, by: Person, person_ids: list[int]) -> None:
    """The creator changed the title, text, due date, priority or assignees."""
    _publish(tenant, task, "changed", by, person_ids)


def _announce_progress(tenant: Tenant, task: Task, by: Person, entry: TaskComment, person_ids: list[int]) -> None:
    """Someone reported progress; the creator is the one who waits for it."""
    _publish(tenant, task, "progress", by, person_ids, entry=entry_json(entry, by))


def _announce_comment(tenant: Tenant, task: Task, by: Person, entry: TaskComment, person_ids: list[int]) -> None:
    """Someone commented; everyone else involved is told."""
    _publish(tenant, task, "comment", by, person_ids, entry=entry_json(entry, by))


def _announce_reminder(tenant: Tenant, task: Task, by: Person, person_ids: list[int]) -> None:
    """The creator chases the assignees ("remind now"); they are emailed too."""
    _publish(tenant, task, "reminder", by, person_ids)
    notify(tenant, person_ids, "task_reminder", {"sender": by.display_name, "title": task.title},
           link=f"/tasks/{task.id}", ref=f"task:{task.id}", email=True)


def _announce_deleted(tenant: Tenant, task: Task, by: Person, person_ids: list[int]) -> None:
    """The creator deleted the task."""
    _publish(tenant, task, "deleted", by, person_ids)


# --- giving, changing, reporting, chasing ------------------------------------------------------

def create_task(tenant: Tenant, creator: Person, title, assignees, *, description=None, due=None, priority=None,
                message_id=None, zone: datetime.tzinfo | None = None,
                now: datetime.datetime | None = None) -> Task:
    """Give a task to people of the tenant, from scratch or from a chat message the creator can see."""
    now = now or utcnow()
    title = _title(title)
    description = clean_long_text(description, "description", max_length=MAX_DESCRIPTION_LENGTH, required=False)
    people = _assignees(tenant, assignees)
    due_at = parse_due(due, zone or person_zone(creator), now)
    level = priority_value(priority)
    message = None
    if message_id not in (None, ""):
        message = visible_message(tenant, creator, message_id)
        if message is None:
            raise ValidationError("message", _l("That message cannot be made into a task."))
    with db.atomic():
        task = Task.create(tenant=tenant, creator=creator, title=title, description=description, priority=level,
                           due_at=due_at, source_message=message, created_at=now, updated_at=now)
        TaskAssignee.insert_many([{"tenant": tenant.id, "task": task.id, "person": p.id, "assigned_at": now}
                                  for p in people]).execute()
        _announce_assigned(tenant, task, creator, _others([p.id for p in people], creator))
    return task


def _creators_task(tenant: Tenant, person: Person, task_id) -> Task:
    task = task_for(tenant, person, task_id)
    if task is None:
        raise LookupError(task_id)
    if not may_change(task, person):
        raise PermissionError(task_id)
    return task


def update_task(tenant: Tenant, person: Person, task_id, title, assignees, *, description=None, due=None,
                priority=None, zone: datetime.tzinfo | None = None, now: datetime.datetime | None = None) -> Task:
    """The creator changes a task; LookupError when unseen, PermissionError for anyone else."""
    now = now or utcnow()
    task = _creators_task(tenant, person, task_id)
    title = _title(title)
    description = clean_long_text(description, "description", max_length=MAX_DESCRIPTION_LENGTH, required=False)
    people = _assignees(tenant, assignees)
    due_at = parse_due(due, zone or person_zone(person), now, keep=task.due_at)
    level = priority_value(priority)
    before = set(assignee_ids(task))
    wanted = [p.id for p in people]
    added = [pid for pid in wanted if pid not in before]
    removed = sorted(before - set(wanted))
    with db.atomic():
        Task.update(title=title, description=description, due_at=due_at, priority=level, updated_at=now).where(
            Task.id == task.id).execute()
        if removed:
            TaskAssignee.delete().where((TaskAssignee.task == task.id) & TaskAssignee.person.in_(removed)).execute()
        if added:
            TaskAssignee.insert_many([{"tenant": tenant.id, "task": task.id, "person": pid, "assigned_at": now}
                                      for pid in added]).execute()
        task = Task.get_by_id(task.id)
        if added:
            _announce_assigned(tenant, task, person, _others(added, person))
        if removed:
            _announce_unassigned(tenant, task, person, _others(removed, person))
        _announce_changed(tenant, task, person, _others([pid for pid in involved(task) if pid not in added], person))
    return task


def _percent(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not _ID.fullmatch(str(value).strip()):
        raise ValidationError("percent", _l("Give a whole number from 0 to 100."))
    number = int(str(value).strip())
    if not 0 <= number <= 100:
        raise ValidationError("percent", _l("Give a whole number from 0 to 100."))
    return number


def _next_state(task: Task, status, percent: int | None) -> tuple[str, int]:
    """The status and percent after an update: done means 100%, 100% means done, to do means 0%."""
    if status in (None, ""):
        if task.status == "cancelled":
            raise ValidationError("status", _l("This task is cancelled; choose a status to reopen it."))
        if percent is None:
            return task.status, task.percent
        status = "done" if percent == 100 else ("todo" if percent == 0 and task.status == "todo" else "in_progress")
    elif status not in STATUSES:
        raise ValidationError("status", _l("Choose a status from the list."))
    if status == "done" or (status == "in_progress" and percent == 100):
        return "done", 100
    if status == "todo":
        return "todo", 0
    if status == "cancelled":
        return "cancelled", task.percent
    return "in_progress", min(task.percent, 99) if percent is None else percent


def set_progress(tenant: Tenant, person: Person, task_id, status=None, percent=None, note=None,
                 now: datetime.datetime | None = None) -> Task:
    """Report progress as an assignee or the creator; only the creator cancels. LookupError when unseen."""
    now = now or utcnow()
    task = task_for(tenant, person, task_id)
    if task is None:
        raise LookupError(task_id)
    if status == "cancelled" and not may_change(task, person):
        raise PermissionError(task_id)
    if task.status == "cancelled" and not may_change(task, person):
        raise ValidationError("status", _l("This task is cancelled."))
    percent = _percent(percent)
    if status == task.status and percent is not None and percent != task.percent:
        status = None   # a form sends the status it showed: only the percent was changed
    new_status, new_percent = _next_state(task, status, percent)
    text = clean_long_text(note, "note", max_length=MAX_COMMENT_LENGTH, required=False)
    if (new_status, new_percent) == (task.status, task.percent) and not text:
        raise ValidationError("percent", _l("Change the status or the progress, or write a note."))
    completed_at = (task.completed_at or now) if new_status == "done" else None
    with db.atomic():
        Task.update(status=new_status, percent=new_percent, completed_at=completed_at, updated_at=now).where(
            Task.id == task.id).execute()
        entry = TaskComment.create(tenant=tenant, task=task.id, author=person, text=text, status=new_status,
                                   percent=new_percent, created_at=now)
        task = Task.get_by_id(task.id)
        _announce_progress(tenant, task, person, entry, _others(involved(task), person))
    return task


def add_comment(tenant: Tenant, person: Person, task_id, text, now: datetime.datetime | None = None) -> TaskComment:
    """Comment on a task one gave or has; LookupError when unseen."""
    task = task_for(tenant, person, task_id)
    if task is None:
        raise LookupError(task_id)
    text = clean_long_text(text, "text", max_length=MAX_COMMENT_LENGTH, required=True)
    with db.atomic():
        entry = TaskComment.create(tenant=tenant, task=task.id, author=person, text=text, created_at=now or utcnow())
        _announce_comment(tenant, task, person, entry, _others(involved(task), person))
    return entry


def remind(tenant: Tenant, person: Person, task_id, now: datetime.datetime | None = None) -> list[int]:
    """The creator chases the assignees of an open task; RemindTooSoon within REMIND_MINUTES of the last time."""
    now = now or utcnow()
    task = _creators_task(tenant, person, task_id)
    if not task.is_open:
        raise ValidationError("remind", _l("Only open tasks can be chased."))
    targets = [p.id for p in Person.active(tenant).where(Person.id.in_(assignee_ids(task)) & (Person.id != person.id))]
    if not targets:
        raise ValidationError("remind", _l("There is nobody else to remind."))
    cutoff = now - datetime.timedelta(minutes=REMIND_MINUTES)
    with db.atomic():
        # The UPDATE checks the last reminder against the committed row: two clicks at once remind once.
        claimed = (Task.update(last_reminded_at=now)
                   .where((Task.id == task.id) & (Task.last_reminded_at.is_null() | (Task.last_reminded_at <= cutoff)))
                   .execute())
        if claimed:
            task.last_reminded_at = now
            _announce_reminder(tenant, task, person, targets)
    if not claimed:
        last = Task.select(Task.last_reminded_at).where(Task.id == task.id).scalar() or now
        wait = (last + datetime.timedelta(minutes=REMIND_MINUTES) - now).total_seconds()
        raise RemindTooSoon(max(1, int(wait) + (0 if wait == int(wait) else 1)))
    return targets


def delete_task(tenant: Tenant, person: Person, task_id) -> None:
    """The creator deletes a task with its timeline; LookupError when unseen, PermissionError for others."""
    task = _creators_task(tenant, person, task_id)
    people = involved(task)
    with db.atomic():
        Task.delete().where(Task.id == task.id).execute()
        _announce_deleted(tenant, task, person, _others(people, person))
