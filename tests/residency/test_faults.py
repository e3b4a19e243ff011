"""Uploads when the storage host is gone, hung, full or shows another host key: a clear page, nothing referenced."""
import io
import re
import shutil
import subprocess

import pytest

from app import db as dbmod
from app.brand.models import BrandVersion
from app.residency.models import Blob
from app.tenancy.service import create_tenant
from tests.conftest import csrf_from, login, make_person
from tests.residency.conftest import files_under, install, sftp_settings
from tests.residency.sshd import keygen


# Larger than the 64 KiB disk of the full-disk case.
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><desc>' + b"padding " * 25_000
        + b'</desc><rect width="10" height="10" fill="#123456"/></svg>')


def _stop(sshd, root):
    sshd.stop()


def _hang(sshd, root):
    sshd.pause()


def _change_host_key(sshd, root):
    """The host comes back with a new key, as after a reinstall, or as an impostor would."""
    new_key = root.parent / "new_host_key"
    keygen(new_key)
    sshd.config.write_text(sshd.config.read_text().replace(str(sshd.dir / "host_ed25519"), str(new_key)))
    sshd.restart()


def _fill_the_disk(sshd, root):
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(root)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here to fill a disk")


@pytest.mark.parametrize("fault", [_stop, pytest.param(_hang, marks=pytest.mark.slow), _change_host_key,
                                   _fill_the_disk])
def test_a_failed_upload_says_so_and_leaves_nothing_behind(fault, sshd, tmp_path, sqlite_template):
    root = sshd.new_root()
    shutil.copy(sqlite_template, tmp_path / "atrium.db")
    app = install(tmp_path / "data", f"sqlite:///{tmp_path}/atrium.db",
                  blob_stores={"hq": sftp_settings(sshd, root, site="local")})
    assert dbmod.is_current()
    tenant = create_tenant("acme", "Acme")
    make_person(tenant, "alice", role="admin")
    client = app.test_client()
    login(client, "alice")
    html = client.get("/admin/brand/").get_data(as_text=True)
    fields = dict(re.findall(r'<input id="([^"]+)" name="\1"[^>]*?value="([^"]*)"', html))
    fields.update({"csrf_token": csrf_from(html), "nav.home": "1", "action": "save"})
    original = sshd.config.read_text()
    fault(sshd, root)
    try:
        response = client.post("/admin/brand/", data={**fields, "logo": (io.BytesIO(LOGO), "logo.svg")},
                               content_type="multipart/form-data", headers={"Accept-Language": "en"})
        body = response.get_data(as_text=True)
    finally:
        sshd.resume()
        if sshd.config.read_text() != original:
            sshd.config.write_text(original)
            sshd.restart()
        if fault is _fill_the_disk:
            subprocess.run(["umount", str(root)], check=True)
        elif sshd.proc.poll() is not None:
            sshd.restart()
    assert response.status_code == 400
    assert "The icons could not be stored. Nothing was changed; try again later." in body
    assert BrandVersion.select().count() == 0 and Blob.select().count() == 0
    assert files_under(root) == [] or all(p.is_dir() for p in files_under(root))
