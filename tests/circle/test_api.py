"""/api/v1/circle: answers fit the OpenAPI document; posting as JSON and with image files, likes, comments,
deleting, images, scopes and isolation."""
import io

import pytest

from app.circle import service
from app.circle.models import CircleImage, CirclePost
from app.residency.models import Blob
from app.security.tokens import create_token
from tests import openapi
from tests.circle.conftest import photo
from tests.conftest import make_person


@pytest.fixture
def tokens(org):
    return {name: create_token(org[name], "test", ["circle:read", "circle:write"], 30)[1]
            for name in ("ada", "sam", "ed", "eve", "nod")}


def call(client, method, path, token, host="localhost", **kw):
    return getattr(client, method)("/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                                   base_url=f"http://{host}", **kw)


def test_post_read_like_comment_and_delete(client, org, tokens):
    made = call(client, "post", "/circle/posts", tokens["sam"],
                json={"text": "Sales kick-off", "to_all": False, "departments": [org["sales"].id]})
    openapi.check(made, "/circle/posts", "post")
    assert made.status_code == 201 and made.json["departments"] == [org["sales"].id] and made.json["images"] == []
    post_id = made.json["id"]
    with_images = call(client, "post", "/circle/posts", tokens["ed"], content_type="multipart/form-data",
                       data={"text": "Photos", "images": [(io.BytesIO(photo()), "a.jpg"),
                                                          (io.BytesIO(photo((16, 16), fmt="PNG")), "b.png")]})
    openapi.check(with_images, "/circle/posts", "post")
    assert with_images.status_code == 201 and with_images.json["to_all"] is True
    images = with_images.json["images"]
    assert [(i["width"], i["height"]) for i in images] == [(64, 48), (16, 16)]
    picture = call(client, "get", images[0]["url"].removeprefix("/api/v1"), tokens["eve"])
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg" and b"SecretCam" not in picture.data
    thumb = call(client, "get", images[1]["thumb_url"].removeprefix("/api/v1"), tokens["eve"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/png"

    feed = call(client, "get", "/circle/posts", tokens["ed"])
    openapi.check(feed, "/circle/posts")
    assert [p["id"] for p in feed.json["posts"]] == [with_images.json["id"], post_id] and feed.json["total"] == 2
    assert [p["id"] for p in call(client, "get", "/circle/posts", tokens["eve"]).json["posts"]] == [
        with_images.json["id"]]

    liked = call(client, "post", f"/circle/posts/{post_id}/like", tokens["ed"])
    openapi.check(liked, "/circle/posts/{post_id}/like", "post")
    assert liked.json == {"id": post_id, "liked": True, "likes": 1}
    comment = call(client, "post", f"/circle/posts/{post_id}/comments", tokens["ed"], json={"text": "Great"})
    openapi.check(comment, "/circle/posts/{post_id}/comments", "post")
    assert comment.status_code == 201 and comment.json["post"] == post_id
    one = call(client, "get", f"/circle/posts/{post_id}", tokens["sam"])
    openapi.check(one, "/circle/posts/{post_id}")
    assert (one.json["likes"], one.json["liked"], one.json["comment_count"]) == (1, False, 1)
    unliked = call(client, "delete", f"/circle/posts/{post_id}/like", tokens["ed"])
    openapi.check(unliked, "/circle/posts/{post_id}/like", "delete")
    assert unliked.json["likes"] == 0

    refused = call(client, "delete", f"/circle/posts/{post_id}/comments/{comment.json['id']}", tokens["nod"])
    openapi.check(refused, "/circle/posts/{post_id}/comments/{comment_id}", "delete")
    assert refused.status_code == 404                                  # Nod does not see the post at all
    removed = call(client, "delete", f"/circle/posts/{post_id}/comments/{comment.json['id']}", tokens["sam"])
    openapi.check(removed, "/circle/posts/{post_id}/comments/{comment_id}", "delete")
    assert removed.status_code == 204
    not_yours = call(client, "delete", f"/circle/posts/{post_id}", tokens["ed"])
    openapi.check(not_yours, "/circle/posts/{post_id}", "delete")
    assert not_yours.status_code == 403
    deleted = call(client, "delete", f"/circle/posts/{with_images.json['id']}", tokens["ada"])
    openapi.check(deleted, "/circle/posts/{post_id}", "delete")
    assert deleted.status_code == 204 and CircleImage.select().count() == 0 and Blob.select().count() == 0


@pytest.mark.parametrize("body, field", [
    ({}, "text"),
    ({"text": ["x"]}, "text"),
    ({"text": "ok", "to_all": "no"}, "to_all"),
    ({"text": "ok", "to_all": False}, "departments"),
    ({"text": "ok", "to_all": False, "departments": "1"}, "departments"),
    ({"text": "ok", "to_all": False, "departments": [424242]}, "departments"),
])
def test_bad_posts_are_refused(client, org, tokens, body, field):
    response = call(client, "post", "/circle/posts", tokens["sam"], json=body)
    openapi.check(response, "/circle/posts", "post")
    assert response.status_code == 400 and response.json["field"] == field
    assert CirclePost.select().count() == 0


def test_bad_images_are_refused(client, org, tokens):
    response = call(client, "post", "/circle/posts", tokens["sam"], content_type="multipart/form-data",
                    data={"text": "x", "images": [(io.BytesIO(b"<svg onload=alert(1)>"), "x.png")]})
    openapi.check(response, "/circle/posts", "post")
    assert response.status_code == 400 and response.json["field"] == "images"
    assert CirclePost.select().count() == 0 and Blob.select().count() == 0


def test_scopes_and_isolation(client, org, tokens, other_tenant):
    post = service.create_post(org["tenant"], org["eve"], "Eng only", to_all=False, department_ids=[org["eng"].id],
                               images=[photo()])
    image = CircleImage.get()
    read_only = create_token(org["eve"], "ro", ["circle:read"], 30)[1]
    denied = call(client, "post", f"/circle/posts/{post.id}/like", read_only)
    openapi.check(denied, "/circle/posts/{post_id}/like", "post")
    assert denied.status_code == 403
    anonymous = client.get("/api/v1/circle/posts")
    openapi.check(anonymous, "/circle/posts")
    assert anonymous.status_code == 401
    for method, path in (("get", f"/circle/posts/{post.id}"), ("get", f"/circle/images/{image.id}"),
                         ("post", f"/circle/posts/{post.id}/like"), ("delete", f"/circle/posts/{post.id}"),
                         ("post", f"/circle/posts/{post.id}/comments")):
        response = call(client, method, path, tokens["sam"], json={"text": "x"})
        assert response.status_code == 404, path
    missing = call(client, "get", f"/circle/images/{image.id}", tokens["sam"])
    openapi.check(missing, "/circle/images/{image_id}")
    theirs = make_person(other_tenant, "eve")
    their_token = create_token(theirs, "t", ["circle:read", "circle:write"], 30)[1]
    assert call(client, "get", f"/circle/posts/{post.id}", their_token, host="globex.example").status_code == 404
    assert call(client, "get", "/circle/posts", their_token, host="globex.example").json["posts"] == []
