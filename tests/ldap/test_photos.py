"""Directory photos: read after the sync, checked by content, kept in the blob store, shown on the person card."""
from __future__ import annotations

import hashlib
import json
import logging
import struct
import zlib

import pytest

from app.org.ldap import photos
from app.org.ldap.models import DirectoryEntry
from app.org.ldap.photos import MAX_PHOTO_SIDE, photo_blob
from app.org.ldap.read import MAX_PHOTO_BYTES
from app.org.ldap.sync import run_sync
from app.org.models import Person
from app.residency.blobs import BlobError, get_store, read_blob
from app.residency.models import Blob
from app.tenancy.scope import TenantScope
from tests.conftest import login, make_person, post_form
from tests.ldap.builder import SERVICE_PASSWORD, USER_PASSWORD, Directory, image
from tests.ldap.conftest import configure


def person(tenant, login_name: str) -> Person:
    return TenantScope(tenant).select(Person).where(Person.login == login_name).get()


def stored_photo(tenant, login_name: str) -> Blob | None:
    return photo_blob(tenant, person(tenant, login_name).id)


def counts(result) -> dict[str, int]:
    return json.loads(result.run.counts)


def png_bomb(side: int) -> bytes:
    """A PNG of side x side black 1-bit pixels: some KiB as sent, side * side / 8 bytes once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)
    pixels = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def test_a_jpeg_photo_is_stored_and_served_on_the_person_card(client, tenant, directory, local_admin):
    photo = image("JPEG")
    directory.person("wei", "Zhang Wei", photo=photo)
    directory.person("fang", "Wang Fang")
    directory.load()
    configure(tenant, directory)
    assert "photos_stored" not in counts(run_sync(tenant, dry_run=True))    # a preview reads no photos
    result = run_sync(tenant)
    assert result.run.status == "ok" and counts(result)["photos_stored"] == 1
    blob = stored_photo(tenant, "wei")
    assert (blob.content_type, blob.sha256) == ("image/jpeg", hashlib.sha256(photo).hexdigest())
    assert read_blob(blob) == photo and stored_photo(tenant, "fang") is None

    wei, fang = person(tenant, "wei"), person(tenant, "fang")
    assert client.get(f"/people/{wei.id}/photo").status_code == 302          # to the login page
    assert login(client, "fang", USER_PASSWORD).status_code == 302
    response = client.get(f"/people/{wei.id}/photo")
    assert response.status_code == 200 and response.data == photo
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    card = client.get(f"/people/{wei.id}").get_data(as_text=True)
    assert f'src="/people/{wei.id}/photo?v={blob.id}"' in card and 'alt="Photo of Zhang Wei"' in card
    assert "/photo" not in client.get(f"/people/{fang.id}").get_data(as_text=True)
    assert "/photo" not in client.get("/").get_data(as_text=True)
    assert client.get(f"/people/{fang.id}/photo").status_code == 404

    post_form(client, "/logout")
    login(client, "wei", USER_PASSWORD)
    assert f'src="/people/{wei.id}/photo?v={blob.id}"' in client.get("/").get_data(as_text=True)
    again = counts(run_sync(tenant))
    assert (again["photos_stored"], again["photos_waiting"]) == (0, 0)


def test_a_changed_photo_replaces_the_stored_one_and_a_dropped_one_is_deleted(tenant, directory, local_admin):
    wei = directory.person("wei", "Zhang Wei", photo=image("JPEG"))
    directory.load()
    configure(tenant, directory)
    run_sync(tenant)
    first = stored_photo(tenant, "wei")
    store = get_store(first.store)

    changed = image("PNG", color=(10, 120, 200))
    directory.modify(wei, photo=changed)
    assert counts(run_sync(tenant))["photos_stored"] == 1
    second = stored_photo(tenant, "wei")
    assert second.id != first.id and second.content_type == "image/png" and read_blob(second) == changed
    assert not Blob.select().where(Blob.id == first.id).exists() and first.key not in set(store.keys())

    directory.modify(wei, photo=None)
    assert counts(run_sync(tenant))["photos_removed"] == 1
    assert stored_photo(tenant, "wei") is None
    assert TenantScope(tenant).select(DirectoryEntry).get().photo_blob_id is None
    assert not Blob.select().where(Blob.id == second.id).exists() and second.key not in set(store.keys())


def test_bad_photos_are_problem_lines_and_the_rest_syncs(tenant, directory, local_admin):
    bad = {
        "notjpeg": (b"\xff\xd8\xff\xe0 looks like a JPEG, is not one", "photo_not_image"),
        "markup": (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "photo_not_image"),
        "truncated": (image("JPEG", size=(64, 64))[:300], "photo_not_image"),
        "wide": (image("PNG", size=(MAX_PHOTO_SIDE + 1, 4)), "photo_too_many_pixels"),
        "bomb": (png_bomb(10_000), "photo_too_many_pixels"),          # Pillow warns: refused as an error
        "bigbomb": (png_bomb(20_000), "photo_too_many_pixels"),       # Pillow refuses it itself
        "bigfile": (b"\xff\xd8\xff" + b"\x00" * MAX_PHOTO_BYTES, "photo_too_large"),   # found by the read
    }
    directory.person("good", "Good Photo", photo=image("JPEG"))
    dns = {name: directory.person(name, name.title(), photo=data) for name, (data, _code) in bad.items()}
    directory.load()
    configure(tenant, directory)
    result = run_sync(tenant)
    assert result.run.status == "ok"
    found = counts(result)
    assert (found["created"], found["photos_stored"], found["photos_refused"]) == (8, 1, 6)
    problems = {(p["dn"], p["code"]) for p in json.loads(result.run.problems)}
    assert problems == {(dns[name], code) for name, (_data, code) in bad.items()}
    assert stored_photo(tenant, "good") is not None
    assert all(stored_photo(tenant, name) is None for name in bad)
    assert TenantScope(tenant).select(Blob).count() == 1


def test_another_tenants_person_photo_is_404(client, tenant, other_tenant, directory, local_admin):
    directory.person("wei", "Zhang Wei", photo=image("JPEG"))
    directory.load()
    configure(other_tenant, directory)
    run_sync(other_tenant)
    theirs = person(other_tenant, "wei")
    assert photo_blob(other_tenant, theirs.id) is not None and photo_blob(tenant, theirs.id) is None
    login(client, "root")
    assert client.get(f"/people/{theirs.id}/photo").status_code == 404
    make_person(other_tenant, "viewer")
    globex = "http://globex.example"
    login(client, "viewer", host="globex.example")
    assert client.get(f"/people/{theirs.id}/photo", base_url=globex).status_code == 200


def test_the_photo_pass_stores_at_most_its_bound_and_the_rest_next_run(tenant, directory, local_admin):
    for n in range(5):
        directory.person(f"p{n}", f"Person {n}", photo=image("JPEG", color=(40 * n, 90, 30)))
    directory.load()
    configure(tenant, directory)
    seen = []
    for _ in range(4):
        found = counts(run_sync(tenant, photo_limit=2))
        seen.append((found["photos_stored"], found["photos_waiting"]))
    assert seen == [(2, 3), (2, 1), (1, 0), (0, 0)]
    assert all(stored_photo(tenant, f"p{n}") is not None for n in range(5))


@pytest.mark.parametrize("fault", ["directory", "store"])
def test_a_failing_photo_pass_keeps_the_sync_and_is_a_problem_line(tenant, own_slapd, local_admin, monkeypatch,
                                                                    caplog, fault):
    d = Directory(own_slapd, "openldap")
    for n in range(3):
        d.person(f"p{n}", f"Person {n}", photo=image("JPEG", color=(90, 40 * n, 30)))
    d.load()
    d.close()
    configure(tenant, d)
    if fault == "directory":
        real = photos.entry_value

        def dying(conn, dn, attribute):
            own_slapd.kill()
            return real(conn, dn, attribute)

        monkeypatch.setattr(photos, "entry_value", dying)
    else:
        def full(*_args):
            raise BlobError("cannot write to blob store local: No space left on device")

        monkeypatch.setattr(photos, "save_blob", full)
    with caplog.at_level(logging.DEBUG, logger="app.org.ldap"):
        result = run_sync(tenant)
    assert result.run.status == "ok"
    found = counts(result)
    assert (found["created"], found["photos_stored"], found["photos_waiting"]) == (3, 0, 3)
    assert {f"p{n}" for n in range(3)} <= {p.login for p in TenantScope(tenant).select(Person)}
    [stopped] = [p for p in json.loads(result.run.problems) if p["code"] == "photo_pass_stopped"]
    assert stopped["dn"].startswith("uid=p") and stopped["dn"] in caplog.text
    assert stopped["args"]["error"].startswith("LDAP" if fault == "directory" else "BlobError")
    assert SERVICE_PASSWORD not in caplog.text and "No space" not in caplog.text

    monkeypatch.undo()
    if fault == "directory":
        own_slapd.restart()
    assert counts(run_sync(tenant))["photos_stored"] == 3
