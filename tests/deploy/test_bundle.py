"""The offline bundle: what it holds, that its checksums hold, and that Atrium installs from it with no index."""
from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT, load_deploy_module

pytestmark = pytest.mark.slow


def requirement_names() -> set[str]:
    """Atrium's direct dependencies, as setup.cfg names them (normalised like wheel file names)."""
    text = (ROOT / "setup.cfg").read_text()
    block = text.split("install_requires =", 1)[1].split("\n\n", 1)[0]
    return {re.split(r"[<>=!~ \[]", line.strip(), 1)[0].lower().replace("-", "_")
            for line in block.splitlines() if line.strip()}


def test_the_bundle_holds_wheels_installer_guide_and_checksums(bundles):
    built = bundles("current")
    path = built["dir"]
    with tarfile.open(built["bundle"]) as archive:
        tops = {Path(m.name).parts[0] for m in archive.getmembers()}
    assert tops == {f"atrium-{built['version']}"}
    for name in ("install.sh", "smoke.py", "INSTALL.md", "SHA256SUMS", "VERSION", "ansible/site.yml",
                 "ansible/preflight.yml", "ansible/inventories/split/hosts.yml", "branding/default/brand.toml"):
        assert (path / name).is_file(), name
    wheels = {w.name.split("-")[0].lower() for w in (path / "wheels").glob("*.whl")}
    assert "atrium" in wheels and requirement_names() <= wheels
    bundle = load_deploy_module("bundle")
    assert all(bundle.wheel_fits_target(w.name) for w in (path / "wheels").glob("*.whl"))
    guide = (path / "INSTALL.md").read_text()
    for package in ("postgresql", "nginx", "python3-venv"):
        assert package in guide
    assert bundle.verify(path) == []
    check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_changed_file_fails_the_checksums(bundles, tmp_path):
    path = bundles("current")["dir"]
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(path), str(copy)], check=True)
    (copy / "ansible" / "site.yml").write_text("# changed\n")
    (copy / "extra.txt").write_text("not shipped\n")
    assert load_deploy_module("bundle").verify(copy) == ["ansible/site.yml: checksum differs", "extra.txt: not listed"]


def test_atrium_installs_from_the_bundle_alone(bundles, tmp_path):
    built = bundles("current")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check",
                              "--no-index", "--find-links", str(built["dir"] / "wheels"),
                              f"atrium=={built['version']}"], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    version = subprocess.run([str(venv / "bin/atrium"), "--version"], capture_output=True, text=True)
    assert version.stdout.strip().endswith(built["version"])


def test_the_newer_bundle_reuses_the_dependency_wheels(bundles):
    current, newer = bundles("current"), bundles("newer")
    assert newer["version"] != current["version"]
    assert {w for w in newer["wheels"] if not w.startswith("atrium-")} == \
        {w for w in current["wheels"] if not w.startswith("atrium-")}
    assert f"atrium-{newer['version']}-py3-none-any.whl" in newer["wheels"]
    assert (newer["dir"] / "VERSION").read_text().strip() == newer["version"]


def test_a_bundle_for_another_platform_is_refused(monkeypatch):
    bundle = load_deploy_module("bundle")
    monkeypatch.setattr(bundle.platform, "machine", lambda: "aarch64")
    with pytest.raises(bundle.BundleError, match="build the bundle on the target platform"):
        bundle.check_platform()
    assert not bundle.wheel_fits_target("pillow-12.3.0-cp312-cp312-manylinux_2_28_x86_64.whl")
    assert not bundle.wheel_fits_target("cryptography-50.0.2-cp311-abi3-macosx_10_9_universal2.whl")
    assert bundle.wheel_fits_target("bcrypt-5.0.0-cp39-abi3-manylinux_2_34_x86_64.whl")
