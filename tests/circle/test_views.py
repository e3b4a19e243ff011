"""Work circle pages: posting with images, errors that keep the text, likes and comments (also as JSON for the
page's script), deleting, images served only to those who see the post, pages of posts.
Hostile text in posts and comments: tests/security/test_hostile.py."""
import io

from PIL import Image

from app.circle import service
from app.circle.models import CircleComment, CircleImage, CircleLike, CirclePost
from app.residency.models import Blob
from tests.circle.conftest import photo
from tests.conftest import csrf_from, make_person
from tests.tasks.conftest import client_for


def token(client, path="/circle/"):
    return csrf_from(client.get(path).get_data(as_text=True))


def test_post_with_images_and_see_it(app, org):
    sam_c = client_for(app, "sam")
    page = sam_c.get("/circle/").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "Nothing has been shared yet." in page
    assert "总部 HQ / Sales / East" in page and "/static/circle.js" in page
    sent = sam_c.post("/circle/posts", data={"text": "Our stand at the fair", "audience": "departments",
                                             "departments": [str(org["sales"].id)],
                                             "images": [(io.BytesIO(photo()), "stand.jpg"),
                                                        (io.BytesIO(photo((20, 20), fmt="PNG")), "map.png")],
                                             "csrf_token": csrf_from(page)}, content_type="multipart/form-data")
    assert sent.status_code == 302 and sent.headers["Location"] == "/circle/"
    post = CirclePost.get()
    assert not post.to_all and CircleImage.select().count() == 2
    feed = sam_c.get("/circle/").get_data(as_text=True)
    assert "Posted." in feed and "Our stand at the fair" in feed and "To 总部 HQ / Sales" in feed
    image = CircleImage.select().order_by(CircleImage.position).first()
    assert f'src="/circle/images/{image.id}?size=thumb"' in feed

    ed_c, eve_c = client_for(app, "ed"), client_for(app, "eve")
    assert "Our stand at the fair" in ed_c.get("/circle/").get_data(as_text=True)       # East is under Sales
    assert "Our stand at the fair" not in eve_c.get("/circle/").get_data(as_text=True)
    full = ed_c.get(f"/circle/images/{image.id}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in full.headers["Content-Security-Policy"]
    assert b"SecretCam" not in full.data and Image.open(io.BytesIO(full.data)).size == (64, 48)
    assert ed_c.get(f"/circle/images/{image.id}?size=thumb").status_code == 200
    assert eve_c.get(f"/circle/images/{image.id}").status_code == 404
    assert eve_c.get(f"/circle/posts/{post.id}").status_code == 404
    assert client_for(app, "ada").get(f"/circle/posts/{post.id}").status_code == 200          # an admin


def test_errors_keep_the_text_and_store_nothing(app, org):
    sam_c = client_for(app, "sam")
    csrf = token(sam_c)
    bad = sam_c.post("/circle/posts", data={"text": "Keep this text", "audience": "all",
                                            "images": [(io.BytesIO(b"%PDF-1.7 not a picture"), "x.jpg")],
                                            "csrf_token": csrf}, content_type="multipart/form-data")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Only JPEG, PNG and WebP images can be posted." in page
    assert "Keep this text" in page and "Choose the images again; your text is kept." in page
    nothing = sam_c.post("/circle/posts", data={"text": " ", "csrf_token": csrf})
    assert nothing.status_code == 400 and "Write something or add an image." in nothing.get_data(as_text=True)
    nowhere = sam_c.post("/circle/posts", data={"text": "Hi", "audience": "departments", "csrf_token": csrf})
    page = nowhere.get_data(as_text=True)
    assert nowhere.status_code == 400 and "Choose at least one department, or everyone." in page
    assert 'value="departments" checked' in page
    many = sam_c.post("/circle/posts", data={"text": "Hi", "csrf_token": csrf,
                                             "images": [(io.BytesIO(photo()), f"{n}.jpg") for n in range(10)]},
                      content_type="multipart/form-data")
    assert many.status_code == 400 and "At most 9 images." in many.get_data(as_text=True)
    assert CirclePost.select().count() == 0 and Blob.select().count() == 0
    assert sam_c.post("/circle/posts", data={"text": "No token"}).status_code == 400
    assert CirclePost.select().count() == 0


def test_likes_and_comments_with_and_without_the_script(app, org):
    post = service.create_post(org["tenant"], org["sam"], "Hello team")
    ed_c = client_for(app, "ed")
    csrf = token(ed_c)
    liked = ed_c.post(f"/circle/posts/{post.id}/like", data={"like": "1", "csrf_token": csrf,
                                                             "next": f"/circle/?page=1#post-{post.id}"})
    assert liked.status_code == 302 and liked.headers["Location"] == f"/circle/?page=1#post-{post.id}"
    feed = ed_c.get("/circle/").get_data(as_text=True)
    assert "1 like" in feed and 'aria-pressed="true"' in feed and '<input type="hidden" name="like" value="0">' in feed
    as_json = ed_c.post(f"/circle/posts/{post.id}/like", data={"like": "0", "csrf_token": csrf},
                        headers={"Accept": "application/json"})
    assert as_json.json == {"id": post.id, "liked": False, "likes": 0}
    offsite = ed_c.post(f"/circle/posts/{post.id}/like", data={"csrf_token": csrf, "next": "//evil.example/"})
    assert offsite.headers["Location"] == f"/circle/posts/{post.id}"

    made = ed_c.post(f"/circle/posts/{post.id}/comments", data={"text": "Welcome!", "csrf_token": csrf},
                     headers={"Accept": "application/json"})
    assert made.status_code == 201 and made.json["author"]["name"] == "Ed East" and made.json["html"] == "Welcome!"
    empty = ed_c.post(f"/circle/posts/{post.id}/comments", data={"text": "", "csrf_token": csrf},
                      headers={"Accept": "application/json"})
    assert empty.status_code == 400 and empty.json["field"] == "text"
    plain = ed_c.post(f"/circle/posts/{post.id}/comments", data={"text": "", "csrf_token": csrf})
    assert plain.status_code == 302 and "This field is required." in ed_c.get("/circle/").get_data(as_text=True)
    comment = CircleComment.get()
    sam_c = client_for(app, "sam")
    page = sam_c.get(f"/circle/posts/{post.id}").get_data(as_text=True)
    assert "Welcome!" in page and "1 comment" in page and 'data-moderate="1"' in page
    assert f'action="/circle/posts/{post.id}/comments/{comment.id}/delete"' in page
    eve_c = client_for(app, "eve")
    eve_page = eve_c.get(f"/circle/posts/{post.id}").get_data(as_text=True)
    assert f'/comments/{comment.id}/delete"' not in eve_page and "data-moderate" not in eve_page
    assert eve_c.post(f"/circle/posts/{post.id}/comments/{comment.id}/delete",
                      data={"csrf_token": token(eve_c)}).status_code == 403
    gone = sam_c.post(f"/circle/posts/{post.id}/comments/{comment.id}/delete", data={"csrf_token": token(sam_c)},
                      headers={"Accept": "application/json"})
    assert gone.json == {"id": comment.id, "deleted": True} and CircleComment.select().count() == 0


def test_deleting_posts_and_who_may(app, org):
    post = service.create_post(org["tenant"], org["sam"], "Mine", images=[photo()])
    ed_c = client_for(app, "ed")
    page = ed_c.get("/circle/").get_data(as_text=True)
    assert f'action="/circle/posts/{post.id}/delete"' not in page
    assert ed_c.post(f"/circle/posts/{post.id}/delete", data={"csrf_token": csrf_from(page)}).status_code == 403
    sam_c = client_for(app, "sam")
    done = sam_c.post(f"/circle/posts/{post.id}/delete", data={"csrf_token": token(sam_c)})
    assert done.status_code == 302 and CirclePost.select().count() == 0 and Blob.select().count() == 0
    assert sam_c.get(f"/circle/posts/{post.id}").status_code == 404


def test_nobody_else_reaches_a_post(app, org, other_tenant):
    post = service.create_post(org["tenant"], org["eve"], "Eng only", to_all=False, department_ids=[org["eng"].id],
                               images=[photo()])
    comment = service.add_comment(org["tenant"], org["eve"], post.id, "Note")
    image = CircleImage.get()
    sam_c = client_for(app, "sam")
    csrf = token(sam_c)
    for method, path in (("get", f"/circle/posts/{post.id}"), ("get", f"/circle/images/{image.id}"),
                         ("post", f"/circle/posts/{post.id}/like"), ("post", f"/circle/posts/{post.id}/comments"),
                         ("post", f"/circle/posts/{post.id}/delete"),
                         ("post", f"/circle/posts/{post.id}/comments/{comment.id}/delete"),
                         ("get", "/circle/posts/999999")):
        response = sam_c.get(path) if method == "get" else sam_c.post(path, data={"text": "x", "csrf_token": csrf})
        assert response.status_code == 404, path
    make_person(other_tenant, "eve")
    theirs = client_for(app, "eve", host="globex.example")
    for path in (f"/circle/posts/{post.id}", f"/circle/images/{image.id}"):
        assert theirs.get(path, base_url="http://globex.example").status_code == 404
    assert "Eng only" not in theirs.get("/circle/", base_url="http://globex.example").get_data(as_text=True)
    assert CircleLike.select().count() == 0 and CircleComment.select().count() == 1


def test_pages_of_posts(app, org):
    for n in range(23):
        service.create_post(org["tenant"], org["sam"], f"Post number {n:02d}")
    ed_c = client_for(app, "ed")
    first = ed_c.get("/circle/").get_data(as_text=True)
    assert first.count('class="card circle-post"') == 20 and "Post number 22" in first and "Page 1 of 2" in first
    assert 'data-page="1"' in first
    second = ed_c.get("/circle/?page=2").get_data(as_text=True)
    assert second.count('class="card circle-post"') == 3 and "Post number 00" in second
    assert ed_c.get("/circle/?page=x").status_code == 200


def test_the_tab_is_in_the_navigation(app, org):
    page = client_for(app, "ed").get("/").get_data(as_text=True)
    assert 'data-nav="circle"' in page and 'href="/circle/"' in page and 'data-nav="tasks"' in page
