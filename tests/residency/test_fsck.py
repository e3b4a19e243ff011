"""`atrium storage fsck`: orphan files, dangling rows, and what --repair may and may not remove."""
import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.brand.models import BrandAsset
from app.brand.pack import build_pack, read_folder
from app.brand.service import apply_pack
from app.cli import main
from app.residency import blobs
from app.residency.blobs import save_blob
from app.residency.fsck import fsck
from app.residency.models import Blob
from tests.residency.conftest import ROOT, files_under, install, sftp_settings, toml_text

HOURS_AGO = time.time() - 2 * 3600


def _file(root: Path, key: str) -> Path:
    return root / key[:2] / key


def test_orphans_are_found_and_removed_but_young_files_are_left_alone(app, tenant, tmp_path):
    root = tmp_path / "data" / "blobs"
    store = blobs.stores()["local"]
    kept = save_blob(tenant, b"kept", "text/plain")
    old, young = "aa" * 20, "bb" * 20
    store.put(old, b"nobody's")
    store.put(young, b"row on its way")
    os.utime(_file(root, old), (HOURS_AGO, HOURS_AGO))
    stale, fresh = root / "cc" / f".{'cc' * 20}.deadbeef.tmp", root / "cc" / f".{'cd' * 20}.feedf00d.tmp"
    stale.parent.mkdir()
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (HOURS_AGO, HOURS_AGO))

    result = fsck(blobs.stores())
    assert {(o.name, o.kind) for o in result.orphans} == {(old, "file"), (stale.name, "temporary")}
    assert result.recent == 2 and result.dangling == [] and not result.clean
    assert fsck(blobs.stores(), repair=True).clean
    assert sorted(p.name for p in files_under(root)) == sorted([kept.key, young, fresh.name])
    assert fsck(blobs.stores()).clean


def test_a_crash_between_the_write_and_the_row_leaves_an_orphan_that_fsck_finds(app, tenant, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("killed before the row was written")

    monkeypatch.setattr(Blob, "create", crash)
    with pytest.raises(RuntimeError):
        save_blob(tenant, b"lost upload", "image/png")
    monkeypatch.undo()
    assert Blob.select().count() == 0          # no row points at anything
    result = fsck(blobs.stores(), now=time.time() + 2 * 3600)
    assert [o.kind for o in result.orphans] == ["file"]
    assert blobs.stores()["local"].get(result.orphans[0].name) == b"lost upload"


def test_dangling_rows_are_removed_unless_something_needs_them(app, tenant, tmp_path):
    root = tmp_path / "data" / "blobs"
    apply_pack(tenant, build_pack(read_folder(ROOT / "branding" / "sakura")))
    asset = BrandAsset.select().where(BrandAsset.name == "logo").get()
    logo_bytes = _file(root, asset.blob.key).read_bytes()
    _file(root, asset.blob.key).unlink()
    loose = save_blob(tenant, b"loose", "text/plain")
    _file(root, loose.key).unlink()
    rotten = save_blob(tenant, b"will rot", "text/plain")
    _file(root, rotten.key).write_bytes(b"has rotted")
    elsewhere = save_blob(tenant, b"x", "text/plain")
    Blob.update(store="old-nas").where(Blob.id == elsewhere.id).execute()

    found = {d.blob_id: d for d in fsck(blobs.stores()).dangling}
    assert {i: (d.problem, d.references) for i, d in found.items()} == {
        asset.blob_id: ("missing", [f"brand_asset {asset.id}"]), loose.id: ("missing", []),
        rotten.id: ("corrupt", []), elsewhere.id: ("no-store", [])}

    repaired = fsck(blobs.stores(), repair=True)
    assert {d.blob_id: d.action for d in repaired.dangling} == {
        asset.blob_id: "marked", loose.id: "removed", rotten.id: "removed", elsewhere.id: "removed"}
    assert not repaired.clean
    assert Blob.get_by_id(asset.blob_id).damaged == "missing" and BrandAsset.get_by_id(asset.id)
    assert Blob.select().where(Blob.id.in_([loose.id, rotten.id, elsewhere.id])).count() == 0

    _file(root, asset.blob.key).write_bytes(logo_bytes)     # the file restored from a backup
    healed = fsck(blobs.stores(), repair=True)
    assert healed.recovered == [asset.blob_id] and healed.clean
    assert Blob.get_by_id(asset.blob_id).damaged is None


def test_the_command(tmp_path):
    config = tmp_path / "atrium.toml"
    config.write_text(toml_text({"data_dir": str(tmp_path / "data")}))
    env = {"ATRIUM_CONFIG": str(config)}
    runner = CliRunner()
    runner.invoke(main, ["init"], env=env)
    runner.invoke(main, ["tenant", "create", "acme", "--name", "Acme"], env=env)
    assert runner.invoke(main, ["storage", "fsck"], env=env).exit_code == 0
    install(tmp_path / "data", f"sqlite:///{tmp_path}/data/atrium.db")
    from app.tenancy.models import Tenant
    blob = save_blob(Tenant.get(), b"x", "text/plain")
    _file(tmp_path / "data" / "blobs", blob.key).unlink()
    found = runner.invoke(main, ["storage", "fsck", "--json"], env=env)
    assert found.exit_code == 1
    assert json.loads(found.output)["dangling"][0]["problem"] == "missing"
    repaired = runner.invoke(main, ["storage", "fsck", "--repair"], env=env)
    assert repaired.exit_code == 0, repaired.output
    assert f"dangling: blob {blob.id} of tenant" in repaired.output and "row removed" in repaired.output


def test_over_sftp_and_with_the_host_gone(tmp_path, sshd):
    root = sshd.new_root()
    install(tmp_path / "data", f"sqlite:///{tmp_path}/a.db",
            blob_stores={"hq": sftp_settings(sshd, root, site="local")})
    from app import db as dbmod
    from app.tenancy.service import create_tenant
    dbmod.upgrade()
    tenant = create_tenant("acme", "Acme")
    save_blob(tenant, b"kept", "text/plain")
    orphan = "ee" * 20
    blobs.stores()["hq"].put(orphan, b"orphan")
    os.utime(_file(root, orphan), (HOURS_AGO, HOURS_AGO))
    assert [o.name for o in fsck(blobs.stores(), repair=True).orphans] == [orphan]
    assert not _file(root, orphan).exists()
    sshd.stop()
    try:
        result = fsck(blobs.stores())
    finally:
        sshd.restart()
    assert "cannot reach the storage host" in result.unreachable["hq"] and not result.clean
