"""Real servers the tests start on loopback ports from Debian's packages, and stop again."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class ServerUnavailable(RuntimeError):
    """A server the tests need is not installed; the README's test command installs it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on {port}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _as_service_user(cmd: list[str]) -> list[str]:
    """Run as the postgres user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--"] + cmd


class PostgresServer:
    """A throwaway PostgreSQL cluster: initdb + pg_ctl in a temp dir, trust auth on 127.0.0.1 only."""

    def __init__(self):
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not candidates:
            raise ServerUnavailable("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin = Path(candidates[-1]).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="atrium-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def start(self) -> "PostgresServer":
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
        subprocess.run(_as_service_user([str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user,
                                         "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"]),
                       check=True, capture_output=True)
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_service_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                                         "-l", str(self.dir / "log"), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True)
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=database)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def stop(self) -> None:
        subprocess.run(_as_service_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
