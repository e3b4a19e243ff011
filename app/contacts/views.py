"""External contacts pages: the list, one contact with its history, sharing, stand-ins, handovers, CSV import, tags."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app import navigation
from app.contacts import service
from app.contacts.models import KINDS, PHONE_LABELS, Contact
from app.contacts.service import (FILTERS, KIND_NAMES, LABEL_NAMES, MAX_PHONES, USER_KINDS, Access, contact_for,
                                  may_hand_over, pending_handovers)
from app.org.models import Person
from app.org.status import person_zone
from app.pagination import paginate
from app.security.auth import admin_required, login_required
from app.validation import ValidationError
from app.security.permissions import TENANT_MANAGE, allowed

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
navigation.register("contacts", "contacts.index", _l("External contacts"))

FILTER_NAMES = {"all": _l("All I can see"), "mine": _l("Mine"), "shared": _l("Shared with me"),
                "standing_in": _l("Standing in"), "team": _l("My team's"), "left": _l("Of people who left")}
HISTORY_NAMES = {"note": _l("Note"), "visit": _l("Visit"), "call": _l("Call"), "created": _l("Added"),
                 "handover": _l("Handed over"), "import": _l("Imported")}


def _todos(tenant, person) -> list[navigation.Todo]:
    return [navigation.Todo(ngettext("%(name)s has left: hand over their %(num)d contact",
                                     "%(name)s has left: hand over their %(num)d contacts", p.count,
                                     name=p.departed.display_name), url_for("contacts.handover", person_id=p.departed.id))
            for p in pending_handovers(tenant, person)]


navigation.register_todos(_todos)


@bp.app_context_processor
def _names():
    return {"kind_names": KIND_NAMES, "label_names": LABEL_NAMES, "history_names": HISTORY_NAMES}


def _colleagues():
    return g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name, Person.id)


def _contact_or_404(contact_id: int) -> tuple[Contact, Access]:
    found = contact_for(g.tenant, g.person, contact_id)
    if found is None:
        abort(404)   # not visible to me, another tenant's, or no such contact: all look the same
    return found


def _form_data(form) -> dict:
    """A contact's fields from the form, as the service takes them."""
    labels = form.getlist("phone_label")
    phones = [{"label": labels[i] if i < len(labels) else "mobile", "number": number}
              for i, number in enumerate(form.getlist("phone"))]
    tags = form.getlist("tags") + service.split_list(form.get("custom_tags"))
    data = {"name": form.get("name"), "kind": form.get("kind"), "company": form.get("company"),
            "title": form.get("title"), "email": form.get("email"), "phones": phones, "tags": tags}
    if "owner" in form:
        data["owner"] = form.get("owner")
    return data


@bp.route("/")
@login_required
def index():
    """The contacts I may see, searchable and filtered, with handovers waiting for me."""
    which = request.args.get("which") if request.args.get("which") in FILTERS else "all"
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else ""
    tag = request.args.get("tag") or ""
    q = (request.args.get("q") or "").strip()[:100]
    page = paginate(service.search_contacts(g.tenant, g.person, q, kind=kind, tag_id=tag, which=which),
                    request.args.get("page"), per_page=30)
    ids = [c.id for c in page.items]
    stand_ins = service.stand_ins_of(g.tenant, g.person)
    people = service.people_by_id(g.tenant, [c.owner_id for c in page.items] + [s.owner_id for s in stand_ins]
                                  + [s.delegate_id for s in stand_ins])
    return render_template("contacts/index.html", page=page, q=q, which=which, kind=kind, tag=tag,
                           filters=FILTER_NAMES, tags=service.all_tags(g.tenant), phones=service.phones_of(ids),
                           contact_tags=service.tags_of(ids), people=people,
                           pending=pending_handovers(g.tenant, g.person), stand_ins=stand_ins)


def _form_page(data: dict, contact: Contact | None, error: ValidationError | None):
    """The contact form, filled with `data` (what was typed, or the contact's fields)."""
    presets = [t for t in service.all_tags(g.tenant) if t.preset]
    preset_keys = {t.folded for t in presets}
    chosen = {service.fold(t) for t in data.get("tags", []) if isinstance(t, str)}
    custom = ", ".join(t for t in data.get("tags", []) if isinstance(t, str) and service.fold(t) not in preset_keys)
    phones = [p for p in data.get("phones", []) if isinstance(p, dict)]
    phones += [{"label": "mobile", "number": ""}] * max(1, min(2, MAX_PHONES - len(phones)))
    return render_template("contacts/form.html", contact=contact, error=error, kinds=KINDS, labels=PHONE_LABELS,
                           presets=presets, values=data, phones=phones[:MAX_PHONES], chosen_tags=chosen,
                           custom=custom, colleagues=_colleagues() if contact is None else []), (400 if error else 200)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a contact: its company, phones, email, tags and the responsible employee (me unless I choose another)."""
    error = None
    if request.method == "POST":
        data = _form_data(request.form)
        try:
            contact = service.create_contact(g.tenant, g.person, data)
        except ValidationError as exc:
            error = exc
        else:
            flash(_("%(name)s is added.", name=contact.name), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    else:
        data = {"owner": str(g.person.id), "kind": "customer"}
    return _form_page(data, None, error)


def _show_page(contact: Contact, allowed: Access, error: ValidationError | None = None):
    """A contact's page; an error from one of its forms is shown with what was typed kept."""
    entries = service.history(g.tenant, contact)
    owner = g.scope.get_or_404(Person, contact.owner_id)
    authors = service.people_by_id(g.tenant, [e.author_id for e in entries])
    stand_in = service.stand_in_for(g.tenant, contact.owner_id)
    shares = service.shares_of(g.tenant, contact)
    shared_ids = {p.id for p in shares}
    return render_template("contacts/show.html", contact=contact, allowed=allowed, owner=owner, entries=entries,
                           authors=authors, phones=service.phones_of([contact.id]).get(contact.id, []),
                           tags=service.tags_of([contact.id]).get(contact.id, []), shares=shares,
                           stand_in=stand_in,
                           delegate=g.scope.get_or_none(Person, stand_in.delegate_id) if stand_in else None,
                           colleagues=list(_colleagues()) if allowed.edit else [], shared_ids=shared_ids,
                           facts=service.system_facts, user_kinds=USER_KINDS, error=error,
                           form=request.form if error else {},
                           heir=service.successor(g.tenant, owner) if not owner.is_active else None,
                           may_hand_over=may_hand_over(g.tenant, g.person, owner)), (400 if error else 200)


@bp.route("/<int:contact_id>")
@login_required
def show(contact_id: int):
    """One contact: details, who sees it, its history and adding to it."""
    return _show_page(*_contact_or_404(contact_id))


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id: int):
    """Change a contact's details (its owner, stand-in, managers and admins may)."""
    contact, allowed = _contact_or_404(contact_id)
    if not allowed.edit:
        abort(403)
    error = None
    if request.method == "POST":
        data = _form_data(request.form)
        try:
            service.update_contact(g.tenant, g.person, contact, data)
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Saved %(name)s.", name=contact.name), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    else:
        current = service.contact_json(g.tenant, contact)
        data = {**current, "tags": [t["name"] for t in current["tags"]]}
    return _form_page(data, contact, error)


@bp.route("/<int:contact_id>/delete", methods=["POST"])
@login_required
def delete(contact_id: int):
    """Delete a contact with its history (its owner, their managers and admins may)."""
    contact, allowed = _contact_or_404(contact_id)
    if not allowed.manage:
        abort(403)
    service.delete_contact(g.tenant, g.person, contact)
    flash(_("%(name)s is deleted.", name=contact.name), "success")
    return redirect(url_for("contacts.index"))


@bp.route("/<int:contact_id>/history", methods=["POST"])
@login_required
def add_history(contact_id: int):
    """Add a note, a visit or a call attempt to a contact's history."""
    contact, allowed = _contact_or_404(contact_id)
    form = request.form
    try:
        service.add_interaction(g.tenant, g.person, contact, form.get("kind"), form.get("body"),
                                happened_at=form.get("happened_at"),
                                answered=form.get("answered") if form.get("kind") == "call" else None)
    except ValidationError as exc:
        return _show_page(contact, allowed, exc)
    flash(_("Added to the history."), "success")
    return redirect(url_for("contacts.show", contact_id=contact.id) + "#history")


@bp.route("/<int:contact_id>/shares", methods=["POST"])
@login_required
def share(contact_id: int):
    """Share a contact with a colleague."""
    contact, allowed = _contact_or_404(contact_id)
    if not allowed.edit:
        abort(403)
    try:
        person = service.share_contact(g.tenant, g.person, contact, request.form.get("person"))
    except ValidationError as exc:
        return _show_page(contact, allowed, exc)
    flash(_("Shared with %(name)s.", name=person.display_name), "success")
    return redirect(url_for("contacts.show", contact_id=contact.id) + "#shares")


@bp.route("/<int:contact_id>/shares/<int:person_id>/remove", methods=["POST"])
@login_required
def unshare(contact_id: int, person_id: int):
    """Stop sharing a contact with a colleague (or leave a share oneself)."""
    contact, allowed = _contact_or_404(contact_id)
    if not allowed.edit and person_id != g.person.id:
        abort(403)
    service.unshare_contact(g.tenant, g.person, contact, person_id)
    flash(_("No longer shared."), "success")
    if person_id == g.person.id and not allowed.edit:
        return redirect(url_for("contacts.index"))
    return redirect(url_for("contacts.show", contact_id=contact.id) + "#shares")


@bp.route("/<int:contact_id>/owner", methods=["POST"])
@login_required
def transfer(contact_id: int):
    """Hand a contact to another responsible employee (its owner, their managers and admins may)."""
    contact, allowed = _contact_or_404(contact_id)
    if not allowed.manage:
        abort(403)
    try:
        service.transfer_contact(g.tenant, g.person, contact, request.form.get("owner"))
    except ValidationError as exc:
        return _show_page(contact, allowed, exc)
    owner = g.scope.get_or_404(Person, contact.owner_id)
    flash(_("%(name)s is now responsible for this contact.", name=owner.display_name), "success")
    if contact_for(g.tenant, g.person, contact.id) is None:
        return redirect(url_for("contacts.index"))
    return redirect(url_for("contacts.show", contact_id=contact.id))


# --- stand-ins and handovers -------------------------------------------------------------------------

@bp.route("/stand-in", methods=["GET", "POST"])
@login_required
def stand_in():
    """Arrange a stand-in who acts for me (or someone reporting to me) on all contacts while on leave."""
    error = None
    if request.method == "POST":
        form = request.form
        try:
            created = service.set_stand_in(g.tenant, g.person, form.get("owner"), form.get("delegate"),
                                           form.get("first_day"), form.get("last_day"))
        except ValidationError as exc:
            error = exc
        else:
            delegate = g.scope.get_or_404(Person, created.delegate_id)
            flash(_("%(name)s stands in during the leave.", name=delegate.display_name), "success")
            return redirect(url_for("contacts.stand_in"))
    colleagues = list(_colleagues())
    if allowed(g.person, TENANT_MANAGE):
        owners = colleagues
    else:   # myself and the people below me in the manager chain
        below = {pid for (pid,) in service.reports_query(g.tenant, g.person).tuples()}
        owners = [p for p in colleagues if p.id == g.person.id or p.id in below]
    current = service.stand_ins_of(g.tenant, g.person)
    people = service.people_by_id(g.tenant, [s.owner_id for s in current] + [s.delegate_id for s in current])
    return render_template("contacts/stand_in.html", error=error, form=request.form, owners=owners,
                           colleagues=colleagues, current=current, people=people,
                           zone=person_zone(g.person)), (400 if error else 200)


@bp.route("/stand-in/<int:stand_in_id>/end", methods=["POST"])
@login_required
def end_stand_in(stand_in_id: int):
    """End a stand-in now, or cancel one that has not begun."""
    try:
        service.end_stand_in(g.tenant, g.person, stand_in_id)
    except LookupError:
        abort(404)
    flash(_("The stand-in is ended."), "success")
    return redirect(url_for("contacts.stand_in"))


@bp.route("/handover/<int:person_id>", methods=["GET", "POST"])
@login_required
def handover(person_id: int):
    """Hand all contacts of someone who has left to one colleague in one step (their managers and admins)."""
    departed = g.scope.get_or_404(Person, person_id)
    if not may_hand_over(g.tenant, g.person, departed):
        abort(404)
    error = None
    if request.method == "POST":
        try:
            count = service.hand_over_departed(g.tenant, g.person, departed.id, request.form.get("owner"))
        except ValidationError as exc:
            error = exc
        else:
            new_owner = g.scope.get_or_404(Person, int(request.form["owner"]))
            flash(ngettext("%(num)d contact of %(old)s is now with %(new)s.",
                           "%(num)d contacts of %(old)s are now with %(new)s.", count, old=departed.display_name,
                           new=new_owner.display_name), "success")
            return redirect(url_for("contacts.index"))
    contacts = list(g.scope.select(Contact).where(Contact.owner == departed.id).order_by(Contact.name))
    return render_template("contacts/handover.html", departed=departed, contacts=contacts, error=error,
                           colleagues=_colleagues(), chosen=request.form.get("owner") or str(g.person.id),
                           phones=service.phones_of([c.id for c in contacts])), (400 if error else 200)


# --- CSV import ---------------------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_upload():
    """Upload a CSV file of contacts; the next page previews every row and its errors."""
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ValidationError("file", _("Choose a CSV file."))
            started = service.start_import(g.tenant, g.person, upload.filename, upload.read(
                service.MAX_IMPORT_BYTES + 1))
        except ValidationError as exc:
            error = exc
        else:
            return redirect(url_for("contacts.import_preview", import_id=started.id))
    return render_template("contacts/import.html", error=error, columns=service.COLUMNS,
                           max_rows=service.MAX_IMPORT_ROWS), (400 if error else 200)


@bp.route("/import/template.csv")
@login_required
def import_template():
    """An example file with every column the import reads."""
    return Response("\ufeff" + service.TEMPLATE_CSV, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=contacts-template.csv"})


@bp.route("/import/<int:import_id>", methods=["GET", "POST"])
@login_required
def import_preview(import_id: int):
    """The preview of an upload: each row and its errors; importing saves every row or none."""
    upload = service.import_for(g.tenant, g.person, import_id)
    if upload is None:
        abort(404)
    if request.method == "POST":
        preview, count = service.run_import(g.tenant, g.person, upload)
        if count:
            flash(ngettext("%(num)d contact is imported.", "%(num)d contacts are imported.", count), "success")
            return redirect(url_for("contacts.index", which="mine"))
        status = 400
    else:
        preview, status = service.preview_import(g.tenant, g.person, upload.content), 200
    owners = {row.clean.owner.id: row.clean.owner for row in preview.rows if row.clean}
    return render_template("contacts/preview.html", upload=upload, preview=preview, owners=owners), status


# --- tags (admins) ------------------------------------------------------------------------------------

@bp.route("/tags", methods=["GET", "POST"])
@admin_required
def tags():
    """Preset tags offered to everyone, and the custom tags people made."""
    error = None
    if request.method == "POST":
        try:
            tag = service.add_preset_tag(g.tenant, request.form.get("name"))
        except ValidationError as exc:
            error = exc
        else:
            flash(_("“%(name)s” is a preset tag.", name=tag.name), "success")
            return redirect(url_for("contacts.tags"))
    return render_template("contacts/tags.html", tags=service.all_tags(g.tenant), counts=service.tag_counts(g.tenant),
                           error=error, form=request.form), (400 if error else 200)


@bp.route("/tags/<int:tag_id>/preset", methods=["POST"])
@admin_required
def tag_preset(tag_id: int):
    """Make a tag preset, or custom again."""
    try:
        service.set_tag_preset(g.tenant, tag_id, request.form.get("preset") == "1")
    except LookupError:
        abort(404)
    return redirect(url_for("contacts.tags"))


@bp.route("/tags/<int:tag_id>/delete", methods=["POST"])
@admin_required
def tag_delete(tag_id: int):
    """Delete a tag, taking it off every contact."""
    try:
        service.delete_tag(g.tenant, tag_id)
    except LookupError:
        abort(404)
    flash(_("The tag is deleted."), "success")
    return redirect(url_for("contacts.tags"))

