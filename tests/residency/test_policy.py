"""Residency settings and the policy: each way data could land outside the allowed sites stops a node with one line."""
import json

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import ConfigError, describe, load_settings
from app.residency import blobs, policy
from app.residency.models import Blob
from tests.conftest import make_settings
from tests.residency.conftest import install, sftp_settings, toml_text


def test_named_blob_store_tables_from_file_and_environment(tmp_path):
    path = tmp_path / "atrium.toml"
    path.write_text(toml_text({
        "residency": {"site": "cloud-eu", "role": "compute", "allowed_sites": ["hq"], "database_site": "hq",
                      "default_blob_store": "hq-files"},
        "blob_stores": {"hq-files": {"kind": "sftp", "site": "hq", "host": "files.hq.example", "user": "atrium",
                                     "path": "/srv/atrium", "private_key_file": "/etc/atrium/key",
                                     "host_key": "ssh-ed25519 AAAA"},
                        "archive": {"kind": "local", "path": "/srv/archive"}}}))
    env = {"ATRIUM_CONFIG": str(path), "ATRIUM_BLOB_STORES__HQ-FILES__PORT": "2222",
           "ATRIUM_RESIDENCY__ALLOWED_SITES": "hq, dc2"}
    settings = load_settings(environ=env)
    assert settings.residency.role == "compute" and settings.residency.allowed_sites == ["hq", "dc2"]
    hq = settings.blob_stores["hq-files"]
    assert (hq.kind, hq.host, hq.port, hq.operation_timeout) == ("sftp", "files.hq.example", 2222, 30)
    assert settings.blob_stores["archive"].path == "/srv/archive"
    keys = {row[0] for row in describe()}
    assert {"blob_stores.NAME.host_key", "residency.allowed_sites", "residency.role"} <= keys


@pytest.mark.parametrize("text, expected", [
    ('[blob_stores.hq]\nkind = "sftp"\nhots = "x"',
     "unknown key 'blob_stores.hq.hots' (did you mean 'blob_stores.hq.host'?)"),
    ('[blob_stores.hq]\nkind = "s3"', "blob_stores.hq.kind must be one of local, sftp, got 's3'"),
    ('[blob_stores.hq]\nport = "ssh"', "blob_stores.hq.port: expected a whole number"),
    ('[blob_stores.hq]\nconnect_timeout = 0', "blob_stores.hq.connect_timeout must be at least 1"),
    ('[blob_stores."Bad Name"]\nkind = "local"', "blob_stores.Bad Name: a name is 1-64 lower-case letters"),
    ('blob_stores = 3', "blob_stores: expected named tables like [blob_stores.NAME]"),
    ('[blob_stores]\nhq = 3', "blob_stores.hq: expected a table of settings"),
    ('[residency]\nrole = "worker"', "residency.role must be one of all, storage, compute"),
    ('[residency]\nallowed_sites = "hq"', "residency.allowed_sites: expected a list of texts"),
])
def test_malformed_residency_settings_name_file_and_key(tmp_path, text, expected):
    path = tmp_path / "atrium.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"ATRIUM_CONFIG": str(path)})
    assert str(info.value).startswith(str(path)) and expected in str(info.value)


def test_the_embedded_default_is_compliant(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/a.db")
    assert policy.check_settings(settings) == []
    assert list(policy.effective_stores(settings)) == ["local"]
    assert policy.effective_stores(settings)["local"].path == str(tmp_path / "blobs")


# --- refusal cases: one line, `atrium serve` exits 2, /readyz answers 503 ---------------------------------

def _case_store_outside(sshd, pg):
    return pg, {"residency": {"site": "hq", "allowed_sites": ["hq"], "default_blob_store": "local"},
                "blob_stores": {"local": {"kind": "local"}, "cloud-tmp": {"kind": "local", "site": "cloud-eu"}}}


def _case_database_outside(sshd, pg):
    return pg, {"residency": {"site": "hq", "allowed_sites": ["hq"], "database_site": "cloud-eu"}}


def _case_compute_with_local_store(sshd, pg):
    return pg, {"residency": {"site": "cloud", "role": "compute", "allowed_sites": ["hq"], "database_site": "hq"}}


def _case_compute_with_sqlite(sshd, pg):
    return None, {"residency": {"site": "cloud", "role": "compute", "allowed_sites": ["hq"]},
                  "blob_stores": {"hq": sftp_settings(sshd, sshd.new_root())}}


def _case_sftp_without_host_key(sshd, pg):
    return None, {"blob_stores": {"hq": sftp_settings(sshd, sshd.new_root(), site="local", host_key="")}}


def _case_unknown_store_for_tenant(sshd, pg):
    return None, {}


CASES = {
    "store outside the allowed sites": (_case_store_outside,
                                        "residency: blob store 'cloud-tmp' is in site 'cloud-eu', which may not hold"
                                        " data (allowed: hq)"),
    "database outside the allowed sites": (_case_database_outside,
                                           "residency: the database is in site 'cloud-eu', which may not hold data"
                                           " (allowed: hq)"),
    "compute node with a local store": (_case_compute_with_local_store,
                                        "residency: blob store 'local' is a directory on this node, but this node's"
                                        " role is compute (it keeps no customer data)"),
    "compute node with SQLite": (_case_compute_with_sqlite,
                                 "residency: this node's role is compute (it keeps no customer data), but its"
                                 " database is SQLite on this node: use PostgreSQL in a site that may hold data"),
    "sftp store without a pinned host key": (_case_sftp_without_host_key,
                                             "residency: blob store 'hq' (sftp) has no pinned host key: set host_key"
                                             " to the storage host's public key (ssh-keyscan -t ed25519 HOST)"),
    "unknown store name for a tenant": (_case_unknown_store_for_tenant,
                                        "residency: tenant 'acme' is pinned to blob store 'gone', which is not"
                                        " configured"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_policy_refusals(case, tmp_path, sshd, request):
    build, line = CASES[case]
    on_postgres = ("store outside the allowed sites", "database outside the allowed sites",
                   "compute node with a local store")
    pg = request.getfixturevalue("pg_url") if case in on_postgres else None
    url, overrides = build(sshd, pg)
    url = url or f"sqlite:///{tmp_path}/atrium.db"
    data_dir = tmp_path / "data"
    config = tmp_path / "atrium.toml"
    config.write_text(toml_text({"data_dir": str(data_dir), "database_url": url, **overrides}))
    env = {"ATRIUM_CONFIG": str(config)}
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    assert runner.invoke(main, ["tenant", "create", "acme", "--name", "Acme"], env=env).exit_code == 0
    if case == "unknown store name for a tenant":
        install(data_dir, url)
        from app.tenancy.models import Tenant
        Tenant.update(blob_store="gone").execute()

    served = runner.invoke(main, ["serve"], env=env)
    assert served.exit_code == 2, served.output
    assert served.output.strip().splitlines() == [f"error: {line}"]

    app = install(data_dir, url, **overrides)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["reason"] == line
    assert ready.json["residency"]["status"] == "violation"
    if case == "compute node with a local store":
        assert not (data_dir / "blobs").exists()        # a barred local store is not even created
    report = runner.invoke(main, ["residency", "report", "--json"], env=env)
    assert report.exit_code == 1 and json.loads(report.output)["compliant"] is False


def test_readyz_reports_residency_when_all_is_well(client, tenant):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["residency"] == {"status": "ok", "site": "local", "role": "all", "stores": {"local": "ok"},
                                          "problems": []}


def test_readyz_503_when_a_store_is_unreachable(tmp_path, sshd):
    root = sshd.new_root()
    app = install(tmp_path / "data", f"sqlite:///{tmp_path}/a.db",
                  blob_stores={"hq": sftp_settings(sshd, root, site="local", port=1)})
    from app import db as dbmod
    dbmod.upgrade()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["residency"]["stores"] == {"hq": "unreachable"}
    assert "blob store 'hq' is unreachable: blob store 'hq' (127.0.0.1:1): cannot reach the storage host" in \
        response.json["reason"]


def test_a_barred_store_receives_nothing(tmp_path):
    """Even a command run on a misconfigured node cannot put a file where the policy forbids it."""
    app = install(tmp_path / "data", f"sqlite:///{tmp_path}/a.db",
                  residency={"site": "hq", "default_blob_store": "eu"},
                  blob_stores={"eu": {"kind": "local", "site": "cloud-eu", "path": str(tmp_path / "eu")}})
    from app import db as dbmod
    from app.tenancy.service import create_tenant
    with app.app_context():
        dbmod.upgrade()
        tenant = create_tenant("acme", "Acme")
        assert tenant.blob_store == "eu"
        with pytest.raises(blobs.BlobError, match="blob store eu may not receive data: blob store 'eu' is in site"):
            blobs.save_blob(tenant, b"data", "text/plain")
        assert Blob.select().count() == 0 and not (tmp_path / "eu").exists()


def test_tenants_are_pinned_to_a_configured_store(run_cli):
    assert run_cli("init").exit_code == 0
    made = run_cli("tenant", "create", "acme", "--name", "Acme", "--json")
    assert json.loads(made.output)["blob_store"] == "local"
    made = run_cli("tenant", "create", "globex", "--name", "Globex", "--blob-store", "archive", "--json")
    assert json.loads(made.output)["blob_store"] == "archive"
    refused = run_cli("tenant", "create", "initech", "--name", "Initech", "--blob-store", "nowhere")
    assert refused.exit_code == 2 and "blob_store: There is no blob store named nowhere." in refused.output


@pytest.fixture
def run_cli(tmp_path):
    """`atrium` on SQLite with two local stores."""
    config = tmp_path / "atrium.toml"
    config.write_text(toml_text({"data_dir": str(tmp_path / "data"),
                                 "residency": {"default_blob_store": "local"},
                                 "blob_stores": {"local": {"kind": "local"},
                                                 "archive": {"kind": "local", "path": str(tmp_path / "archive")}}}))

    def invoke(*args):
        return CliRunner().invoke(main, list(args), env={"ATRIUM_CONFIG": str(config)})

    return invoke
