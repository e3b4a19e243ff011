"""Build the offline bundle atrium-VERSION.tar.gz: everything an install needs except the OS packages.

    python deploy/bundle.py [--out dist] [--version 0.1.1] [--wheels-from dist/atrium-0.1.0.tar.gz]

The bundle holds wheels of Atrium and of every Python dependency for the target (Debian 12, CPython 3.11,
x86-64), the installer (ansible/), the brand packs (branding/), the install wrapper and the smoke tests, an
install guide and SHA256SUMS. Installing from it needs no Python package index: the build proves that by
resolving Atrium from the bundle's wheels alone. OS packages come from the hosts' own apt sources; the guide lists
them. Build it on the target platform (the dependency wheels are resolved for the Python that runs this script).

--version builds Atrium's wheel with another version number (a patch release of the same code, or a test's
"newer" bundle); --wheels-from reuses the dependency wheels of an earlier bundle or a folder instead of fetching
and building them again.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = "Debian 12, CPython 3.11, x86-64"
# Files of the source tree that make Atrium's wheel; tests, benchmarks and tooling stay out.
SOURCE_FILES = ["setup.cfg", "pyproject.toml", "README.md"]
SOURCE_DIRS = ["app", "branding"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.retry", "atrium-install.log", ".pytest_cache")
WHEEL_TAG = re.compile(r"-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$")
VERSION_LINE = re.compile(r"^version = .*$", re.MULTILINE)
DUNDER_VERSION = re.compile(r'^__version__ = "[^"]*"$', re.MULTILINE)


class BundleError(RuntimeError):
    """The bundle cannot be built; the message says why."""


def source_version() -> str:
    """Atrium's version as setup.cfg states it."""
    match = re.search(r"^version = (\S+)$", (ROOT / "setup.cfg").read_text(), re.MULTILINE)
    if not match:
        raise BundleError("setup.cfg states no version")
    return match.group(1)


def check_platform() -> None:
    """Dependency wheels are resolved for this interpreter, so it must be the target's kind."""
    if not (sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)):
        raise BundleError(f"build the bundle on the target platform ({TARGET}); this is {sys.platform}"
                          f" {platform.machine()} with Python {platform.python_version()}")


def wheel_fits_target(name: str) -> bool:
    """A wheel the target's CPython 3.11 on x86-64 Linux can install."""
    match = WHEEL_TAG.search(name)
    if not match:
        return False
    pythons = set(match["python"].split("."))
    platforms = set(match["platform"].split("."))
    python_ok = bool(pythons & {"py3", "py2.py3", "cp311", "py311"}) or match["abi"] == "abi3"
    platform_ok = "any" in platforms or any(p.endswith("x86_64") and ("linux" in p) for p in platforms)
    return python_ok and platform_ok


def _pip(*args: str, cwd: Path | None = None) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                            capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise BundleError(f"pip {args[0]} failed: {(result.stderr or result.stdout).strip()[-3000:]}")


def _source_copy(dest: Path, version: str) -> Path:
    """Atrium's sources in a scratch folder, with the version set (the working tree stays untouched)."""
    src = dest / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, src / name)
    for name in SOURCE_DIRS:
        shutil.copytree(ROOT / name, src / name, ignore=IGNORED)
    setup_cfg = src / "setup.cfg"
    setup_cfg.write_text(VERSION_LINE.sub(f"version = {version}", setup_cfg.read_text(), count=1))
    init = src / "app" / "__init__.py"
    text, count = DUNDER_VERSION.subn(f'__version__ = "{version}"', init.read_text(), count=1)
    if count != 1:
        raise BundleError("app/__init__.py states no __version__")
    init.write_text(text)
    return src


def _has_build_tools() -> bool:
    probe = ("import setuptools, sys; v = tuple(int(p) for p in setuptools.__version__.split('.')[:2]);"
             " sys.exit(0 if v >= (70, 1) else __import__('wheel') and 0)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True)
    return result.returncode == 0


def _reused_wheels(source: Path, wheels: Path) -> int:
    """Copy every dependency wheel (not Atrium's) from a folder or an earlier bundle; returns how many."""
    count = 0
    if source.is_dir():
        for wheel in source.glob("*.whl"):
            if not wheel.name.startswith("atrium-"):
                shutil.copy2(wheel, wheels / wheel.name)
                count += 1
        return count
    with tarfile.open(source) as archive:
        for member in archive.getmembers():
            name = Path(member.name)
            if member.isfile() and name.parent.name == "wheels" and name.suffix == ".whl" \
                    and not name.name.startswith("atrium-"):
                with archive.extractfile(member) as data:
                    (wheels / name.name).write_bytes(data.read())
                count += 1
    return count


def os_packages() -> dict[str, list[str]]:
    """The Debian packages each kind of host gets from its apt sources, read from the roles' OS variables."""
    found: dict[str, list[str]] = {}
    for role, kind in (("atrium_common", "every host"), ("atrium_storage", "storage hosts"),
                       ("atrium_proxy", "compute hosts (nginx in front)")):
        text = (ROOT / "ansible" / "roles" / role / "vars" / "Debian-12.yml").read_text()
        block = re.search(r"^__\w+_packages:\n((?:\s+- .+\n)+)", text, re.MULTILINE)
        found[kind] = re.findall(r"- (\S+)", block.group(1)) if block else []
    return found


def _guide(version: str, wheels: list[str]) -> str:
    guide = (ROOT / "ansible" / "INSTALL.md").read_text()
    packages = "\n".join(f"- {kind}: {', '.join(names)}" for kind, names in os_packages().items())
    listing = "\n".join(f"- {name}" for name in sorted(wheels))
    return (f"{guide.rstrip()}\n\n## This bundle\n\nAtrium {version} for {TARGET}.\n\n"
            f"Debian packages the installer takes from each host's apt sources (the hosts also need python3,"
            f" python3-apt, sudo and an OpenSSH server, as any host Ansible manages):\n\n{packages}\n\n"
            f"Python wheels in `wheels/` (installed with `pip install --no-index --find-links wheels`):\n\n"
            f"{listing}\n")


def _stage(stage: Path, version: str, wheels: Path) -> None:
    shutil.copytree(wheels, stage / "wheels")
    shutil.copytree(ROOT / "ansible", stage / "ansible", ignore=IGNORED)
    shutil.copytree(ROOT / "branding", stage / "branding", ignore=IGNORED)
    for name, mode in (("install.sh", 0o755), ("smoke.py", 0o755)):
        shutil.copy2(ROOT / "deploy" / name, stage / name)
        (stage / name).chmod(mode)
    (stage / "VERSION").write_text(f"{version}\n")
    (stage / "INSTALL.md").write_text(_guide(version, [w.name for w in wheels.glob("*.whl")]))
    sums = []
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        sums.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(stage).as_posix()}\n")
    (stage / "SHA256SUMS").write_text("".join(sums))


def _tar(stage: Path, out: Path) -> None:
    """A gzip tarball with one top folder, files owned by root and a fixed time (same input, same bytes)."""
    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = 0
        return info

    partial = out.with_suffix(".partial")
    with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in [stage, *sorted(stage.rglob("*"))]:
            archive.add(path, arcname=str(Path(stage.name) / path.relative_to(stage)), recursive=False,
                        filter=normalise)
    partial.rename(out)


def build(out_dir: Path, version: str | None = None, wheels_from: Path | None = None, progress=print) -> dict:
    """Build the bundle into out_dir; returns what it holds."""
    check_platform()
    version = version or source_version()
    if not re.fullmatch(r"\d+(\.\d+)*([a-z]+\d+)?(\.post\d+)?", version):
        raise BundleError(f"{version!r} is not a release version such as 0.1.1")
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="atrium-bundle-") as scratch:
        scratch = Path(scratch)
        wheels = scratch / "wheels"
        wheels.mkdir()
        src = _source_copy(scratch, version)
        progress(f"building the atrium {version} wheel ...")
        # The builder's own setuptools when it has one (no index needed), else pip's isolated build.
        isolation = ["--no-build-isolation"] if _has_build_tools() else []
        _pip("wheel", "--quiet", "--no-deps", *isolation, "--wheel-dir", str(wheels), str(src))
        atrium_wheel = next(wheels.glob("atrium-*.whl"))
        if wheels_from:
            progress(f"reusing the dependency wheels of {wheels_from} ...")
            if _reused_wheels(wheels_from, wheels) == 0:
                raise BundleError(f"{wheels_from} holds no dependency wheels")
        else:
            progress("fetching and building the dependency wheels ...")
            _pip("wheel", "--quiet", "--wheel-dir", str(wheels), "--find-links", str(wheels), str(atrium_wheel))
        unfit = [w.name for w in wheels.glob("*.whl") if not wheel_fits_target(w.name)]
        if unfit:
            raise BundleError(f"wheels that do not fit {TARGET}: {', '.join(sorted(unfit))}")
        progress("checking that Atrium installs from the bundle's wheels alone ...")
        _pip("download", "--quiet", "--no-index", "--find-links", str(wheels), "--dest", str(scratch / "resolved"),
             f"atrium=={version}")
        stage = scratch / f"atrium-{version}"
        stage.mkdir()
        _stage(stage, version, wheels)
        out = out_dir / f"atrium-{version}.tar.gz"
        _tar(stage, out)
        names = sorted(w.name for w in wheels.glob("*.whl"))
    result = {"bundle": str(out), "version": version, "wheels": names, "bytes": out.stat().st_size,
              "sha256": hashlib.sha256(out.read_bytes()).hexdigest(), "seconds": round(time.monotonic() - started, 1)}
    progress(f"wrote {out} ({result['bytes'] // 1024} KiB, {len(names)} wheels) in {result['seconds']} s")
    return result


def verify(bundle: Path) -> list[str]:
    """Problems of an unpacked bundle's files against its SHA256SUMS (empty when every file matches)."""
    sums = bundle / "SHA256SUMS"
    if not sums.is_file():
        return ["SHA256SUMS is missing"]
    problems, listed = [], set()
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        listed.add(name)
        path = bundle / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: checksum differs")
    extra = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - listed - {"SHA256SUMS"}
    problems += [f"{name}: not listed" for name in sorted(extra)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--out", default=str(ROOT / "dist"), help="folder for the tarball (default: dist/)")
    parser.add_argument("--version", default=None, help="Atrium's version in the bundle (default: setup.cfg's)")
    parser.add_argument("--wheels-from", default=None,
                        help="an earlier bundle (.tar.gz) or a folder whose dependency wheels are reused")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    progress = (lambda line: print(line, file=sys.stderr)) if args.json else print
    try:
        result = build(Path(args.out), args.version, Path(args.wheels_from) if args.wheels_from else None, progress)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
