"""Work circle pages: the feed and posting to it, one post with its comments, likes, comments, images."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import navigation
from app.chat.render import render_text
from app.circle.images import MAX_IMAGE_BYTES, MAX_IMAGES
from app.circle.service import (MAX_COMMENT_LENGTH, MAX_TEXT_LENGTH, add_comment, comment_json, create_post,
                                delete_comment, delete_post, details, image_for, may_delete_comment,
                                may_delete_post, post_for, posts_for, set_like)
from app.events import latest_id
from app.org.service import OrgIndex
from app.pagination import paginate
from app.residency.blobs import BlobError, read_blob
from app.security.auth import login_required, safe_next
from app.validation import ValidationError

bp = Blueprint("circle", __name__, url_prefix="/circle")
navigation.register("circle", "circle.index", _l("Work circle"))
PER_PAGE = 20


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def uploaded_images() -> list[bytes]:
    """The bytes of the files sent as `images` (each read up to one byte past the limit, which refuses it)."""
    return [upload.stream.read(MAX_IMAGE_BYTES + 1) for upload in request.files.getlist("images") if upload.filename]


def _names(index: OrgIndex):
    """A function naming departments by their paths, for the templates."""
    return lambda ids: ", ".join(" / ".join(d.name for d in index.path(i)) for i in ids)


def _departments(index: OrgIndex):
    departments = [(d, index.path(d.id)) for d in index.by_id.values()]
    departments.sort(key=lambda pair: [d.name for d in pair[1]])
    return departments


def _feed(form=None, error=None, status: int = 200):
    since = latest_id()   # before the page's data, so a post in between is replayed rather than missed
    page = paginate(posts_for(g.tenant, g.person), request.args.get("page"), PER_PAGE)
    index = OrgIndex(g.tenant)
    form = form if form is not None else {}
    return render_template("circle/index.html", page=page, shown=details(page.items, g.person),
                           dept_names=_names(index),
                           departments=_departments(index), form=form, error=error,
                           chosen=set(form.getlist("departments")) if hasattr(form, "getlist") else set(),
                           render_text=render_text, may_delete_post=may_delete_post,
                           may_delete_comment=may_delete_comment, limits=_limits(), last_event_id=since,
                           here=url_for("circle.index", page=page.number)), status


def _limits() -> dict:
    return {"images": MAX_IMAGES, "image_mb": MAX_IMAGE_BYTES // (1024 * 1024), "text": MAX_TEXT_LENGTH,
            "comment": MAX_COMMENT_LENGTH}


@bp.route("/")
@login_required
def index():
    """The feed of posts I may see, newest first, and writing a post."""
    return _feed()


@bp.route("/posts", methods=["POST"])
@login_required
def new_post():
    """Post to everyone or to chosen departments, with up to nine images."""
    form = request.form
    try:
        create_post(g.tenant, g.person, form.get("text"), to_all=form.get("audience") != "departments",
                    department_ids=form.getlist("departments"), images=uploaded_images())
    except ValidationError as exc:
        return _feed(form, exc, 400)
    except BlobError:
        return _feed(form, ValidationError("images", _("The images could not be stored. Nothing was posted; try "
                                                       "again later.")), 503)
    flash(_("Posted."), "success")
    return redirect(url_for("circle.index"))


def _post_or_404(post_id: int):
    post = post_for(g.tenant, g.person, post_id)
    if post is None:
        abort(404)   # addressed to others, another tenant's, or no such post: all look the same
    return post


@bp.route("/posts/<int:post_id>")
@login_required
def show(post_id: int):
    """One post with all its comments."""
    since = latest_id()
    post = _post_or_404(post_id)
    index = OrgIndex(g.tenant)
    return render_template("circle/show.html", post=post, shown=details([post], g.person, latest=None),
                           dept_names=_names(index),
                           render_text=render_text, may_delete_post=may_delete_post,
                           may_delete_comment=may_delete_comment, limits=_limits(), last_event_id=since,
                           here=url_for("circle.show", post_id=post.id))


def _back(post_id: int):
    return redirect(safe_next(request.form.get("next")) or url_for("circle.show", post_id=post_id))


@bp.route("/posts/<int:post_id>/delete", methods=["POST"])
@login_required
def delete(post_id: int):
    """Delete a post (its author or an admin), with its images."""
    try:
        delete_post(g.tenant, g.person, post_id)
    except LookupError:
        abort(404)
    except PermissionError:
        abort(403)
    flash(_("The post is deleted."), "success")
    return redirect(url_for("circle.index"))


@bp.route("/posts/<int:post_id>/like", methods=["POST"])
@login_required
def like(post_id: int):
    """Like a post (like=1) or take the like back (like=0)."""
    try:
        liked, likes = set_like(g.tenant, g.person, post_id, request.form.get("like", "1") != "0")
    except LookupError:
        abort(404)
    if _wants_json():
        return jsonify(id=post_id, liked=liked, likes=likes)
    return _back(post_id)


@bp.route("/posts/<int:post_id>/comments", methods=["POST"])
@login_required
def comment(post_id: int):
    """Comment on a post I see."""
    try:
        made = add_comment(g.tenant, g.person, post_id, request.form.get("text"))
    except LookupError:
        abort(404)
    except ValidationError as exc:
        if _wants_json():
            return jsonify(error=str(exc.message), field=exc.field), 400
        flash(str(exc.message), "error")
        return _back(post_id)
    if _wants_json():
        return jsonify(comment_json(made, g.person)), 201
    return _back(post_id)


@bp.route("/posts/<int:post_id>/comments/<int:comment_id>/delete", methods=["POST"])
@login_required
def delete_comment_view(post_id: int, comment_id: int):
    """Delete a comment (its author, the post's author or an admin)."""
    try:
        delete_comment(g.tenant, g.person, post_id, comment_id)
    except LookupError:
        abort(404)
    except PermissionError:
        abort(403)
    if _wants_json():
        return jsonify(id=comment_id, deleted=True)
    flash(_("The comment is deleted."), "success")
    return _back(post_id)


def image_response(image, thumb: bool) -> Response:
    """An image's bytes, served as the image it was made to be and as nothing else."""
    blob = image.thumb if thumb else image.blob
    try:
        data = read_blob(blob)
    except BlobError:
        abort(503)
    return Response(data, mimetype=blob.content_type, headers={
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600"})


@bp.route("/images/<int:image_id>")
@login_required
def image(image_id: int):
    """An image of a post I see (?size=thumb for its thumbnail)."""
    found = image_for(g.tenant, g.person, image_id)
    if found is None:
        abort(404)
    return image_response(found, request.args.get("size") == "thumb")
