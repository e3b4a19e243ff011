"""Task pages: tasks I have and tasks I gave, giving one (also from a chat message), one task, progress, chasing."""
from __future__ import annotations

import datetime

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import navigation
from app.chat.render import render_text
from app.db import utcnow
from app.events import latest_id
from app.org.models import Person
from app.org.status import person_zone
from app.pagination import paginate
from app.security.auth import login_required
from app.tasks.models import PRIORITIES, STATUSES, Task
from app.tasks.service import (STATUS_FILTERS, DUE_FILTERS, RemindTooSoon, TaskFilters, add_comment, assignee_ids,
                               assignees_of, create_task, delete_task, from_message, is_overdue, may_change,
                               parse_filters, remind, set_progress, task_for, tasks_assigned_to, tasks_created_by,
                               timeline, update_task, visible_message)
from app.validation import ValidationError

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
navigation.register("tasks", "tasks.mine", _l("Tasks"))
PER_PAGE = 30


def _zone() -> datetime.tzinfo:
    return person_zone(g.person, current_app.config["ATRIUM"].default_timezone)


def _people():
    return g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name, Person.id)


def _list(kind: str, query_for):
    error = None
    try:
        filters = parse_filters(request.args)
    except ValidationError as exc:
        error, filters = exc, TaskFilters()
    page = paginate(query_for(g.tenant, g.person, filters, _zone()), request.args.get("page"), PER_PAGE)
    return render_template("tasks/list.html", kind=kind, page=page, filters=filters, error=error,
                           assignees=assignees_of([t.id for t in page.items]), now=utcnow(),
                           status_filters=STATUS_FILTERS, due_filters=DUE_FILTERS, priorities=PRIORITIES,
                           last_event_id=latest_id()), (400 if error else 200)


@bp.route("/")
@login_required
def mine():
    """Tasks I have, open ones first by due date, with filters for status, due date and priority."""
    return _list("mine", tasks_assigned_to)


@bp.route("/given")
@login_required
def given():
    """Tasks I gave, with the same filters."""
    return _list("given", tasks_created_by)


def _local_input(moment: datetime.datetime | None) -> str:
    """A UTC time as the value of a datetime-local field in the person's time zone."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=datetime.timezone.utc).astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")


def _form_page(template_form: dict, chosen: set[int], error, task: Task | None = None, message=None):
    return render_template("tasks/form.html", form=template_form, chosen=chosen, error=error, task=task,
                           people=_people(), priorities=PRIORITIES, message=message), (400 if error else 200)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Give a task to colleagues, from scratch or from a chat message (?message=ID)."""
    if request.method == "POST":
        form = request.form
        try:
            task = create_task(g.tenant, g.person, form.get("title"), form.getlist("assignees"),
                               description=form.get("description"), due=form.get("due"),
                               priority=form.get("priority"), message_id=form.get("message"), zone=_zone())
        except ValidationError as exc:
            message = visible_message(g.tenant, g.person, form.get("message")) if form.get("message") else None
            return _form_page(form.to_dict(), {int(v) for v in form.getlist("assignees") if v.isdigit()}, exc,
                              message=message)
        flash(_("The task is given."), "success")
        return redirect(url_for("tasks.show", task_id=task.id))
    prefill: dict = {"priority": "normal"}
    message = None
    if request.args.get("message"):
        message = visible_message(g.tenant, g.person, request.args["message"])
        if message is None:
            abort(404)   # not in my conversations, recalled, another tenant's: all look the same
        prefill.update(from_message(message))
    return _form_page(prefill, set(), None, message=message)


def _task_or_404(task_id: int) -> Task:
    task = task_for(g.tenant, g.person, task_id)
    if task is None:
        abort(404)   # neither given nor assigned to me, another tenant's, or no such task: all look the same
    return task


@bp.route("/<int:task_id>")
@login_required
def show(task_id: int):
    """One task: its text, assignees, progress, timeline, and the actions open to me."""
    since = latest_id()   # before the page's data, so a change in between is replayed rather than missed
    task = _task_or_404(task_id)
    people = assignees_of([task.id])[task.id]
    source = None
    if task.source_message_id is not None:
        source = visible_message(g.tenant, g.person, task.source_message_id)
    return render_template("tasks/show.html", task=task, assignees=people, entries=timeline(task),
                           description=render_text(task.description), render_text=render_text, source=source,
                           creator=may_change(task, g.person), assignee=g.person.id in {p.id for p in people},
                           overdue=is_overdue(task), statuses=STATUSES, last_event_id=since)


@bp.route("/<int:task_id>/edit", methods=["GET", "POST"])
@login_required
def edit(task_id: int):
    """Change a task I gave: title, text, assignees, due date, priority."""
    task = _task_or_404(task_id)
    if not may_change(task, g.person):
        abort(403)
    if request.method == "POST":
        form = request.form
        try:
            update_task(g.tenant, g.person, task.id, form.get("title"), form.getlist("assignees"),
                        description=form.get("description"), due=form.get("due"), priority=form.get("priority"),
                        zone=_zone())
        except ValidationError as exc:
            return _form_page(form.to_dict(), {int(v) for v in form.getlist("assignees") if v.isdigit()}, exc, task)
        flash(_("The task is saved."), "success")
        return redirect(url_for("tasks.show", task_id=task.id))
    values = {"title": task.title, "description": task.description, "due": _local_input(task.due_at),
              "priority": task.priority_name}
    return _form_page(values, set(assignee_ids(task)), None, task)


def _back(task_id: int):
    return redirect(url_for("tasks.show", task_id=task_id))


def _act(task_id: int, action, done_message):
    try:
        action()
    except LookupError:
        abort(404)
    except PermissionError:
        abort(403)
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return _back(task_id)
    flash(done_message, "success")
    return _back(task_id)


@bp.route("/<int:task_id>/progress", methods=["POST"])
@login_required
def progress(task_id: int):
    """Report progress (status, percent, a note) on a task I have or gave."""
    form = request.form
    return _act(task_id, lambda: set_progress(g.tenant, g.person, task_id, form.get("status"), form.get("percent"),
                                              form.get("note")), _("Progress saved."))


@bp.route("/<int:task_id>/comments", methods=["POST"])
@login_required
def comment(task_id: int):
    """Comment on a task I have or gave."""
    return _act(task_id, lambda: add_comment(g.tenant, g.person, task_id, request.form.get("text")),
                _("Comment added."))


@bp.route("/<int:task_id>/remind", methods=["POST"])
@login_required
def remind_now(task_id: int):
    """Chase the assignees of a task I gave, at most every few minutes."""
    try:
        return _act(task_id, lambda: remind(g.tenant, g.person, task_id), _("The assignees are reminded."))
    except RemindTooSoon as exc:
        flash(_("You reminded them a moment ago. You can remind again in %(n)d minutes.",
                n=max(1, (exc.retry_after + 59) // 60)), "error")
        return _back(task_id), 303, {"Retry-After": str(exc.retry_after)}


@bp.route("/<int:task_id>/delete", methods=["POST"])
@login_required
def delete(task_id: int):
    """Delete a task I gave, with its comments."""
    try:
        delete_task(g.tenant, g.person, task_id)
    except LookupError:
        abort(404)
    except PermissionError:
        abort(403)
    flash(_("The task is deleted."), "success")
    return redirect(url_for("tasks.given"))
