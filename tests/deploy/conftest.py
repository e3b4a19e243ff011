"""Fixtures of the installer tests: bundles built once per session from this checkout."""
from __future__ import annotations

import importlib.util
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_deploy_module(name: str):
    """deploy/NAME.py as a module (deploy/ is scripts, not a package), loaded once."""
    qualified = f"atrium_deploy_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, ROOT / "deploy" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


def newer_version(version: str) -> str:
    """The version an upgrade installs: the same code with the last number raised (0.1.0 -> 0.1.1)."""
    parts = version.split(".")
    return ".".join(parts[:-1] + [str(int(parts[-1]) + 1)])


@pytest.fixture(scope="session")
def bundles(tmp_path_factory):
    """Build the bundle of this checkout, and a newer one that reuses its dependency wheels; both unpacked."""
    bundle = load_deploy_module("bundle")
    out = tmp_path_factory.mktemp("dist")
    built = {}

    def get(which: str) -> dict:
        if which not in built:
            if which == "current":
                result = bundle.build(out, progress=lambda line: None)
            else:
                result = bundle.build(out, version=newer_version(get("current")["version"]),
                                      wheels_from=Path(get("current")["bundle"]), progress=lambda line: None)
            unpacked = out / "unpacked"
            unpacked.mkdir(exist_ok=True)
            with tarfile.open(result["bundle"]) as archive:
                archive.extractall(unpacked, filter="data")
            result["dir"] = unpacked / f"atrium-{result['version']}"
            built[which] = result
        return built[which]

    return get
