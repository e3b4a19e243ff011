"""The installer on real hosts: fresh Debian 12 hosts with systemd (deploy/testhosts.py: debootstrap and
systemd-nspawn in network namespaces), installed with the bundle's install.sh for one node (a) and for a split
topology with one storage and two compute hosts (b); run again (changed=0); the smoke tests; data put in; an
upgrade to a newer bundle; the smoke tests again; the data, the previous release and the backup taken before the
upgrade are still there; an upgrade cut off half-way finishes when run again. Needs root; deselect with
-m "not installer".

The two topologies are installed side by side (INSTALLER_TEST_SEQUENTIAL=1 runs them one after the other, for
clean timings). The figures go to test-artifacts/installer-figures.json and to the output (-s shows them).
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import re
import secrets
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import ROOT, load_deploy_module
from tests.ldap.builder import SERVICE_PASSWORD, Directory
from tests.ldap.slapd import SLAPD, SUFFIXES, SlapdServer, ldif
from tests.servers import wait_for_port

pytestmark = [pytest.mark.installer, pytest.mark.slow]

PUBLIC_HOST = "atrium.example.com"   # the example inventories' name
TOPOLOGIES = {"single": ["atrium1"], "split": ["storage1", "web1", "web2"]}
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
EXTRA_TENANT = {"slug": "sakura", "name": "Sakura Trading", "hosts": [f"sakura.{PUBLIC_HOST}"], "brand": "sakura"}


def recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of an ansible-playbook run: host -> {ok, changed, unreachable, failed}."""
    tail = output.rsplit("PLAY RECAP", 1)[-1]
    return {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "unreachable": int(m[3]), "failed": int(m[4])}
            for m in RECAP.findall(tail)}


def customer_certificate(workdir: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate it signed for the public host name: what a customer would hand over."""
    ca_key, ca, key, csr, cert = (workdir / n for n in ("ca.key", "ca.pem", "atrium.key", "atrium.csr", "atrium.pem"))

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
        "-subj", "/CN=Example Corporation test CA", "-keyout", str(ca_key), "-out", str(ca))
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={PUBLIC_HOST}",
        "-keyout", str(key), "-out", str(csr))
    extensions = workdir / "san.cnf"
    extensions.write_text(f"subjectAltName=DNS:{PUBLIC_HOST},DNS:*.{PUBLIC_HOST}\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "30",
        "-extfile", str(extensions), "-out", str(cert))
    return cert, key, ca


class BenchSlapd(SlapdServer):
    """The test slapd on loopback (to load it) and on the bench's gateway address (where the hosts reach it)."""

    def __init__(self, gateway: str):
        super().__init__()
        self.gateway = gateway

    @property
    def bench_uri(self) -> str:
        return f"ldap://{self.gateway}:{self.port}"

    def start(self, bases: bool = True) -> BenchSlapd:
        self.configure()
        for suffix in SUFFIXES:
            self.load_offline(suffix, ldif([(suffix, {"objectClass": ["dcObject", "organization"],
                                                      "dc": suffix.split(",")[0][3:], "o": "Test"})]))
        self.proc = subprocess.Popen([str(SLAPD), "-f", str(self.dir / "slapd.conf"), "-h",
                                      f"{self.uri}/ {self.bench_uri}/", "-d", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)
        return self


def toml_text(values: dict) -> str:
    """Directory settings as TOML (texts, numbers, flags, lists of texts and one level of tables)."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in values.items() if not isinstance(value, dict)]
    for key, table in values.items():
        if isinstance(table, dict):
            lines += [f"[{key}]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


class Topology:
    """One example inventory installed on bench hosts, through the bundle's install.sh."""

    def __init__(self, name: str, bench, workdir: Path, tools_cache: Path):
        self.name, self.bench, self.workdir, self.tools_cache = name, bench, workdir / name, tools_cache
        self.workdir.mkdir(parents=True)
        self.hosts = TOPOLOGIES[name]
        self.storage = self.hosts[0]
        self.compute = self.hosts[-2:] if name == "split" else self.hosts
        self.cafile: Path | None = None
        variables = {**bench.inventory_vars(), "atrium_app_tenants": [EXTRA_TENANT]}
        if name == "split":
            cert, key, self.cafile = customer_certificate(self.workdir)
            variables.update(atrium_proxy_tls_certificate=str(cert), atrium_proxy_tls_key=str(key))
        self.overlay = self.workdir / "bench.yml"
        self.overlay.write_text(yaml.safe_dump({"all": {
            "vars": variables,
            "hosts": {host: {"ansible_host": bench.hosts[host].address} for host in self.hosts}}}))
        self.figures: dict[str, float] = {}
        self.kept: dict = {}

    def env(self, log: Path) -> dict:
        return {**os.environ, "XDG_CACHE_HOME": str(self.tools_cache), "ATRIUM_INSTALL_LOG": str(log),
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}

    def install(self, bundle: dict, phase: str) -> str:
        """Run install.sh of the bundle with the example inventory and the bench overlay; returns its output."""
        example = bundle["dir"] / "ansible" / "inventories" / self.name / "hosts.yml"
        log = self.workdir / f"{phase}.log"
        started = time.monotonic()
        result = subprocess.run([str(bundle["dir"] / "install.sh"), str(example), "-i", str(self.overlay)],
                                cwd=self.workdir, env=self.env(log), stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=1800)
        self.figures[phase] = round(time.monotonic() - started, 1)
        output = result.stdout + result.stderr
        (self.workdir / f"{phase}.out").write_text(output)
        assert result.returncode == 0, f"{self.name} {phase} failed:\n{output[-6000:]}\n{self.diagnose()}"
        assert log.exists() and "PLAY RECAP" in log.read_text(), "install.sh keeps no transcript"
        return output

    def cut_off(self, bundle: dict, phase: str, at_task: str) -> None:
        """Start install.sh and kill it (and its Ansible) as soon as its transcript reaches a task."""
        example = bundle["dir"] / "ansible" / "inventories" / self.name / "hosts.yml"
        log = self.workdir / f"{phase}.log"
        process = subprocess.Popen([str(bundle["dir"] / "install.sh"), str(example), "-i", str(self.overlay)],
                                   cwd=self.workdir, env=self.env(log), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        started = time.monotonic()
        deadline = started + 900
        try:
            while at_task not in (log.read_text() if log.exists() else ""):
                assert process.poll() is None, f"install.sh ended before reaching {at_task!r}"
                assert time.monotonic() < deadline, f"install.sh did not reach {at_task!r}"
                time.sleep(0.2)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            self.figures[phase] = round(time.monotonic() - started, 1)

    def diagnose(self) -> str:
        """What the hosts' systemds say about failed units, for a failure message (a run's journal is gone after)."""
        parts = []
        for host in self.hosts:
            result = self.bench.ssh(host, "sudo systemctl --failed --no-legend --plain; for unit in $(sudo systemctl"
                                    " --failed --no-legend --plain | cut -d' ' -f1); do sudo journalctl -b"
                                    " --no-pager -n 40 -u $unit; done; sudo journalctl -b --no-pager -n 40 -u 'postgresql*'",
                                    check=False, timeout=60)
            parts.append(f"== {host}: failed units and their journals\n{result.stdout[-3000:]}{result.stderr[-500:]}")
        text = "\n".join(parts)
        (self.workdir / "diagnosis.txt").write_text(text)
        return text

    def smoke(self, bundle: dict, phase: str) -> dict:
        example = bundle["dir"] / "ansible" / "inventories" / self.name / "hosts.yml"
        cmd = [str(bundle["dir"] / "install.sh"), "--smoke", str(example), "-i", str(self.overlay), "--json"]
        if self.cafile:
            cmd += ["--cafile", str(self.cafile)]
        started = time.monotonic()
        result = subprocess.run(cmd, cwd=self.workdir, env=self.env(self.workdir / "smoke.log"),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
        self.figures[phase] = round(time.monotonic() - started, 1)
        (self.workdir / f"{phase}.json").write_text(result.stdout)
        report = json.loads(result.stdout)
        failed = [c for c in report["checks"] if not c["ok"]]
        assert result.returncode == 0 and report["ok"] and not failed, \
            f"{self.name} {phase}: {json.dumps(failed, indent=1)}\n{result.stderr[-2000:]}"
        return report

    def ssh(self, host: str, command: str, stdin: str | None = None) -> str:
        return self.bench.ssh(host, command, input=stdin).stdout

    def browser(self, host: str, tenant_host: str):
        smoke = load_deploy_module("smoke")
        context = smoke.ssl.create_default_context()
        if self.cafile:
            context.load_verify_locations(str(self.cafile))
        else:
            context.load_verify_locations(cadata=self.ssh(host, "sudo cat /etc/atrium/tls/atrium.crt"))
        return smoke.Browser(self.bench.hosts[host].address, PUBLIC_HOST, context, tenant_host)

    def configure_directory(self, slapd: BenchSlapd) -> None:
        """Give the extra tenant a directory on the test slapd, so that the smoke tests' dry run has one."""
        directory = Directory(slapd, "openldap")
        sales = directory.ou("Sales")
        directory.person("li.lei", "Li Lei", sales, email="li.lei@example.com", title="Account manager")
        directory.person("han.meimei", "Han Meimei", sales, email="han.meimei@example.com")
        directory.load()
        directory.close()
        settings = directory.settings(servers=[slapd.bench_uri], enabled=True, schedule_enabled=True)
        self.ssh(self.storage, "cat > /tmp/directory.toml && chmod 0644 /tmp/directory.toml", toml_text(settings))
        self.ssh(self.storage, f"sudo atrium ldap-config {EXTRA_TENANT['slug']} --from-file /tmp/directory.toml"
                 " --bind-password-stdin", SERVICE_PASSWORD + "\n")
        self.ssh(self.storage, "rm /tmp/directory.toml")

    def put_data(self) -> None:
        """A tenant with two people, a message and an attachment (stored on the storage host), to outlive the
        upgrade."""
        tenant_host = f"keep.{PUBLIC_HOST}"
        passwords = {login: secrets.token_urlsafe(12) for login in ("keep-a", "keep-b")}
        self.ssh(self.storage, f"sudo atrium tenant create keep --name 'Kept through upgrades' --host {tenant_host}")
        for login, password in passwords.items():
            self.ssh(self.storage, f"sudo atrium user create-admin keep {login} --password-stdin", password + "\n")
        a = self.browser(self.compute[0], tenant_host)
        a.login("keep-a", passwords["keep-a"])
        _status, _headers, page = a.request("GET", "/chat/")
        person = re.search(rb'<option value="(\d+)">[^<]*\(keep-b\)</option>', page).group(1).decode()
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        _status, headers, _body = a.request("POST", "/chat/new", {"kind": "direct", "person": person,
                                                                  "csrf_token": token})
        conversation = re.search(r"/chat/(\d+)", headers["location"]).group(1)
        attachment = secrets.token_hex(25_000).encode()
        boundary = uuid.uuid4().hex
        text = f"kept through the upgrade {secrets.token_hex(4)}"
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n{text}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="report.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n".encode(), attachment, f"\r\n--{boundary}--\r\n".encode()])
        conn = a._connection(30)
        try:
            conn.request("POST", f"/chat/{conversation}/messages", body=body, headers={
                "Host": tenant_host, "Accept": "application/json",
                "Cookie": f"atrium_session={a.cookies['atrium_session']}",
                "Content-Type": f"multipart/form-data; boundary={boundary}"})
            response = conn.getresponse()
            payload = json.loads(response.read())
        finally:
            conn.close()
        assert response.status == 201, payload
        self.kept = {"tenant_host": tenant_host, "passwords": passwords, "conversation": conversation,
                     "message": payload["id"], "text": text, "attachment": attachment}

    def check_data(self) -> None:
        """The message and the attachment put in before the upgrade, read through the last compute host."""
        kept = self.kept
        b = self.browser(self.compute[-1], kept["tenant_host"])
        b.login("keep-b", kept["passwords"]["keep-b"])
        status, _headers, body = b.request("GET", f"/chat/{kept['conversation']}/messages",
                                           headers={"Accept": "application/json"})
        assert status == 200
        texts = {m["id"]: m.get("text") for m in json.loads(body)["messages"]}
        assert texts.get(kept["message"]) == kept["text"], texts
        status, _headers, data = b.request("GET", f"/chat/{kept['conversation']}/attachments/{kept['message']}")
        assert status == 200 and data == kept["attachment"]

    def check_releases(self, old: str, new: str) -> None:
        for host in self.hosts:
            current = self.ssh(host, "readlink /opt/atrium/current").strip()
            releases = set(self.ssh(host, "ls /opt/atrium/releases").split())
            assert current == f"/opt/atrium/releases/{new}", (host, current)
            assert releases == {old, new}, (host, releases)
        backup = self.ssh(self.storage, f"sudo ls /var/backups/atrium/before-{new}").split()
        assert any(name.startswith("manifest") for name in backup), backup
        assert self.ssh(self.storage, "sudo atrium --version").strip().endswith(new)


def each(topologies: list[Topology], action) -> None:
    """Run an action on every topology, side by side unless asked not to; the first failure is raised."""
    if os.environ.get("INSTALLER_TEST_SEQUENTIAL"):
        for topology in topologies:
            action(topology)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(topologies)) as pool:
        for future in [pool.submit(action, t) for t in topologies]:
            future.result()


@pytest.mark.timeout(3600)
def test_install_rerun_smoke_upgrade_on_real_hosts(bundles, tmp_path, request):
    if os.geteuid() != 0:
        pytest.fail("the installer test boots Debian hosts with systemd-nspawn in network namespaces and needs"
                    " root; run the suite as root (sh deploy/test.sh), or deselect it with -m 'not installer'")
    testhosts = load_deploy_module("testhosts")
    started = time.monotonic()
    current, newer = bundles("current"), bundles("newer")
    figures: dict = {"bundle_seconds": current["seconds"], "newer_bundle_seconds": newer["seconds"]}
    bench = testhosts.TestBench([h for hosts in TOPOLOGIES.values() for h in hosts], tmp_path / "bench",
                                progress=lambda line: print(line, flush=True))
    boot_started = time.monotonic()
    with bench:
        figures["boot_seconds"] = round(time.monotonic() - boot_started, 1)
        slapd = BenchSlapd(bench.gateway).start()
        request.addfinalizer(slapd.stop)
        topologies = [Topology(name, bench, tmp_path, tmp_path / "cache") for name in TOPOLOGIES]

        def install_and_rerun(t: Topology) -> None:
            t.install(current, "install")
            second = recap(t.install(current, "rerun"))
            assert set(second) >= set(t.hosts), second
            assert all(second[h]["changed"] == 0 and second[h]["failed"] == 0 for h in t.hosts), \
                f"{t.name}: the second run changed something: {second}"

        each(topologies, install_and_rerun)

        def smoke_and_put_data(t: Topology) -> None:
            t.configure_directory(slapd)
            report = t.smoke(current, "smoke")
            names = {c["name"] for c in report["checks"]}
            assert {"services active", "ports listen only where they should", "residency report compliant",
                    "TLS served and /readyz ready through nginx", "directory sync dry run",
                    "brand stylesheet of tenant sakura",
                    "round trip: log in, post, receive over SSE, clean up"} <= names, names
            if t.name == "split":
                assert "no customer data at rest" in names
                trip = next(c for c in report["checks"] if c["name"].startswith("round trip"))
                assert "posted through web1, received through web2" in trip["detail"]
            dry_run = next(c for c in report["checks"] if c["name"] == "directory sync dry run")
            assert dry_run["detail"].startswith(f"{EXTRA_TENANT['slug']}: "), dry_run
            css = {c["detail"].split(": ")[1].split()[0] for c in report["checks"]
                   if c["name"].startswith("brand stylesheet")}
            assert len(css) == 2, f"the two tenants should carry different stylesheets: {css}"
            t.put_data()

        each(topologies, smoke_and_put_data)

        def upgrade(t: Topology) -> None:
            if t.name == "single":
                # Cut off after the backup, with the old release's services stopped: running the same command
                # again must finish the upgrade.
                t.cut_off(newer, "upgrade_cut_off", "TASK [atrium_app : Write Atrium's settings.]")
                assert "inactive" in t.ssh(t.storage, "systemctl is-active atrium-web || true")
            output = t.install(newer, "upgrade")
            changed = recap(output)
            assert all(changed[h]["failed"] == 0 for h in t.hosts)
            t.smoke(newer, "smoke_after_upgrade")
            t.check_data()
            t.check_releases(current["version"], newer["version"])

        each(topologies, upgrade)
        for t in topologies:
            figures[t.name] = t.figures
    figures["total_seconds"] = round(time.monotonic() - started, 1)
    figures["side_by_side"] = not os.environ.get("INSTALLER_TEST_SEQUENTIAL")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "installer-figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("installer figures (seconds):", json.dumps(figures, indent=2))
