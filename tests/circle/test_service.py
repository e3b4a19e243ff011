"""Work circle: who sees a post, posting with images, likes, comments, deleting, live events."""
import io

import pytest
from PIL import Image

from app.circle import service
from app.circle.models import CircleComment, CircleImage, CircleLike, CirclePost, CirclePostDepartment
from app.residency.blobs import BlobError, get_store, read_blob
from app.residency.models import Blob
from app.validation import ValidationError
from tests.circle.conftest import photo
from tests.conftest import make_person
from tests.tasks.conftest import events, latest_event


def seen_by(org, login):
    return [p.text for p in service.posts_for(org["tenant"], org[login])]


def test_who_sees_a_post(org, other_tenant):
    t = org["tenant"]
    everyone = service.create_post(t, org["eve"], "Release 2.0 is out")
    to_sales = service.create_post(t, org["ed"], "East closed the deal", to_all=False,
                                   department_ids=[str(org["sales"].id)])
    to_east = service.create_post(t, org["eve"], "For East only", to_all=False, department_ids=[org["east"].id])
    assert seen_by(org, "sam") == ["East closed the deal", "Release 2.0 is out"]
    assert seen_by(org, "ed") == ["For East only", "East closed the deal", "Release 2.0 is out"]  # sub-department
    assert seen_by(org, "eve") == ["For East only", "Release 2.0 is out"]                         # her own
    assert seen_by(org, "nod") == ["Release 2.0 is out"]
    assert seen_by(org, "ada") == ["For East only", "East closed the deal", "Release 2.0 is out"]  # an admin
    assert service.post_for(t, org["nod"], to_sales.id) is None
    assert service.post_for(t, org["sam"], "1 or 1=1") is None
    assert service.audience_ids(t, everyone) is None
    assert service.audience_ids(t, to_east) == sorted([org["ed"].id, org["eve"].id, org["ada"].id])
    stranger = make_person(other_tenant, "sam")
    assert list(service.posts_for(other_tenant, stranger)) == []


def test_a_post_with_images_is_stored_and_announced(org):
    t = org["tenant"]
    before = latest_event()
    post = service.create_post(t, org["sam"], "  Trade fair stand  ", images=[photo(), photo((30, 30), fmt="PNG")])
    assert post.text == "Trade fair stand" and post.to_all
    shown = service.details([post], org["sam"])[post.id]
    assert [(i.position, i.width, i.height) for i in shown.images] == [(0, 64, 48), (1, 30, 30)]
    first = shown.images[0]
    assert first.blob.content_type == "image/jpeg" and b"SecretCam" not in read_blob(first.blob)
    with Image.open(io.BytesIO(read_blob(first.thumb))) as thumb:
        assert thumb.size == (64, 48) and dict(thumb.getexif()) == {}
    assert shown.images[1].blob.content_type == "image/png"
    assert Blob.select().count() == 4
    told = events("circle", after=before)
    assert told == [("tenant", None, {"action": "post", "id": post.id, "author": org["sam"].id,
                                      "author_name": "Sam Sales", "url": f"/circle/posts/{post.id}"})]


def test_department_posts_are_announced_to_their_audience_only(org):
    before = latest_event()
    post = service.create_post(org["tenant"], org["eve"], "Eng news", to_all=False, department_ids=[org["eng"].id])
    told = events("circle", after=before)
    assert sorted(pid for _a, pid, _p in told) == sorted([org["eve"].id, org["ada"].id])
    assert all(aud == "person" and p["id"] == post.id for aud, _pid, p in told)


@pytest.mark.parametrize("text, kw, field", [
    ("", {}, "text"),
    ("   ", {}, "text"),
    ("x" * 5001, {}, "text"),
    ("bell\x07", {}, "text"),
    (12, {}, "text"),
    ("ok", {"to_all": False}, "departments"),
    ("ok", {"to_all": False, "department_ids": ["abc"]}, "departments"),
    ("ok", {"to_all": False, "department_ids": [999999]}, "departments"),
    ("ok", {"images": [b"%PDF-1.7"]}, "images"),
    ("ok", {"images": [photo()] * 10}, "images"),
])
def test_bad_posts_are_refused_and_store_nothing(org, text, kw, field):
    before = latest_event()
    with pytest.raises(ValidationError) as info:
        service.create_post(org["tenant"], org["sam"], text, **kw)
    assert info.value.field == field
    assert CirclePost.select().count() == 0 and Blob.select().count() == 0
    assert events("circle", after=before) == []


def test_another_tenants_departments_are_refused(org, other_tenant):
    from app.org.service import save_department

    theirs = save_department(other_tenant, None, {"name": "Theirs"})
    with pytest.raises(ValidationError, match="Choose departments from the list"):
        service.create_post(org["tenant"], org["sam"], "ok", to_all=False, department_ids=[theirs.id])


def test_a_store_that_fails_leaves_nothing_behind(org, monkeypatch):
    store = get_store(org["tenant"].blob_store)
    real_put, calls = store.put, []

    def failing_put(key, data):
        calls.append(key)
        if len(calls) == 3:
            raise BlobError("disk full")
        real_put(key, data)

    monkeypatch.setattr(store, "put", failing_put)
    with pytest.raises(BlobError):
        service.create_post(org["tenant"], org["sam"], "Two pictures", images=[photo(), photo()])
    assert CirclePost.select().count() == 0 and Blob.select().count() == 0
    assert list(store.keys()) == []                                 # the two files written first are removed


def test_likes_are_idempotent_and_announced(org):
    t = org["tenant"]
    post = service.create_post(t, org["sam"], "Hello")
    before = latest_event()
    assert service.set_like(t, org["ed"], post.id, True) == (True, 1)
    assert service.set_like(t, org["ed"], post.id, True) == (True, 1)
    assert service.set_like(t, org["eve"], post.id, True) == (True, 2)
    assert service.set_like(t, org["ed"], post.id, False) == (False, 1)
    assert service.set_like(t, org["ed"], post.id, False) == (False, 1)
    told = [p for _a, _pid, p in events("circle", after=before)]
    assert [(p["person"], p["liked"], p["likes"]) for p in told] == [
        (org["ed"].id, True, 1), (org["eve"].id, True, 2), (org["ed"].id, False, 1)]
    shown = service.details([post], org["eve"])[post.id]
    assert (shown.likes, shown.liked) == (1, True)
    hidden = service.create_post(t, org["eve"], "Eng only", to_all=False, department_ids=[org["eng"].id])
    with pytest.raises(LookupError):
        service.set_like(t, org["sam"], hidden.id, True)
    assert CircleLike.select().where(CircleLike.post == hidden.id).count() == 0


def test_comments_and_who_deletes_them(org):
    t = org["tenant"]
    post = service.create_post(t, org["sam"], "Hello")
    before = latest_event()
    first = service.add_comment(t, org["ed"], post.id, "Nice <b>work</b> https://example.com/x")
    second = service.add_comment(t, org["eve"], post.id, "Agreed")
    for n in range(3):
        service.add_comment(t, org["nod"], post.id, f"More {n}")
    told = [p for _a, _pid, p in events("circle", after=before)]
    assert told[0]["comment"]["html"].startswith("Nice &lt;b&gt;work&lt;/b&gt; <a href=")
    assert [p["comments"] for p in told] == [1, 2, 3, 4, 5]
    latest = service.details([post], org["sam"])[post.id]
    assert latest.comment_count == 5 and [c.text for c in latest.comments] == ["More 0", "More 1", "More 2"]
    assert len(service.details([post], org["sam"], latest=None)[post.id].comments) == 5
    for text in ("", "x" * 1001, None, ["x"]):
        with pytest.raises(ValidationError):
            service.add_comment(t, org["ed"], post.id, text)
    with pytest.raises(PermissionError):
        service.delete_comment(t, org["eve"], post.id, first.id)        # not hers, not her post
    service.delete_comment(t, org["ed"], post.id, first.id)             # his own
    service.delete_comment(t, org["sam"], post.id, second.id)           # on his post
    with pytest.raises(LookupError):
        service.delete_comment(t, org["sam"], post.id, second.id)
    other = service.create_post(t, org["eve"], "Other")
    third = CircleComment.select().where(CircleComment.post == post.id).first()
    with pytest.raises(LookupError):
        service.delete_comment(t, org["eve"], other.id, third.id)       # a comment of another post
    service.delete_comment(t, org["ada"], post.id, third.id)            # an admin
    assert CircleComment.select().count() == 2


def test_deleting_a_post_removes_its_images_everywhere(org):
    t = org["tenant"]
    post = service.create_post(t, org["sam"], "With a picture", images=[photo()])
    service.add_comment(t, org["ed"], post.id, "Nice")
    service.set_like(t, org["ed"], post.id, True)
    store = get_store(t.blob_store)
    assert len(list(store.keys())) == 2
    with pytest.raises(PermissionError):
        service.delete_post(t, org["ed"], post.id)
    before = latest_event()
    service.delete_post(t, org["sam"], post.id)
    assert events("circle", after=before) == [("tenant", None, {"action": "post_deleted", "id": post.id})]
    for model in (CirclePost, CircleImage, CircleLike, CircleComment, CirclePostDepartment, Blob):
        assert model.select().count() == 0, model
    assert list(store.keys()) == []
    with pytest.raises(LookupError):
        service.delete_post(t, org["sam"], post.id)
    again = service.create_post(t, org["sam"], "Another")
    service.delete_post(t, org["ada"], again.id)                        # an admin
    assert CirclePost.select().count() == 0


def test_images_are_reached_only_through_posts_one_sees(org):
    t = org["tenant"]
    post = service.create_post(t, org["eve"], "Eng only", to_all=False, department_ids=[org["eng"].id],
                               images=[photo()])
    image = CircleImage.get()
    assert service.image_for(t, org["eve"], image.id) is not None
    assert service.image_for(t, org["ada"], image.id) is not None
    assert service.image_for(t, org["sam"], image.id) is None
    assert service.image_for(t, org["sam"], "x") is None
    assert post.id == image.post_id
