#!/usr/bin/env python3
"""Smoke tests of an Atrium installation, from the machine that ran the installer.

    python smoke.py -i INVENTORY [-i MORE] [--json]
    ./install.sh --smoke INVENTORY            (the same, with the bundle's tools)

Reads the inventory as Ansible does (ansible-inventory), logs in to every host over SSH (paramiko, with the
inventory's user, key and known-hosts file; unknown host keys are refused) and talks HTTPS to the compute hosts.
It checks that the services run; that ports listen only where they should (gunicorn on loopback, PostgreSQL on
the storage host's loopback and private address, nginx on the compute hosts); /readyz through nginx over
verified TLS; the residency report of every host and that compute hosts keep no customer data; a directory sync
dry run for every tenant with a directory; every tenant's brand stylesheet; and a round trip: two people of a
throwaway tenant log in, one posts a message through one compute host, the other receives it over Server-Sent
Events through another, and the tenant is deleted again. Exit code 0 only when every check passes.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path

import paramiko

TIMEOUT = 15.0


@dataclass
class Check:
    """One check's outcome: what was checked, where, and what was seen."""

    name: str
    host: str
    ok: bool
    detail: str = ""


@dataclass
class Host:
    """A host of the inventory with what the checks need to know about it."""

    name: str
    address: str
    groups: set[str]
    vars: dict
    client: paramiko.SSHClient | None = None

    @property
    def stores(self) -> bool:
        return "atrium_storage" in self.groups

    @property
    def computes(self) -> bool:
        return "atrium_compute" in self.groups


class SmokeError(RuntimeError):
    """The smoke tests cannot run at all (no inventory, no SSH); the message says why."""


# --- the inventory and SSH -------------------------------------------------------------------------

def load_inventory(sources: list[str], ansible_inventory: str) -> list[Host]:
    """The hosts of groups atrium_storage and atrium_compute with their variables, as Ansible sees them."""
    # Ansible refuses a non-blocking standard input, which an ssh started elsewhere may leave behind.
    result = subprocess.run([ansible_inventory, *[arg for s in sources for arg in ("-i", s)], "--list"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        raise SmokeError(f"ansible-inventory failed: {result.stderr.strip()[-500:]}")
    data = json.loads(result.stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})

    def members(group: str, seen=None) -> list[str]:
        seen = seen or set()
        entry = data.get(group, {})
        found = list(entry.get("hosts", []))
        for child in entry.get("children", []):
            if child not in seen:
                seen.add(child)
                found += members(child, seen)
        return found

    groups = {g: set(members(g)) for g in ("atrium_storage", "atrium_compute")}
    names = sorted(groups["atrium_storage"] | groups["atrium_compute"])
    if len(groups["atrium_storage"]) != 1 or not groups["atrium_compute"]:
        raise SmokeError("the inventory needs one host in atrium_storage and at least one in atrium_compute")
    hosts = []
    for name in names:
        hv = hostvars.get(name, {})
        address = hv.get("atrium_private_address") or hv.get("ansible_host") or name
        hosts.append(Host(name, address, {g for g, m in groups.items() if name in m}, hv))
    return hosts


def _known_hosts_file(host: Host, override: str | None) -> str:
    if override:
        return override
    args = shlex.split(str(host.vars.get("ansible_ssh_common_args", "")) + " "
                       + str(host.vars.get("ansible_ssh_extra_args", "")))
    for i, arg in enumerate(args):
        option = args[i + 1] if arg == "-o" and i + 1 < len(args) else arg[2:] if arg.startswith("-o") else ""
        key, _, value = option.partition("=")
        if key.lower() == "userknownhostsfile":
            return os.path.expanduser(value)
    return os.path.expanduser("~/.ssh/known_hosts")


def connect(host: Host, known_hosts: str | None) -> None:
    """Log in over SSH as Ansible would, refusing a host key that is not already known."""
    client = paramiko.SSHClient()
    known = _known_hosts_file(host, known_hosts)
    if os.path.exists(known):
        client.load_host_keys(known)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key_file = host.vars.get("ansible_ssh_private_key_file") or host.vars.get("ansible_private_key_file")
    try:
        client.connect(host.address, port=int(host.vars.get("ansible_port", 22)),
                       username=host.vars.get("ansible_user") or os.environ.get("USER") or "root",
                       key_filename=os.path.expanduser(key_file) if key_file else None,
                       timeout=TIMEOUT, banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    except (OSError, paramiko.SSHException) as exc:
        raise SmokeError(f"cannot log in to {host.name} ({host.address}) over SSH: {type(exc).__name__}: {exc}"
                         f" (known hosts: {known})") from None
    host.client = client


def run(host: Host, command: str, stdin: str | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run a command on the host with sudo; returns (exit code, stdout, stderr)."""
    chan_in, chan_out, chan_err = host.client.exec_command(f"sudo -n {command}", timeout=timeout)
    if stdin is not None:
        chan_in.write(stdin)
        chan_in.channel.shutdown_write()
    out = chan_out.read().decode(errors="replace")
    err = chan_err.read().decode(errors="replace")
    return chan_out.channel.recv_exit_status(), out, err


# --- HTTPS ---------------------------------------------------------------------------------------

class Browser:
    """A minimal HTTPS client for one compute host: a tenant's Host header, verified TLS, a cookie jar."""

    def __init__(self, address: str, server_name: str, context: ssl.SSLContext, host_header: str):
        self.address, self.server_name, self.context, self.host_header = address, server_name, context, host_header
        self.cookies: dict[str, str] = {}

    def _connection(self, timeout: float) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection(self.address, 443, timeout=timeout, context=self.context)
        # Connect to the address, but verify the certificate against the public name (SNI too).
        conn.sock = self.context.wrap_socket(socket.create_connection((self.address, 443), timeout=timeout),
                                             server_hostname=self.server_name)
        return conn

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None,
                timeout: float = TIMEOUT) -> tuple[int, dict, bytes]:
        conn = self._connection(timeout)
        try:
            all_headers = {"Host": self.host_header, "User-Agent": "atrium-smoke"}
            if self.cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form, doseq=True)
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            all_headers.update(headers or {})
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            self._keep_cookies(response)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def _keep_cookies(self, response) -> None:
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val:
                    self.cookies[key.strip()] = val.strip()
                else:
                    self.cookies.pop(key.strip(), None)

    def csrf(self, path: str) -> str:
        status, _headers, body = self.request("GET", path)
        match = re.search(rb'name="csrf_token" value="([^"]+)"', body)
        if status != 200 or not match:
            raise AssertionError(f"GET {path} answered {status} without a form token")
        return match.group(1).decode()

    def login(self, login: str, password: str) -> None:
        token = self.csrf("/login")
        status, _headers, _body = self.request("POST", "/login", {"login": login, "password": password,
                                                                  "csrf_token": token})
        if status not in (302, 303) or "atrium_session" not in self.cookies:
            raise AssertionError(f"logging in as {login} answered {status}")

    def open_stream(self, path: str, timeout: float):
        """A live GET for Server-Sent Events; returns the open connection and response."""
        conn = self._connection(timeout)
        headers = {"Host": self.host_header, "Accept": "text/event-stream", "User-Agent": "atrium-smoke",
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        conn.request("GET", path, headers=headers)
        return conn, conn.getresponse()


def tls_context(host: Host, cafile: str | None) -> tuple[ssl.SSLContext, str]:
    """A context that verifies the host's certificate: against --cafile, the system's CAs for a customer's
    certificate, or the host's own self-signed certificate (read over SSH)."""
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile)
        return context, f"verified against {cafile}"
    if host.vars.get("atrium_proxy_tls_certificate"):
        return context, "verified against the system's certificate authorities"
    rc, pem, err = run(host, "cat /etc/atrium/tls/atrium.crt")
    if rc != 0 or "BEGIN CERTIFICATE" not in pem:
        raise AssertionError(f"cannot read the host's certificate: {err.strip()[:200]}")
    context.load_verify_locations(cadata=pem)
    return context, "verified against the host's self-signed certificate"


# --- the checks ----------------------------------------------------------------------------------

class Smoke:
    """Runs every check against the hosts and collects the outcomes."""

    def __init__(self, hosts: list[Host], cafile: str | None):
        self.hosts = hosts
        self.cafile = cafile
        self.checks: list[Check] = []
        self.storage = next(h for h in hosts if h.stores)
        self.compute = [h for h in hosts if h.computes]
        first = self.storage.vars
        self.public_host = first.get("atrium_public_host", "")
        self.app_port = int(first.get("atrium_app_port", 8000))
        self.db_port = int(first.get("atrium_database_port", 5432))
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.tenants: list[dict] = []

    def attempt(self, name: str, host: str, func) -> Check:
        """Run one check function: it returns the detail on success and raises AssertionError on failure."""
        try:
            detail = func()
        except AssertionError as exc:
            return Check(name, host, False, str(exc))
        except (OSError, ssl.SSLError, http.client.HTTPException, paramiko.SSHException, ValueError) as exc:
            return Check(name, host, False, f"{type(exc).__name__}: {exc}")
        return Check(name, host, True, detail or "")

    def run_all(self) -> list[Check]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
            for checks in pool.map(self.host_checks, self.hosts):
                self.checks += checks
        tenants = self.attempt("tenants listed", self.storage.name, self.list_tenants)
        self.checks.append(tenants)
        if tenants.ok:
            self.checks.append(self.attempt("directory sync dry run", self.ldap_host().name, self.ldap_dry_runs))
            for tenant in self.tenants:
                for host in self.compute:
                    self.checks.append(self.attempt(f"brand stylesheet of tenant {tenant['slug']}", host.name,
                                                    lambda h=host, t=tenant: self.brand_css(h, t)))
        self.checks.append(self.attempt("round trip: log in, post, receive over SSE, clean up",
                                        " -> ".join(dict.fromkeys([self.compute[0].name, self.compute[-1].name])),
                                        self.round_trip))
        return self.checks

    # -- per host ----------------------------------------------------------------------------

    def host_checks(self, host: Host) -> list[Check]:
        checks = [self.attempt("services active", host.name, lambda: self.services(host)),
                  self.attempt("ports listen only where they should", host.name, lambda: self.ports(host)),
                  self.attempt("residency report compliant", host.name, lambda: self.residency(host))]
        if host.computes and not host.stores:
            checks.append(self.attempt("no customer data at rest", host.name, lambda: self.no_data(host)))
        if host.computes:
            checks.append(self.attempt("TLS served and /readyz ready through nginx", host.name,
                                       lambda: self.ready(host)))
            checks.append(self.attempt("gunicorn unreachable from outside", host.name,
                                       lambda: self.gunicorn_closed(host)))
        return checks

    def services(self, host: Host) -> str:
        expected = []
        if host.stores:
            expected += ["postgresql.service", "atrium-backup.timer"]
        if host.computes:
            expected += ["atrium-web.service", "nginx.service"]
        _rc, out, _err = run(host, "systemctl list-unit-files --no-legend --plain 'atrium-*'")
        installed = {line.split()[0] for line in out.splitlines() if line.strip()}
        if host.computes and "atrium-worker.service" in installed:
            expected.append("atrium-worker.service")
        if "atrium-ldap-sync.timer" in installed:
            expected.append("atrium-ldap-sync.timer")
        rc, out, _err = run(host, "systemctl is-active " + " ".join(expected))
        states = dict(zip(expected, out.split()))
        down = [f"{unit} is {state}" for unit, state in states.items() if state != "active"]
        if rc != 0 or down or len(states) != len(expected):
            raise AssertionError("; ".join(down) or out.strip())
        return ", ".join(expected)

    def listening(self, host: Host) -> list[tuple[str, int]]:
        rc, out, err = run(host, "ss -Hltn")
        if rc != 0:
            raise AssertionError(f"ss failed: {err.strip()}")
        found = []
        for line in out.splitlines():
            local = line.split()[3]
            address, _, port = local.rpartition(":")
            found.append((address.strip("[]").split("%")[0], int(port)))
        return found

    def ports(self, host: Host) -> str:
        sockets = self.listening(host)

        def on(port: int) -> list[str]:
            return sorted({address for address, number in sockets if number == port})

        problems, seen = [], []
        loopback = {"127.0.0.1", "::1"}
        if host.computes:
            if not on(self.app_port) or set(on(self.app_port)) - loopback:
                problems.append(f"gunicorn ({self.app_port}) listens on {on(self.app_port) or 'nothing'},"
                                " not loopback only")
            for port in (443, 80):
                if not on(port):
                    problems.append(f"nothing listens on {port}")
            seen += [f"gunicorn on {', '.join(on(self.app_port))}:{self.app_port}", "nginx on 443 and 80"]
        elif on(self.app_port) or on(443):
            problems.append(f"a storage-only host serves ({self.app_port}: {on(self.app_port)}, 443: {on(443)})")
        if host.stores:
            allowed = loopback | ({host.address} if any(not h.stores for h in self.compute) else set())
            db = on(self.db_port)
            if not db:
                problems.append(f"PostgreSQL does not listen on {self.db_port}")
            elif set(db) - allowed:
                problems.append(f"PostgreSQL listens on {', '.join(db)}; allowed: {', '.join(sorted(allowed))}")
            seen.append(f"PostgreSQL on {', '.join(db)}")
        elif on(self.db_port):
            problems.append(f"a compute host listens on PostgreSQL's port {self.db_port}")
        if problems:
            raise AssertionError("; ".join(problems))
        return "; ".join(seen)

    def residency(self, host: Host) -> str:
        rc, out, err = run(host, "atrium residency report --json")
        try:
            report = json.loads(out)
        except ValueError:
            raise AssertionError(f"exit {rc}: {(err or out).strip()[:300]}") from None
        expected_role = "all" if host.stores and host.computes else "storage" if host.stores else "compute"
        if report.get("role") != expected_role:
            raise AssertionError(f"role is {report.get('role')}, expected {expected_role}")
        if rc != 0 or not report.get("compliant"):
            problems = report.get("problems", []) + [p for t in report.get("tenants", []) for p in t["problems"]]
            raise AssertionError("not compliant: " + "; ".join(problems)[:500])
        return (f"role {report['role']} in site {report['site']}; data in {', '.join(report['allowed_sites'])};"
                f" {len(report.get('tenants', []))} tenant(s) compliant")

    def no_data(self, host: Host) -> str:
        data_dir = host.vars.get("atrium_data_dir", "/var/lib/atrium")
        files_dir = host.vars.get("atrium_files_dir", "/srv/atrium/files")
        script = (f"for d in {shlex.quote(data_dir)} {shlex.quote(files_dir)} /var/lib/postgresql "
                  "/var/backups/atrium; do [ -e \"$d\" ] && find \"$d\" -mindepth 1 -print -quit | sed \"s|^|$d: |\";"
                  " done; true")
        _rc, out, _err = run(host, f"sh -c {shlex.quote(script)}")
        if out.strip():
            raise AssertionError("data found on a compute host: " + out.strip().replace("\n", "; ")[:300])
        return f"nothing in {data_dir}, {files_dir}, /var/lib/postgresql, /var/backups/atrium"

    def context_for(self, host: Host) -> tuple[ssl.SSLContext, str]:
        context, how = tls_context(host, self.cafile)
        self.contexts[host.name] = context
        return context, how

    def ready(self, host: Host) -> str:
        context, how = self.context_for(host)
        browser = Browser(host.address, self.public_host, context, self.public_host)
        status, _headers, body = browser.request("GET", "/readyz")
        if status != 200 or json.loads(body).get("status") != "ready":
            raise AssertionError(f"/readyz answered {status}: {body[:300].decode(errors='replace')}")
        sock = context.wrap_socket(socket.create_connection((host.address, 443), timeout=TIMEOUT),
                                   server_hostname=self.public_host)
        try:
            cert = sock.getpeercert()
            version = sock.version()
        finally:
            sock.close()
        days = (ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) / 86400
        if days < 14:
            raise AssertionError(f"the certificate expires in {days:.0f} days")
        redirect = http.client.HTTPConnection(host.address, 80, timeout=TIMEOUT)
        try:
            redirect.request("GET", "/readyz", headers={"Host": self.public_host})
            response = redirect.getresponse()
            location = response.getheader("Location", "")
        finally:
            redirect.close()
        if response.status != 301 or not location.startswith("https://"):
            raise AssertionError(f"port 80 answered {response.status} {location!r}, not a redirect to https")
        return f"{version}, certificate for {self.public_host} {how}, valid {days:.0f} more days; /readyz ready"

    def gunicorn_closed(self, host: Host) -> str:
        try:
            socket.create_connection((host.address, self.app_port), timeout=3).close()
        except OSError:
            return f"{host.address}:{self.app_port} refuses connections"
        raise AssertionError(f"{host.address}:{self.app_port} accepts connections from outside")

    # -- the install as a whole --------------------------------------------------------------

    def list_tenants(self) -> str:
        rc, out, err = run(self.storage, "atrium tenant list --json")
        if rc != 0:
            raise AssertionError((err or out).strip()[:300])
        self.tenants = json.loads(out)
        return ", ".join(t["slug"] for t in self.tenants) or "no tenants"

    def ldap_host(self) -> Host:
        configured = self.storage.vars.get("atrium_app_ldap_sync_host")
        return next((h for h in self.compute if h.name == configured), self.compute[0])

    def ldap_dry_runs(self) -> str:
        host = self.ldap_host()
        done, problems = [], []
        for tenant in self.tenants:
            slug = tenant["slug"]
            rc, _out, _err = run(host, f"atrium ldap-config {shlex.quote(slug)} --show --json")
            if rc != 0:
                continue   # no directory configured for this tenant
            rc, out, err = run(host, f"atrium ldap-sync {shlex.quote(slug)} --dry-run --json", timeout=600)
            try:
                result = json.loads(out)
            except ValueError:
                problems.append(f"{slug}: exit {rc}: {(err or out).strip()[:200]}")
                continue
            if rc != 0 or result.get("status") != "ok":
                problems.append(f"{slug}: {result.get('status')} {result.get('reason') or ''}".strip())
            else:
                done.append(f"{slug}: {json.dumps(result.get('counts', {}))}")
        if problems:
            raise AssertionError("; ".join(problems))
        return "; ".join(done) if done else "no tenant has a directory configured: nothing to sync"

    def brand_css(self, host: Host, tenant: dict) -> str:
        names = tenant.get("hosts") or ([self.public_host] if tenant.get("default") else [])
        if not names:
            return "the tenant has no host name to reach it by"
        context = self.contexts.get(host.name) or self.context_for(host)[0]
        browser = Browser(host.address, self.public_host, context, names[0])
        status, _headers, body = browser.request("GET", "/login")
        match = re.search(rb'href="(/brand/[0-9a-f]+\.css)"', body)
        if status != 200 or not match:
            raise AssertionError(f"the login page for {names[0]} answered {status} without a brand stylesheet")
        path = match.group(1).decode()
        status, headers, css = browser.request("GET", path)
        if status != 200 or "text/css" not in headers.get("content-type", "") or b"--" not in css:
            raise AssertionError(f"{path} answered {status} {headers.get('content-type')}")
        return f"{names[0]}: {path} ({len(css)} bytes)"

    def round_trip(self) -> str:
        """Two people of a throwaway tenant: A posts through the first compute host, B receives it over SSE
        through the last one (another host when there are several); the tenant is deleted afterwards."""
        slug = f"smoke-{secrets.token_hex(4)}"
        tenant_host = f"{slug}.{self.public_host}"
        people = {name: secrets.token_urlsafe(18) for name in ("smoke-a", "smoke-b")}
        storage = self.storage
        rc, out, err = run(storage, f"atrium tenant create {slug} --name 'Smoke test' --host {tenant_host}")
        if rc != 0:
            raise AssertionError(f"cannot create the throwaway tenant: {(err or out).strip()[:300]}")
        try:
            for login, password in people.items():
                rc, out, err = run(storage, f"atrium user create-admin {slug} {login} --password-stdin",
                                   stdin=password + "\n")
                if rc != 0:
                    raise AssertionError(f"cannot create {login}: {(err or out).strip()[:300]}")
            sender_host, receiver_host = self.compute[0], self.compute[-1]
            a = Browser(sender_host.address, self.public_host,
                        self.contexts.get(sender_host.name) or self.context_for(sender_host)[0], tenant_host)
            b = Browser(receiver_host.address, self.public_host,
                        self.contexts.get(receiver_host.name) or self.context_for(receiver_host)[0], tenant_host)
            a.login("smoke-a", people["smoke-a"])
            b.login("smoke-b", people["smoke-b"])
            status, _headers, page = a.request("GET", "/chat/")
            match = re.search(rb'<option value="(\d+)">[^<]*\(smoke-b\)</option>', page)
            if status != 200 or not match:
                raise AssertionError(f"the chat page answered {status} without smoke-b to write to")
            token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
            status, headers, _body = a.request("POST", "/chat/new", {"kind": "direct", "person": match.group(1),
                                                                     "csrf_token": token})
            conversation = re.search(r"/chat/(\d+)", headers.get("location", ""))
            if status not in (302, 303) or not conversation:
                raise AssertionError(f"opening the direct chat answered {status}")
            conn, stream = b.open_stream("/events", timeout=20)
            try:
                if stream.status != 200 or "text/event-stream" not in (stream.getheader("Content-Type") or ""):
                    raise AssertionError(f"/events answered {stream.status}")
                nonce = secrets.token_hex(8)
                started = time.monotonic()
                status, _headers, body = a.request(
                    "POST", f"/chat/{conversation.group(1)}/messages",
                    {"text": f"smoke test {nonce}", "csrf_token": token}, headers={"Accept": "application/json"})
                if status != 201:
                    raise AssertionError(f"posting answered {status}: {body[:200].decode(errors='replace')}")
                message_id = json.loads(body).get("id")
                frame = self._wait_for(stream, nonce, deadline=time.monotonic() + 20)
                latency = time.monotonic() - started
            finally:
                conn.close()
            if frame is None:
                raise AssertionError(f"message {message_id} did not arrive over SSE within 20 s")
            via = (f"posted through {sender_host.name}, received through {receiver_host.name}"
                   if sender_host is not receiver_host else f"through {sender_host.name}")
            return f"message {message_id} {via} in {latency:.2f} s; tenant {slug} deleted"
        finally:
            rc, out, err = run(storage, f"atrium tenant delete {slug} --yes")
            if rc != 0:
                raise AssertionError(f"the throwaway tenant {slug} could not be deleted: {(err or out).strip()[:300]}")

    @staticmethod
    def _wait_for(stream, nonce: str, deadline: float) -> str | None:
        """Read SSE frames until one carries the nonce; None at the deadline (the socket's own timeout bounds
        each read)."""
        buffer = b""
        while time.monotonic() < deadline:
            try:
                chunk = stream.read1(65536)
            except TimeoutError:
                return None
            if not chunk:
                return None
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                text = frame.decode(errors="replace")
                if "event: message" in text and nonce in text:
                    return text
        return None


# --- the report ----------------------------------------------------------------------------------

def report_text(checks: list[Check], hosts: list[Host]) -> str:
    storage = [h.name for h in hosts if h.stores]
    compute = [h.name for h in hosts if h.computes]
    lines = [f"Atrium smoke tests: storage {', '.join(storage)}; compute {', '.join(compute)}", ""]
    width = max(len(c.host) for c in checks) if checks else 10
    for check in checks:
        lines.append(f"{'PASS' if check.ok else 'FAIL'}  {check.host:<{width}}  {check.name}: {check.detail}")
    passed = sum(c.ok for c in checks)
    lines += ["", f"{passed} passed, {len(checks) - passed} failed"]
    return "\n".join(lines)


def default_ansible_inventory() -> str:
    beside = Path(sys.executable).parent / "ansible-inventory"
    return str(beside) if beside.exists() else (shutil.which("ansible-inventory") or "ansible-inventory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", action="append", required=True, help="inventory (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--cafile", help="CA certificates to verify the compute hosts' TLS certificate with")
    parser.add_argument("--known-hosts", help="known-hosts file (default: the inventory's, else ~/.ssh/known_hosts)")
    parser.add_argument("--ansible-inventory", default=default_ansible_inventory(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    hosts: list[Host] = []
    try:
        hosts = load_inventory(args.inventory, args.ansible_inventory)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(hosts)) as pool:
            list(pool.map(lambda h: connect(h, args.known_hosts), hosts))
        checks = Smoke(hosts, args.cafile).run_all()
    except SmokeError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc), "checks": []}, indent=2))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for host in hosts:
            if host.client is not None:
                host.client.close()
    ok = bool(checks) and all(c.ok for c in checks)
    if args.json:
        print(json.dumps({"ok": ok, "passed": sum(c.ok for c in checks), "failed": sum(not c.ok for c in checks),
                          "seconds": round(time.monotonic() - started, 1),
                          "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        print(report_text(checks, hosts))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
