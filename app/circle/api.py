"""/api/v1/circle: the work circle posts a token's owner sees; posting with images, likes, comments."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.chat.render import render_text
from app.circle.models import CirclePost
from app.circle.service import (PostDetails, add_comment, comment_json, create_post, delete_comment, delete_post,
                                details, image_for, post_for, posts_for, set_like)
from app.circle.views import image_response, uploaded_images
from app.pagination import paginate
from app.residency.blobs import BlobError
from app.validation import ValidationError


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def post_json(post: CirclePost, shown: PostDetails) -> dict:
    """A post as the API shows it (CirclePost)."""
    return {"id": post.id, "author": {"id": post.author.id, "name": post.author.display_name}, "text": post.text,
            "html": str(render_text(post.text)), "to_all": post.to_all, "departments": shown.departments,
            "created_at": _iso(post.created_at),
            "images": [{"id": i.id, "width": i.width, "height": i.height,
                        "url": f"/api/v1/circle/images/{i.id}", "thumb_url": f"/api/v1/circle/images/{i.id}?size=thumb"}
                       for i in shown.images],
            "likes": shown.likes, "liked": shown.liked, "comment_count": shown.comment_count,
            "comments": [comment_json(c, c.author) for c in shown.comments]}


def _one(post_id: int):
    post = post_for(g.tenant, g.person, post_id)
    return None if post is None else jsonify(post_json(post, details([post], g.person, latest=None)[post.id]))


def _not_found():
    return error(404, _("No such post."))


@bp.route("/circle/posts")
@api("circle:read")
def circle_list():
    """The posts the owner sees, newest first, each with its latest comments."""
    page = paginate(posts_for(g.tenant, g.person), request.args.get("page"), 20)
    shown = details(page.items, g.person)
    return jsonify(posts=[post_json(p, shown[p.id]) for p in page.items], page=page.number, pages=page.pages,
                   total=page.total)


def _post_body() -> tuple:
    """(text, to_all, departments, images) from a JSON body or a multipart form with image files."""
    if request.mimetype == "multipart/form-data":
        form = request.form
        return (form.get("text"), form.get("to_all", "true").lower() not in ("false", "0", "no"),
                form.getlist("departments"), uploaded_images())
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    to_all = body.get("to_all", True)
    if not isinstance(to_all, bool):
        raise ValidationError("to_all", _("to_all must be true or false."))
    return body.get("text"), to_all, body.get("departments"), []


@bp.route("/circle/posts", methods=["POST"])
@api("circle:write")
def circle_create():
    """Post to everyone or to departments; images come as multipart form files named images."""
    try:
        text, to_all, departments, images = _post_body()
        post = create_post(g.tenant, g.person, text, to_all=to_all, department_ids=departments, images=images)
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    except BlobError:
        return error(503, _("The images could not be stored. Nothing was posted; try again later."))
    return _one(post.id), 201


@bp.route("/circle/posts/<int:post_id>")
@api("circle:read")
def circle_get(post_id: int):
    """One post the owner sees, with all its comments."""
    return _one(post_id) or _not_found()


def _attempt(action, not_found):
    try:
        action()
    except LookupError:
        return not_found()
    except PermissionError:
        return error(403, _("You cannot delete this."))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return None


@bp.route("/circle/posts/<int:post_id>", methods=["DELETE"])
@api("circle:write")
def circle_delete(post_id: int):
    """Delete a post (its author or an admin) with its images, likes and comments."""
    return _attempt(lambda: delete_post(g.tenant, g.person, post_id), _not_found) or ("", 204)


def _like(post_id: int, liked: bool):
    try:
        now, likes = set_like(g.tenant, g.person, post_id, liked)
    except LookupError:
        return _not_found()
    return jsonify(id=post_id, liked=now, likes=likes)


@bp.route("/circle/posts/<int:post_id>/like", methods=["POST"])
@api("circle:write")
def circle_like(post_id: int):
    """Like a post (again is fine)."""
    return _like(post_id, True)


@bp.route("/circle/posts/<int:post_id>/like", methods=["DELETE"])
@api("circle:write")
def circle_unlike(post_id: int):
    """Take back a like (again is fine)."""
    return _like(post_id, False)


@bp.route("/circle/posts/<int:post_id>/comments", methods=["POST"])
@api("circle:write")
def circle_comment(post_id: int):
    """Comment on a post the owner sees."""
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    made = []
    failed = _attempt(lambda: made.append(add_comment(g.tenant, g.person, post_id, text)), _not_found)
    return failed or (jsonify(comment_json(made[0], g.person)), 201)


@bp.route("/circle/posts/<int:post_id>/comments/<int:comment_id>", methods=["DELETE"])
@api("circle:write")
def circle_comment_delete(post_id: int, comment_id: int):
    """Delete a comment (its author, the post's author or an admin)."""
    failed = _attempt(lambda: delete_comment(g.tenant, g.person, post_id, comment_id),
                      lambda: error(404, _("No such comment.")))
    return failed or ("", 204)


@bp.route("/circle/images/<int:image_id>")
@api("circle:read")
def circle_image(image_id: int):
    """An image of a post the owner sees (?size=thumb for its thumbnail)."""
    found = image_for(g.tenant, g.person, image_id)
    if found is None:
        return error(404, _("No such image."))
    return image_response(found, request.args.get("size") == "thumb")
