"""`atrium residency report` and the admin page: rows per table, files per store, the verdict."""
import json

from click.testing import CliRunner

from app.cli import main
from app.residency.blobs import save_blob
from app.residency.models import Blob
from app.residency.report import build_report
from tests.conftest import login, make_person
from tests.residency.conftest import fill_tenant, install, toml_text


def test_report_counts_rows_and_files_per_tenant(app, tenant, other_tenant):
    fill_tenant(tenant)
    save_blob(other_tenant, b"one file", "text/plain")
    report = build_report(app.config["ATRIUM"])
    assert report.compliant and report.problems == []
    acme, globex = report.tenants
    assert acme.slug == "acme" and acme.rows["person"] == 3 and acme.rows["department"] == 2
    assert acme.rows["brand_asset"] > 0 and acme.blob_store == "local"
    count, size = acme.files["local"]
    assert count == Blob.select().where(Blob.tenant == tenant).count() and size > 0
    assert globex.rows["person"] == 0 and globex.files == {"local": (1, 8)}
    assert report.as_dict()["tenants"][0]["files"]["local"]["count"] == count


def test_the_command_exits_1_when_not_compliant(tmp_path):
    config = tmp_path / "atrium.toml"
    config.write_text(toml_text({"data_dir": str(tmp_path / "data")}))
    env = {"ATRIUM_CONFIG": str(config)}
    runner = CliRunner()
    runner.invoke(main, ["init"], env=env)
    runner.invoke(main, ["tenant", "create", "acme", "--name", "Acme"], env=env)
    ok = runner.invoke(main, ["residency", "report"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "tenant acme (Acme): compliant" in ok.output and ok.output.strip().endswith("verdict: compliant")

    install(tmp_path / "data", f"sqlite:///{tmp_path}/data/atrium.db")
    from app.tenancy.models import Tenant
    blob = save_blob(Tenant.get(), b"stray", "text/plain")
    Blob.update(store="old-nas").where(Blob.id == blob.id).execute()
    bad = runner.invoke(main, ["residency", "report", "--json"], env=env)
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    assert data["compliant"] is False
    assert data["tenants"][0]["problems"] == ["1 files are in blob store 'old-nas', which is not configured"]


def test_admin_page_operator_sees_every_tenant(client, tenant, other_tenant):
    make_person(tenant, "alice", role="admin")
    save_blob(other_tenant, b"globex file", "text/plain")
    login(client, "alice")
    page = client.get("/admin/residency/", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Data residency" in html and "Compliant" in html and "Acme Corp" in html and "Globex Inc" in html
    assert "Blob stores" in html and 'aria-current="page">Data residency' in html


def test_admin_page_of_another_tenant_shows_only_its_own(app, tenant, other_tenant):
    make_person(other_tenant, "gina", role="admin")
    make_person(other_tenant, "gus")
    base = "http://globex.example"
    admin, member = app.test_client(), app.test_client()
    login(admin, "gina", host="globex.example")
    html = admin.get("/admin/residency/", base_url=base, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Globex Inc" in html and "Acme" not in html and "Blob stores" not in html
    login(member, "gus", host="globex.example")
    assert member.get("/admin/residency/", base_url=base).status_code == 403


def test_admin_page_names_the_problems(client, tenant):
    make_person(tenant, "alice", role="admin")
    blob = save_blob(tenant, b"x", "text/plain")
    Blob.update(store="old-nas").where(Blob.id == blob.id).execute()
    login(client, "alice")
    html = client.get("/admin/residency/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Not compliant" in html
    assert "1 files are in blob store &#39;old-nas&#39;, which is not configured" in html
