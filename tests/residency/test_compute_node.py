"""A compute-only node (PostgreSQL and an sftp store in the storage site) keeps no customer data at rest.

Uploads carry unique markers; afterwards the node's data dir, its TMPDIR and its log file must not contain them,
while the storage host does. Werkzeug's spooling to temporary files is watched directly as well, because a
spooled upload lives in an unnamed file that no directory listing would ever show.
"""
import http.cookiejar
import io
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import werkzeug.formparser
from flask import Request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import EnvironBuilder, encode_multipart

from app.brand.models import BrandVersion
from app.residency.blobs import read_blob, save_blob
from app.residency.compute import InMemoryRequest
from app.serve import gunicorn_options
from app.tenancy.service import create_tenant
from tests.conftest import TEST_PASSWORD, csrf_from, login, make_person
from tests.residency.conftest import files_under, install, sftp_settings, toml_text
from tests.servers import free_port, wait_for_port


@pytest.fixture
def spooling(monkeypatch):
    """Every temporary file anything in this process asks for while the test runs."""
    calls = []

    def spy(name, original):
        def wrapped(*args, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)
        return wrapped

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, spy(name, getattr(tempfile, name)))
    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile",
                        spy("SpooledTemporaryFile", werkzeug.formparser.SpooledTemporaryFile))
    return calls


@pytest.fixture
def compute_node(pg_url, sshd, tmp_path, monkeypatch):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)
    storage = sshd.new_root()
    data_dir = tmp_path / "node"
    app = install(data_dir, pg_url, residency={"site": "cloud-eu", "role": "compute", "allowed_sites": ["hq"],
                                               "database_site": "hq"},
                  blob_stores={"hq": sftp_settings(sshd, storage)})
    log_file = tmp_path / "node.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    yield SimpleNamespace(app=app, data_dir=data_dir, tmpdir=tmpdir, log_file=log_file, storage=storage)
    logging.getLogger().removeHandler(handler)
    handler.close()


def _editor_fields(client) -> dict:
    html = client.get("/admin/brand/").get_data(as_text=True)
    fields = dict(re.findall(r'<input id="([^"]+)" name="\1"[^>]*?value="([^"]*)"', html))
    fields.update({"csrf_token": csrf_from(html), "nav.home": "1", "nav.people": "1", "action": "save"})
    return fields


def _svg_logo(marker: str) -> bytes:
    # Over werkzeug's 500 KiB spooling threshold, under the 1 MiB icon limit.
    filler = (marker + " ") * (600_000 // (len(marker) + 1))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>{marker}</title>'
            f'<desc>{filler}</desc><rect width="10" height="10" fill="#123456"/></svg>').encode()


def test_uploads_on_a_compute_node_leave_nothing_on_its_disks(compute_node, spooling):
    app = compute_node.app
    assert app.request_class is InMemoryRequest
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["residency"] == {"status": "ok", "site": "cloud-eu", "role": "compute", "stores": {"hq": "ok"},
                                       "problems": []}
    tenant = create_tenant("acme", "Acme")
    assert tenant.blob_store == "hq"
    make_person(tenant, "alice", role="admin")
    assert login(client, "alice").status_code == 302

    marker = f"MARKER-{secrets.token_hex(8)}"
    boundary, body = encode_multipart(MultiDict({**_editor_fields(client), "logo": FileStorage(
        io.BytesIO(_svg_logo(marker)), filename="logo.svg", content_type="image/svg+xml")}))
    spooling.clear()
    response = client.post("/admin/brand/", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert spooling == []                       # the 600 KiB upload stayed in memory
    version = BrandVersion.get(BrandVersion.tenant == tenant)
    logo = next(a for a in version.assets if a.name == "logo")
    assert marker.encode() in read_blob(logo.blob)

    binary_marker = secrets.token_bytes(32)
    blob = save_blob(tenant, b"\x00head" + binary_marker * 100, "application/octet-stream")
    assert blob.store == "hq"

    node_files = files_under(compute_node.data_dir, compute_node.tmpdir) + [compute_node.log_file]
    for path in node_files:
        content = path.read_bytes()
        assert marker.encode() not in content and binary_marker not in content, path
    stored = b"".join(p.read_bytes() for p in files_under(compute_node.storage))
    assert marker.encode() in stored and binary_marker in stored       # it did go to the storage site

    # The control: the same body with Flask's ordinary request class is spooled to a temporary file.
    environ = EnvironBuilder(method="POST", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                             ).get_environ()
    with Request(environ) as ordinary:
        assert ordinary.files["logo"].filename == "logo.svg"
    assert "SpooledTemporaryFile" in spooling and "TemporaryFile" in spooling


def test_access_log_carries_paths_only():
    """Query strings can hold what people searched for; the access log has the path, never the query."""
    from app.config import load_settings

    log_format = gunicorn_options(load_settings(environ={}))["access_log_format"]
    assert "%(U)s" in log_format
    assert not {"%(r)s", "%(q)s", "%(f)s", "%(a)s"} & set(re.findall(r"%\([a-zA-Z]+\)s", log_format))


@pytest.mark.slow
def test_a_compute_node_under_gunicorn(pg_url, sshd, tmp_path):
    """`atrium serve` on a compute node: it starts, takes an upload, and its disks and log hold none of it."""
    storage, data_dir, tmpdir = sshd.new_root(), tmp_path / "node", tmp_path / "tmp"
    tmpdir.mkdir()
    port = free_port()
    settings = {"data_dir": str(data_dir), "database_url": pg_url, "default_locale": "en",
                "serve": {"bind": f"127.0.0.1:{port}", "workers": 1},
                "residency": {"site": "cloud-eu", "role": "compute", "allowed_sites": ["hq"], "database_site": "hq"},
                "blob_stores": {"hq": sftp_settings(sshd, storage)}}
    config = tmp_path / "atrium.toml"
    config.write_text(toml_text(settings))
    install(data_dir, pg_url, residency=settings["residency"], blob_stores=settings["blob_stores"])
    make_person(create_tenant("acme", "Acme"), "alice", role="admin")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")},
           "ATRIUM_CONFIG": str(config), "TMPDIR": str(tmpdir)}
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env, cwd=root, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    marker = f"MARKER-{secrets.token_hex(8)}"
    try:
        wait_for_port(port, proc=server)
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        assert opener.open(base + "/readyz", timeout=10).status == 200
        page = opener.open(base + "/login", timeout=10).read().decode()
        form = urllib.parse.urlencode({"login": "alice", "password": TEST_PASSWORD,
                                       "csrf_token": csrf_from(page)}).encode()
        opener.open(base + "/login", data=form, timeout=10)
        html = opener.open(base + "/admin/brand/", timeout=10).read().decode()
        fields = dict(re.findall(r'<input id="([^"]+)" name="\1"[^>]*?value="([^"]*)"', html))
        fields.update({"csrf_token": csrf_from(html), "nav.home": "1", "action": "save"})
        boundary, body = encode_multipart(MultiDict({**fields, "logo": FileStorage(
            io.BytesIO(_svg_logo(marker)), filename="logo.svg", content_type="image/svg+xml")}))
        upload = urllib.request.Request(base + "/admin/brand/?q=" + marker, data=body,
                                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        saved = opener.open(upload, timeout=30)
        assert saved.url.endswith("/admin/brand/") and "Brand saved as version 1." in saved.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        log = server.communicate(timeout=30)[0]
    assert b"Booting worker" in log and b"POST /admin/brand/" in log
    assert marker.encode() not in log                    # not even from the query string
    for path in files_under(data_dir, tmpdir):
        assert marker.encode() not in path.read_bytes(), path
    assert marker.encode() in b"".join(p.read_bytes() for p in files_under(storage))
