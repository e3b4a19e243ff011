"""/api/v1/tasks: the tasks a token's owner has and gave; giving, changing, progress, comments, chasing."""
from __future__ import annotations

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.chat.render import render_text
from app.db import utcnow
from app.org.models import Person
from app.org.status import person_zone
from app.pagination import paginate
from app.tasks.models import Task
from app.tasks.service import (RemindTooSoon, add_comment, assignee_ids, assignees_of, create_task, delete_task,
                               entry_json, is_overdue, parse_filters, remind, set_progress, task_for,
                               tasks_assigned_to, tasks_created_by, timeline, update_task)
from app.validation import ValidationError


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _ref(person: Person) -> dict:
    return {"id": person.id, "name": person.display_name}


def summary_json(task: Task, assignees: list[Person]) -> dict:
    """A task in a list (TaskSummary)."""
    return {"id": task.id, "title": task.title, "status": task.status, "percent": task.percent,
            "priority": task.priority_name, "due_at": _iso(task.due_at), "overdue": is_overdue(task),
            "creator": _ref(task.creator), "assignees": [_ref(p) for p in assignees],
            "source_message": task.source_message_id, "created_at": _iso(task.created_at),
            "updated_at": _iso(task.updated_at), "completed_at": _iso(task.completed_at)}


def detail_json(task: Task) -> dict:
    """A task with its text and timeline (Task)."""
    task = task_for(g.tenant, g.person, task.id)
    return {**summary_json(task, assignees_of([task.id])[task.id]), "description": task.description,
            "html": str(render_text(task.description)), "last_reminded_at": _iso(task.last_reminded_at),
            "timeline": [entry_json(e, e.author) for e in timeline(task)]}


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _zone():
    return person_zone(g.person, current_app.config["ATRIUM"].default_timezone)


def _not_found():
    return error(404, _("No such task."))


@bp.route("/tasks")
@api("tasks:read")
def tasks_list():
    """Tasks the owner has (role=assigned, the default) or gave (role=created), filtered and paged."""
    role = request.args.get("role") or "assigned"
    if role not in ("assigned", "created"):
        return error(400, _("role must be assigned or created."), field="role")
    try:
        filters = parse_filters(request.args)
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    query_for = tasks_assigned_to if role == "assigned" else tasks_created_by
    page = paginate(query_for(g.tenant, g.person, filters, _zone()), request.args.get("page"), 50)
    people = assignees_of([t.id for t in page.items])
    return jsonify(tasks=[summary_json(t, people[t.id]) for t in page.items], page=page.number, pages=page.pages,
                   total=page.total)


@bp.route("/tasks", methods=["POST"])
@api("tasks:write")
def tasks_create():
    """Give a task, from scratch or from a chat message the owner can see."""
    body = _body()
    try:
        task = create_task(g.tenant, g.person, body.get("title"), body.get("assignees"),
                           description=body.get("description"), due=body.get("due_at"),
                           priority=body.get("priority"), message_id=body.get("message"), zone=_zone())
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(detail_json(task)), 201


@bp.route("/tasks/<int:task_id>")
@api("tasks:read")
def tasks_get(task_id: int):
    """One task the owner has or gave, with its timeline."""
    task = task_for(g.tenant, g.person, task_id)
    if task is None:
        return _not_found()
    return jsonify(detail_json(task))


def _attempt(action):
    try:
        result = action()
    except LookupError:
        return None, _not_found()
    except PermissionError:
        return None, error(403, _("Only the person who gave the task can do this."))
    except ValidationError as exc:
        return None, error(400, exc.message, field=exc.field)
    return result, None


@bp.route("/tasks/<int:task_id>", methods=["PATCH"])
@api("tasks:write")
def tasks_change(task_id: int):
    """Change a task the owner gave; fields left out keep their values."""
    task = task_for(g.tenant, g.person, task_id)
    if task is None:
        return _not_found()
    body = _body()
    task, failed = _attempt(lambda: update_task(
        g.tenant, g.person, task_id, body.get("title", task.title), body.get("assignees", assignee_ids(task)),
        description=body.get("description", task.description), due=body.get("due_at", task.due_at),
        priority=body.get("priority", task.priority_name), zone=_zone()))
    return failed or jsonify(detail_json(task))


@bp.route("/tasks/<int:task_id>", methods=["DELETE"])
@api("tasks:write")
def tasks_delete(task_id: int):
    """Delete a task the owner gave, with its timeline."""
    _done, failed = _attempt(lambda: delete_task(g.tenant, g.person, task_id))
    return failed or ("", 204)


@bp.route("/tasks/<int:task_id>/progress", methods=["POST"])
@api("tasks:write")
def tasks_progress(task_id: int):
    """Report progress: a status, a percent, or both, with an optional note."""
    body = _body()
    task, failed = _attempt(lambda: set_progress(g.tenant, g.person, task_id, body.get("status"),
                                                 body.get("percent"), body.get("note")))
    return failed or jsonify(detail_json(task))


@bp.route("/tasks/<int:task_id>/comments", methods=["POST"])
@api("tasks:write")
def tasks_comment(task_id: int):
    """Comment on a task the owner has or gave."""
    entry, failed = _attempt(lambda: add_comment(g.tenant, g.person, task_id, _body().get("text")))
    return failed or (jsonify(entry_json(entry, g.person)), 201)


@bp.route("/tasks/<int:task_id>/remind", methods=["POST"])
@api("tasks:write")
def tasks_remind(task_id: int):
    """Chase the assignees of an open task the owner gave, at most every few minutes."""
    try:
        reminded, failed = _attempt(lambda: remind(g.tenant, g.person, task_id, utcnow()))
    except RemindTooSoon as exc:
        return (*error(429, _("You reminded them a moment ago. You can remind again in %(n)d minutes.",
                              n=max(1, (exc.retry_after + 59) // 60))), {"Retry-After": str(exc.retry_after)})
    return failed or jsonify(reminded=reminded)
