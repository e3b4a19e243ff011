"""Fresh Debian 12 hosts with systemd for the installer tests: debootstrap + systemd-nspawn in network namespaces.

The base root file system is built once with debootstrap and cached as a tarball keyed by its package lists. It
holds what a freshly installed server has (systemd, OpenSSH, Python, sudo and an admin account) and, as a local apt
repository at /srv/local-apt (standing in for the customer's own mirror), the packages the installer's roles
install: nginx, PostgreSQL, python3-venv and the rest. The hosts never reach the internet.

Each host gets its own copy of the base, its own SSH host keys, host name and machine id, a network namespace
joined by a veth pair to a bridge on this machine, and an address from 198.18.0.0/15 (the range reserved for
network test benches). Everything is torn down by pid and by name, also after a failure:

    with TestBench(["storage", "web1"], workdir) as bench:
        bench.ssh("web1", "systemctl is-system-running")

Run by hand: `python deploy/testhosts.py base` builds the cache; `python deploy/testhosts.py up NAME...` boots
hosts, prints an inventory fragment and keeps them until Ctrl-C.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("TESTHOSTS_MIRROR", "http://deb.debian.org/debian")
CACHE_DIR = Path(os.environ.get("TESTHOSTS_CACHE", Path.home() / ".cache" / "atrium-testhosts"))

# What a freshly installed server has: enough for Ansible (Python, python3-apt, sudo) and for logging in.
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-apt", "iproute2", "sudo",
                 "procps", "less"]
# What the roles install with apt; served by the local repository in the image, as by a customer's mirror.
MIRROR_PACKAGES = ["python3-venv", "nginx", "postgresql", "postgresql-client", "logrotate", "ca-certificates",
                   "openssl", "acl", "curl"]
# Bump when the image's customisation below changes, so that cached tarballs are rebuilt.
IMAGE_REVISION = "3"

ADMIN_USER = "admin"
LOCAL_REPO = "/srv/local-apt"


class TestHostError(RuntimeError):
    """The bench could not be built or booted; the message says what to check."""


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("check", True)
    if "input" not in kwargs:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    try:
        return subprocess.run(cmd, **kwargs)
    except subprocess.CalledProcessError as exc:
        raise TestHostError(f"{' '.join(cmd[:4])} ... failed (exit {exc.returncode}): "
                            f"{(exc.stderr or exc.stdout or '').strip()[-2000:]}") from None


def require_root() -> None:
    """Network namespaces, bridges and systemd-nspawn need root: say so plainly."""
    if os.geteuid() != 0:
        raise TestHostError("the installer test hosts need root (network namespaces, a bridge, systemd-nspawn);"
                            " run the tests as root, or deselect them with -m 'not installer'")
    for tool in ("debootstrap", "systemd-nspawn", "ip", "ssh", "ssh-keygen", "zstd"):
        if shutil.which(tool) is None:
            raise TestHostError(f"{tool} is not installed: run `sh deploy/test.sh` (it installs debootstrap,"
                                " systemd-container, iproute2, openssh-client and zstd)")


# --- the base image ------------------------------------------------------------------------------

def image_key() -> str:
    """The cache key of the base image: its suite, package lists and customisation revision."""
    text = "\n".join([SUITE, IMAGE_REVISION, " ".join(BASE_PACKAGES), " ".join(MIRROR_PACKAGES)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _usual_umask():
    """Files written into the hosts' trees get the modes a Debian install has (0644), whatever the caller's
    umask: with a stricter one (Atrium's own commands set 027) /etc/hosts was unreadable to the hosts'
    services, "localhost" did not resolve and PostgreSQL would not start."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def base_image(progress=print) -> Path:
    """The cached base tarball, built with debootstrap when missing (one to three minutes)."""
    require_root()
    with _usual_umask():
        return _base_image(progress)


def _base_image(progress) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tarball = CACHE_DIR / f"debian-{SUITE}-{image_key()}.tar.zst"
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # a second process waits for the first one's build
        if tarball.exists():
            return tarball
        started = time.monotonic()
        progress(f"building the test hosts' base image {tarball.name} with debootstrap from {MIRROR} ...")
        build = Path(tempfile.mkdtemp(prefix="atrium-base-", dir="/var/tmp"))
        try:
            rootfs = build / "rootfs"
            _run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs),
                  MIRROR])
            _add_local_repository(rootfs)
            _customise(rootfs)
            partial = tarball.with_suffix(".partial")
            with open(partial, "wb") as out:
                tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", "-", "."],
                                       stdout=subprocess.PIPE)
                _run(["zstd", "-q", "-T0", "-3"], stdin=tar.stdout, stdout=out, capture_output=False)
                if tar.wait() != 0:
                    raise TestHostError("tar of the base image failed")
            partial.rename(tarball)
        finally:
            shutil.rmtree(build, ignore_errors=True)
        progress(f"base image built in {time.monotonic() - started:.0f} s")
        return tarball


def _chroot(rootfs: Path, *cmd: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    return _run(["chroot", str(rootfs), *cmd], env=env)


def _add_local_repository(rootfs: Path) -> None:
    """Download the roles' packages (with what they need beyond the base) into a flat apt repository."""
    (rootfs / "etc/apt/sources.list").write_text(f"deb {MIRROR} {SUITE} main\n")
    _chroot(rootfs, "apt-get", "update", "-q")
    _chroot(rootfs, "apt-get", "install", "-q", "-y", "--download-only", "--no-install-recommends",
            *MIRROR_PACKAGES)
    repo = rootfs / LOCAL_REPO.lstrip("/")
    repo.mkdir(parents=True)
    archives = rootfs / "var/cache/apt/archives"
    index = []
    for deb in sorted(archives.glob("*.deb")):
        target = repo / deb.name
        shutil.move(str(deb), target)
        control = _run(["dpkg-deb", "-f", str(target)]).stdout.rstrip("\n")
        data = target.read_bytes()
        index.append(f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\n"
                     f"MD5sum: {hashlib.md5(data).hexdigest()}\nSHA256: {hashlib.sha256(data).hexdigest()}\n")
    if not index:
        raise TestHostError("no packages were downloaded for the local apt repository")
    (repo / "Packages").write_text("\n".join(index))
    # The hosts see only the local repository, and start with no package lists (as after a fresh install).
    (rootfs / "etc/apt/sources.list").write_text(f"deb [trusted=yes] file:{LOCAL_REPO} ./\n")
    for path in (rootfs / "etc/apt/sources.list.d").glob("*"):
        path.unlink()
    _chroot(rootfs, "apt-get", "clean")
    for path in (rootfs / "var/lib/apt/lists").glob("*"):
        if path.is_file():
            path.unlink()


def _customise(rootfs: Path) -> None:
    """An admin account with sudo, no host keys or machine id (each host makes its own), no timers that go online."""
    _chroot(rootfs, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", ADMIN_USER)
    sudoers = rootfs / "etc/sudoers.d" / ADMIN_USER
    sudoers.write_text(f"{ADMIN_USER} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    (rootfs / "etc/ssh/sshd_config.d/test-bench.conf").write_text(
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n")
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    with contextlib.suppress(FileNotFoundError):
        (rootfs / "var/lib/dbus/machine-id").unlink()
    units = rootfs / "etc/systemd/system"
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "e2scrub_reap.service",
                 "fstrim.timer", "console-getty.service", "getty@tty1.service", "systemd-timesyncd.service"):
        link = units / unit
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to("/dev/null")
    (rootfs / "etc/resolv.conf").unlink(missing_ok=True)
    (rootfs / "etc/resolv.conf").write_text("")


# --- hosts ---------------------------------------------------------------------------------------

INOTIFY_INSTANCES = 1024


def _raise_inotify_limit() -> None:
    """Let every container's systemd have its inotify instances (all containers share root's limit of 128)."""
    path = Path("/proc/sys/fs/inotify/max_user_instances")
    if int(path.read_text()) < INOTIFY_INSTANCES:
        path.write_text(f"{INOTIFY_INSTANCES}\n")

def _cgroup_hierarchies() -> list[Path]:
    """Where systemd keeps its cgroups on this machine: the named v1 hierarchy and the unified one (hybrid), or the
    unified one alone."""
    root = Path("/sys/fs/cgroup")
    found = [root / name for name in ("systemd", "unified") if (root / name / "cgroup.procs").exists()]
    return found or ([root] if (root / "cgroup.procs").exists() else [])


def _remove_cgroup(path: Path) -> None:
    """Remove a cgroup and whatever the container's systemd made under it (children first)."""
    if not path.is_dir():
        return
    for directory, _subdirs, _files in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def _children(pid: int) -> list[int]:
    """The direct children of a process (for systemd-nspawn: the container's init)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class TestHost:
    """One booted host: its name, address, root file system and the systemd-nspawn process that runs it."""

    name: str
    address: str
    rootfs: Path
    netns: str
    veth: str
    host_key: str = ""
    process: subprocess.Popen | None = None
    log: Path | None = None


@dataclass
class TestBench:
    """Hosts on one bridge: 198.18.N.1 is this machine, the hosts are .11, .12, ... in the order given."""

    names: list[str]
    workdir: Path
    subnet: int = field(default_factory=lambda: 1 + os.getpid() % 250)
    boot_timeout: float = 120.0
    progress: object = print

    def __post_init__(self):
        self.workdir = Path(self.workdir)
        tag = f"{os.getpid() % 100000:05d}"
        self.bridge = f"atbr{tag}"
        self.gateway = f"198.18.{self.subnet}.1"
        self.hosts = {name: TestHost(name=name, address=f"198.18.{self.subnet}.{11 + i}",
                                     rootfs=self.workdir / "hosts" / name, netns=f"atrium-{tag}-{name}",
                                     veth=f"at{tag}h{i}")
                      for i, name in enumerate(self.names)}
        self.key_file = self.workdir / "id_ed25519"
        self.known_hosts = self.workdir / "known_hosts"
        self.user = ADMIN_USER
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> TestBench:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Build or reuse the base image, then make, wire and boot every host in parallel."""
        require_root()
        _raise_inotify_limit()
        tarball = base_image(self.progress)
        self.workdir.mkdir(parents=True, exist_ok=True)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "atrium-test-bench", "-f", str(self.key_file)])
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])
        with _usual_umask(), concurrent.futures.ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
            list(pool.map(lambda h: self._prepare(h, tarball), self.hosts.values()))
        self.known_hosts.write_text("".join(f"{h.address} {h.host_key}\n" for h in self.hosts.values()))
        for host in self.hosts.values():
            self._boot(host)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
            list(pool.map(self._wait_until_running, self.hosts.values()))

    def _prepare(self, host: TestHost, tarball: Path) -> None:
        host.rootfs.mkdir(parents=True)
        _run(["tar", "--zstd", "-xf", str(tarball), "-C", str(host.rootfs), "--numeric-owner"])
        _run(["ssh-keygen", "-A", "-f", str(host.rootfs)])
        host.host_key = " ".join((host.rootfs / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2])
        (host.rootfs / "etc/hostname").write_text(f"{host.name}\n")
        hosts_file = "127.0.0.1 localhost\n" + f"127.0.1.1 {host.name}\n" + "".join(
            f"{other.address} {other.name}\n" for other in self.hosts.values() if other is not host)
        (host.rootfs / "etc/hosts").write_text(hosts_file)
        for name in ("etc/hostname", "etc/hosts"):
            (host.rootfs / name).chmod(0o644)
        # Remounting the root file system means nothing inside a container and can fail there, leaving the
        # host "degraded" for no reason of ours.
        remount = host.rootfs / "etc/systemd/system/systemd-remount-fs.service"
        remount.unlink(missing_ok=True)
        remount.symlink_to("/dev/null")
        ssh_dir = host.rootfs / "home" / ADMIN_USER / ".ssh"
        ssh_dir.mkdir(mode=0o700)
        (ssh_dir / "authorized_keys").write_text(Path(f"{self.key_file}.pub").read_text())
        uid_gid = self._admin_ids(host.rootfs)
        for path in (ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, *uid_gid)
        with self._lock:
            _run(["ip", "netns", "add", host.netns])
            _run(["ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns])
            _run(["ip", "link", "set", host.veth, "master", self.bridge, "up"])
        _run(["ip", "netns", "exec", host.netns, "ip", "addr", "add", f"{host.address}/24", "dev", "eth0"])
        _run(["ip", "netns", "exec", host.netns, "ip", "link", "set", "eth0", "up"])
        _run(["ip", "netns", "exec", host.netns, "ip", "link", "set", "lo", "up"])

    @staticmethod
    def _admin_ids(rootfs: Path) -> tuple[int, int]:
        for line in (rootfs / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == ADMIN_USER:
                return int(fields[2]), int(fields[3])
        raise TestHostError(f"the base image has no {ADMIN_USER} account")

    def _cgroups(self, host: TestHost) -> list[Path]:
        return [hierarchy / "atrium-testhosts" / host.netns for hierarchy in _cgroup_hierarchies()]

    def _boot(self, host: TestHost) -> None:
        host.log = self.workdir / f"{host.name}.console.log"
        # Without a systemd on this machine every container would run in the caller's cgroup, and their systemds
        # would make and remove the same units' cgroups there, racing each other: each host gets its own.
        enter = []
        for cgroup in self._cgroups(host):
            cgroup.mkdir(parents=True, exist_ok=True)
            enter.append(f"echo $$ > {cgroup / 'cgroup.procs'}")
        nspawn = ["systemd-nspawn", "--quiet", "-D", str(host.rootfs), "--boot", "--register=no", "--keep-unit",
                  f"--network-namespace-path=/run/netns/{host.netns}", "-M", host.name, "--console=passive",
                  "--resolv-conf=off", "--timezone=off", "--link-journal=no"]
        script = " && ".join(enter + ['exec "$@"'])
        with open(host.log, "wb") as log:
            host.process = subprocess.Popen(["sh", "-c", script, "sh", *nspawn], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_until_running(self, host: TestHost) -> None:
        deadline = time.monotonic() + self.boot_timeout
        state = ""
        while time.monotonic() < deadline:
            if host.process.poll() is not None:
                raise TestHostError(f"systemd-nspawn of {host.name} exited with {host.process.returncode}:"
                                    f" {self._console_tail(host)}")
            result = self.ssh(host.name, "systemctl is-system-running", check=False, timeout=15)
            state = result.stdout.strip()
            if state == "running":
                return
            if state == "degraded":
                failed = self.ssh(host.name, "systemctl --failed --no-legend --plain", check=False).stdout
                raise TestHostError(f"{host.name} booted degraded; failed units: {failed.strip()}")
            time.sleep(1)
        raise TestHostError(f"{host.name} ({host.address}) did not reach `running` within {self.boot_timeout:.0f} s"
                            f" (last state {state or 'no answer over SSH'}): {self._console_tail(host)}")

    @staticmethod
    def _console_tail(host: TestHost) -> str:
        try:
            return host.log.read_text(errors="replace")[-1500:]
        except (OSError, AttributeError):
            return ""

    def stop(self) -> None:
        """Kill every host (nothing on them is kept), then remove namespaces, links and copies."""
        for host in self.hosts.values():
            if host.process is None:
                continue
            # Killing the container's init ends every process in its PID namespace at once; systemd-nspawn
            # then exits and releases its mounts. An orderly poweroff would only wait for services to stop.
            for init in _children(host.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(init, signal.SIGKILL)
            try:
                host.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(host.process.pid, signal.SIGKILL)
                host.process.wait(timeout=30)
        for host in self.hosts.values():
            for cgroup in self._cgroups(host):
                _remove_cgroup(cgroup)
                with contextlib.suppress(OSError):   # shared with other benches while they run
                    cgroup.parent.rmdir()
        namespaces = set(_run(["ip", "netns", "list"], check=False).stdout.split())
        for host in self.hosts.values():
            if host.netns in namespaces:
                _run(["ip", "netns", "del", host.netns], check=False)
            if Path(f"/sys/class/net/{host.veth}").exists():
                _run(["ip", "link", "del", host.veth], check=False)
        if Path(f"/sys/class/net/{self.bridge}").exists():
            _run(["ip", "link", "del", self.bridge], check=False)
        hosts_dir = self.workdir / "hosts"
        if hosts_dir.exists():
            shutil.rmtree(hosts_dir, ignore_errors=True)

    # -- using the hosts -----------------------------------------------------------------------

    def ssh_options(self) -> list[str]:
        """Options for ssh (and Ansible's ssh_common_args) that trust exactly the hosts' generated keys."""
        return ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                "-o", "LogLevel=ERROR"]

    def ssh(self, name: str, command: str, check: bool = True, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run a shell command on a host as the admin account (prefix `sudo` for root)."""
        host = self.hosts[name]
        cmd = ["ssh", *self.ssh_options(), "-i", str(self.key_file), f"{self.user}@{host.address}", command]
        try:
            # ssh makes its standard input non-blocking: never let it share the caller's.
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                    **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}))
        except subprocess.TimeoutExpired:
            result = subprocess.CompletedProcess(cmd, 255, "", f"timed out after {timeout} s")
        if check and result.returncode != 0:
            raise TestHostError(f"{name}: `{command}` exited {result.returncode}: {result.stderr.strip()[-1500:]}")
        return result

    def inventory_vars(self) -> dict:
        """Connection variables for an Ansible inventory of these hosts."""
        return {"ansible_user": self.user, "ansible_ssh_private_key_file": str(self.key_file),
                "ansible_ssh_common_args": " ".join(self.ssh_options())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("base", help="build (or find) the cached base image and print its path")
    up = sub.add_parser("up", help="boot hosts and keep them until Ctrl-C")
    up.add_argument("names", nargs="+")
    up.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "base":
            print(base_image())
            return 0
        workdir = Path(args.workdir or tempfile.mkdtemp(prefix="atrium-bench-", dir="/var/tmp"))
        with TestBench(args.names, workdir) as bench:
            for host in bench.hosts.values():
                print(f"{host.name} ansible_host={host.address}", flush=True)
            print(f"key: {bench.key_file}  known hosts: {bench.known_hosts}  user: {bench.user}")
            print("Ctrl-C (or SIGTERM) stops and removes the hosts", flush=True)
            stop = threading.Event()
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, lambda *_args: stop.set())
            while not stop.wait(1):
                pass
        return 0
    except TestHostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
