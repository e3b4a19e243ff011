"""Directory sync benchmark: a generated org chart in a real slapd, synced into SQLite or PostgreSQL.

Run by hand from the repository root:

    .venv/bin/python bench/ldap_sync.py --sizes 10000,100000 --database sqlite

For each size it loads N people in N/20 departments (with managers) into a
throwaway slapd with slapadd, then prints, each phase measured in its own
process so peak memory is that phase's alone:

    bare read     a plain ldap3 paged search reading every person entry
    full sync     into an empty database
    re-sync       the same directory again, nothing changed
    incremental   after 1,000 entries changed

Targets: full sync within 2x the bare read, re-sync within 1.5x, incremental
under 5 s, peak RSS under 500 MB, and times growing linearly with N.
Everything it starts is stopped and every temporary directory removed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUFFIX = "dc=example,dc=com"
BASE = f"ou=bench,{SUFFIX}"
ORG = f"ou=org,{BASE}"
SERVICE_DN = f"cn=atrium,{BASE}"
SERVICE_PASSWORD = "bench-service-secret"
CHANGES = 1000


def generate(size: int) -> tuple[str, list[str]]:
    """LDIF of `size` people in size/20 departments three levels deep, and the people's DNs."""
    from tests.ldap.slapd import ldif

    rng = random.Random(size)
    n_depts = max(1, size // 20)
    entries = [(SUFFIX, {"objectClass": ["dcObject", "organization"], "dc": "example", "o": "Bench"}),
               (BASE, {"objectClass": "organizationalUnit", "ou": "bench"}),
               (ORG, {"objectClass": "organizationalUnit", "ou": "org"}),
               (SERVICE_DN, {"objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": "atrium",
                             "userPassword": SERVICE_PASSWORD})]
    dept_dns, dept_parent = [], []
    for i in range(n_depts):
        # 1/20 top level, the rest under an earlier department: a tree a few levels deep.
        parent = None if i < max(1, n_depts // 20) else rng.randrange(0, i)
        dept_parent.append(parent)
        dn = f"ou=Dept {i:05d},{dept_dns[parent] if parent is not None else ORG}"
        dept_dns.append(dn)
    heads = {}
    people_dns = []
    person_entries = []
    for n in range(size):
        dept = n % n_depts
        dn = f"uid=user{n:06d},{dept_dns[dept]}"
        head = heads.get(dept)
        if head is None:
            heads[dept] = dn
            parent = dept_parent[dept]
            manager = heads.get(parent) if parent is not None else None
        else:
            manager = head
        attrs = {"objectClass": "inetOrgPerson", "uid": f"user{n:06d}", "cn": f"User {n:06d}", "sn": f"{n:06d}",
                 "mail": f"user{n:06d}@bench.example", "title": rng.choice(["Engineer", "Manager", "Analyst", "Clerk"]),
                 "mobile": f"+86 138 {n:08d}", "employeeNumber": f"E{n:06d}", "userPassword": "x"}
        if manager:
            attrs["manager"] = manager
        person_entries.append((dn, attrs))
        people_dns.append(dn)
    for i, dn in enumerate(dept_dns):
        attrs = {"objectClass": ["organizationalUnit", "adUnit"], "ou": dn.split(",")[0][3:],
                 "departmentOrder": str(i % 10)}
        if i in heads:
            attrs["managedBy"] = heads[i]
        entries.append((dn, attrs))
    return ldif(entries + person_entries), people_dns


def settings_toml_values(uri: str) -> dict:
    return {"preset": "openldap", "servers": [uri], "bind_dn": SERVICE_DN, "user_base_dns": [BASE],
            "user_filter": "(objectClass=inetOrgPerson)", "department_source": "ou", "department_base_dn": ORG,
            "page_size": 1000, "receive_timeout": 120,
            "mapping": {"department_head": "managedBy", "department_order": "departmentOrder"}}


# --- phases, each run in its own process -----------------------------------------------------

def _app():
    from app import create_app
    from app.config import load_settings
    from app.db import db
    from app.instance import ensure_secret_key

    settings = load_settings()
    ensure_secret_key(settings)
    app = create_app(settings)
    ctx = app.app_context()
    ctx.push()
    db.connect(reuse_if_open=True)
    return app


def phase_prepare(uri: str) -> dict:
    from app import db as dbmod
    from app.org.ldap.config import save_config
    from app.tenancy.service import create_tenant

    _app()
    dbmod.upgrade()
    tenant = create_tenant("bench", "Bench Corp", is_default=True)
    save_config(tenant, settings_toml_values(uri), new_bind_password=SERVICE_PASSWORD)
    return {}


def phase_bare_read(uri: str) -> dict:
    import ldap3

    from app.org.ldap.presets import PRESETS

    p = PRESETS["openldap"]
    conn = ldap3.Connection(ldap3.Server(uri, get_info=ldap3.NONE), SERVICE_DN, SERVICE_PASSWORD, auto_bind=True,
                            read_only=True, return_empty_attributes=False, check_names=False)
    attributes = [p.id, p.login, p.name, p.email, p.mobile, p.title, p.employee_no, p.photo, p.manager, p.disabled,
                  p.changed]
    start = time.monotonic()
    count = 0
    for item in conn.extend.standard.paged_search(BASE, "(objectClass=inetOrgPerson)", attributes=attributes,
                                                  paged_size=1000, generator=True):
        if item.get("type") == "searchResEntry":
            count += 1
    elapsed = time.monotonic() - start
    conn.unbind()
    return {"seconds": elapsed, "entries": count}


def phase_sync(kind: str) -> dict:
    from app.org.ldap.sync import run_sync
    from app.tenancy.models import Tenant

    _app()
    tenant = Tenant.get(Tenant.slug == "bench")
    start = time.monotonic()
    result = run_sync(tenant, kind=kind, force=True)
    elapsed = time.monotonic() - start
    if result.run.status != "ok":
        raise SystemExit(f"sync {kind} ended {result.run.status}: {result.run.reason}")
    return {"seconds": elapsed, "counts": json.loads(result.run.counts)}


def run_phase(name: str, env: dict, *args: str) -> dict:
    """Run one phase in a fresh interpreter; returns its figures plus its peak RSS in MB."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, *args], env=env,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def change_entries(uri: str, dns: list[str], count: int) -> None:
    import ldap3

    from tests.ldap.slapd import ROOT_PASSWORD, root_dn

    conn = ldap3.Connection(ldap3.Server(uri, get_info=ldap3.NONE), root_dn(SUFFIX), ROOT_PASSWORD, auto_bind=True)
    for dn in random.Random(7).sample(dns, count):
        conn.modify(dn, {"title": [(ldap3.MODIFY_REPLACE, ["Changed title"])]})
    conn.unbind()


def bench_size(size: int, database: str, pg_server) -> dict:
    from tests.ldap.slapd import SlapdServer

    work = Path(tempfile.mkdtemp(prefix="atrium-bench-"))
    slapd = SlapdServer().configure()
    try:
        t0 = time.monotonic()
        text, dns = generate(size)
        slapd.load_offline(SUFFIX, text)
        del text
        slapd.start(bases=False)
        print(f"  loaded {size} people in {max(1, size // 20)} departments in {time.monotonic() - t0:.1f} s",
              file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_") and k != "DATABASE_URL"}
        env["ATRIUM_DATA_DIR"] = str(work / "data")
        env["ATRIUM_LOG_LEVEL"] = "WARNING"
        if database == "postgresql":
            name = f"bench_{size}"
            pg_server.execute(f"DROP DATABASE IF EXISTS {name}")
            pg_server.execute(f"CREATE DATABASE {name}")
            env["DATABASE_URL"] = pg_server.url(name)
        run_phase("prepare", env, slapd.uri)
        results = {"bare read": run_phase("bare_read", env, slapd.uri),
                   "full sync": run_phase("sync", env, "full"),
                   "re-sync": run_phase("sync", env, "full")}
        time.sleep(1.1)  # modifyTimestamp has one-second resolution: the changes must come after the mark
        change_entries(slapd.uri, dns, CHANGES)
        results["incremental"] = run_phase("sync", env, "incremental")
        return results
    finally:
        slapd.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of people")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.phase:
        figures = {"prepare": phase_prepare, "bare_read": phase_bare_read, "sync": phase_sync}[options.phase](
            *options.args)
        figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    pg_server = None
    if options.database == "postgresql":
        from tests.servers import PostgresServer
        pg_server = PostgresServer().start()
    try:
        report = {}
        for size in [int(s) for s in options.sizes.split(",")]:
            print(f"{size} people, {options.database}:", file=sys.stderr)
            report[size] = bench_size(size, options.database, pg_server)
    finally:
        if pg_server is not None:
            pg_server.stop()
    print(f"directory sync benchmark ({options.database}, {os.cpu_count()} CPUs)")
    print(f"{'people':>8} {'phase':<12} {'seconds':>8} {'x bare':>7} {'peak RSS MB':>12}  counts")
    for size, results in report.items():
        bare = results["bare read"]["seconds"]
        for phase, figures in results.items():
            counts = figures.get("counts", {})
            short = ", ".join(f"{k} {v}" for k, v in counts.items()
                              if k in ("read", "created", "updated", "unchanged", "problems"))
            print(f"{size:>8} {phase:<12} {figures['seconds']:>8.2f} {figures['seconds'] / bare:>7.2f} "
                  f"{figures['peak_rss_mb']:>12.0f}  {short}")
    if len(report) > 1:
        sizes = sorted(report)
        small, large = sizes[0], sizes[-1]
        for phase in ("bare read", "full sync", "re-sync"):
            ratio = report[large][phase]["seconds"] / report[small][phase]["seconds"]
            print(f"growth {small} -> {large} ({large / small:.0f}x people), {phase}: {ratio:.1f}x time")


if __name__ == "__main__":
    main()
