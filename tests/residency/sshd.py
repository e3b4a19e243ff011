"""A throwaway OpenSSH server on a loopback port for the sftp blob store: its own keys, config and directory."""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers import ServerUnavailable, free_port, wait_for_port

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"


def keygen(path: Path, kind: str = "ed25519") -> str:
    """Make a key pair without a passphrase; returns the public key line without its comment."""
    subprocess.run([SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)], check=True,
                   capture_output=True)
    return " ".join(Path(f"{path}.pub").read_text().split()[:2])


def _children(pid: int) -> list[int]:
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


class SshdServer:
    """sshd -D on 127.0.0.1 with key login only and internal-sftp; can be paused, killed and restarted."""

    def __init__(self):
        if not SSHD.exists():
            raise ServerUnavailable("sshd not found (apt-get install openssh-server)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="atrium-sshd-"))
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.host_key = keygen(self.dir / "host_ed25519")
        self.client_key_file = self.dir / "client_key"
        keygen(self.client_key_file)
        (self.dir / "authorized_keys").write_text(Path(f"{self.client_key_file}.pub").read_text())
        self.proc: subprocess.Popen | None = None
        self._paused: list[int] = []
        self.config = self.dir / "sshd_config"
        self.config.write_text("\n".join([
            "ListenAddress 127.0.0.1", f"Port {self.port}", f"HostKey {self.dir / 'host_ed25519'}",
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "UsePAM no", "StrictModes no",
            "PermitRootLogin prohibit-password", f"PidFile {self.dir / 'sshd.pid'}",
            "Subsystem sftp internal-sftp", "LogLevel ERROR", "MaxStartups 50",
        ]) + "\n")

    def start(self) -> "SshdServer":
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation needs it
        self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)
        return self

    def new_root(self) -> Path:
        """A fresh empty directory for one store."""
        return Path(tempfile.mkdtemp(prefix="store-", dir=self.dir))

    def _tree(self) -> list[int]:
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(_children(pid))
        return pids

    def pause(self) -> None:
        """SIGSTOP the listener and every session: connections stay open but nothing answers."""
        self._paused = self._tree()
        for pid in self._paused:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._paused:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self._paused = []

    def drop_sessions(self) -> None:
        """Kill the per-connection sshd processes, as a host reboot or a network cut does; the listener stays."""
        for pid in self._tree()[1:]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)

    def stop(self) -> None:
        """Stop the listener and its sessions (the directory stays, so it can start again on the same port)."""
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            pids = self._tree()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        for _ in range(50):  # the port can linger for a moment after a kill
            try:
                self.start()
                return
            except RuntimeError:
                time.sleep(0.1)
        raise RuntimeError("sshd did not come back")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
