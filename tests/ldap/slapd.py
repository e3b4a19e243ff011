"""A throwaway OpenLDAP server on a loopback port, and LDIF text for loading it."""
from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.servers import ServerUnavailable, free_port, wait_for_port

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SCHEMA_DIR = Path("/etc/ldap/schema")
TEST_SCHEMA = Path(__file__).with_name("atrium-test.schema")
ROOT_PASSWORD = "root-secret"

# Two naming contexts: one shaped like OpenLDAP deployments, one like Active Directory.
SUFFIXES = ("dc=example,dc=com", "dc=corp,dc=example")


def root_dn(suffix: str) -> str:
    return f"cn=admin,{suffix}"


def ldif(entries: list[tuple[str, dict]]) -> str:
    """LDIF for (dn, {attribute: value or [values]}) pairs; bytes values are written base64."""
    out = []
    for dn, attrs in entries:
        out.append(f"dn: {dn}")
        for name, values in attrs.items():
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, bytes) or (isinstance(value, str) and not value.isascii()):
                    raw = value if isinstance(value, bytes) else value.encode()
                    out.append(f"{name}:: {base64.b64encode(raw).decode()}")
                else:
                    out.append(f"{name}: {value}")
        out.append("")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class TlsFiles:
    """What slapd needs to speak TLS: the CA it names, its certificate and the certificate's key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


class SlapdServer:
    """slapd with an mdb database per suffix in a temp dir; can be paused, killed and restarted on its port.

    Given TlsFiles it also offers StartTLS on its ldap:// port and listens on a second, ldaps:// port.
    """

    def __init__(self, tls: TlsFiles | None = None):
        if not SLAPD.exists():
            raise ServerUnavailable("slapd not found (apt-get install slapd ldap-utils)")
        self.port = free_port()
        self.tls = tls
        self.tls_port = free_port() if tls else None
        self.dir = Path(tempfile.mkdtemp(prefix="atrium-slapd-"))
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_uri(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def _write_config(self) -> Path:
        lines = [f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "inetorgperson", "nis")]
        lines += [f"include {TEST_SCHEMA}", "modulepath /usr/lib/ldap", "moduleload back_mdb",
                  "moduleload ppolicy",  # defines pwdAccountLockedTime
                  f"pidfile {self.dir / 'slapd.pid'}", f"argsfile {self.dir / 'slapd.args'}"]
        lines.append("sizelimit unlimited")
        if self.tls:
            lines += [f"TLSCACertificateFile {self.tls.ca_file}", f"TLSCertificateFile {self.tls.cert_file}",
                      f"TLSCertificateKeyFile {self.tls.key_file}"]
        for i, suffix in enumerate(SUFFIXES):
            data = self.dir / f"db{i}"
            data.mkdir(exist_ok=True)
            lines += ["database mdb", f'suffix "{suffix}"', f'rootdn "{root_dn(suffix)}"', f"rootpw {ROOT_PASSWORD}",
                      f"directory {data}", "maxsize 4294967296", "index objectClass eq", "index entryUUID eq",
                      "index uid eq", "index sAMAccountName eq", "index uSNChanged eq",
                      "index modifyTimestamp eq",
                      # A service account named cn=limited may read only 3 entries per search (fault tests).
                      'limits dn.regex="^cn=limited," size=3']
        path = self.dir / "slapd.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def load_offline(self, suffix: str, text: str) -> None:
        """Load LDIF with slapadd while the server is stopped (fast: no network, no per-entry round trip)."""
        ldif_path = self.dir / "load.ldif"
        ldif_path.write_text(text)
        subprocess.run([str(SLAPADD), "-q", "-f", str(self.dir / "slapd.conf"), "-b", suffix, "-l", str(ldif_path)],
                       check=True, capture_output=True)
        ldif_path.unlink()

    def configure(self) -> "SlapdServer":
        self._write_config()
        return self

    def start(self, bases: bool = True) -> "SlapdServer":
        if not (self.dir / "slapd.conf").exists():
            self.configure()
            if bases:
                for suffix in SUFFIXES:
                    self.load_offline(suffix, ldif([(suffix, {"objectClass": ["dcObject", "organization"],
                                                              "dc": suffix.split(",")[0][3:], "o": "Test"})]))
        urls = f"{self.uri}/ {self.ldaps_uri}/" if self.tls else f"{self.uri}/"
        self.proc = subprocess.Popen([str(SLAPD), "-f", str(self.dir / "slapd.conf"), "-h", urls, "-d", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)
        if self.tls:
            wait_for_port(self.tls_port, proc=self.proc)
        return self

    def pause(self) -> None:
        """SIGSTOP: the socket stays open but nothing answers, as with a hung server."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def restart(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        for _ in range(50):  # the port can linger for a moment after a kill
            try:
                self.start()
                return
            except RuntimeError:
                time.sleep(0.1)
        raise RuntimeError("slapd did not come back")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
