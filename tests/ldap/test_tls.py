"""TLS with the directory against a slapd holding a certificate from a throwaway CA: what is trusted, what is refused."""
from __future__ import annotations

import json
import logging

import pytest

from app.org.ldap.sync import run_sync
from app.org.models import Person
from app.tenancy.scope import TenantScope
from tests.ldap.certs import issue_server_certificate
from tests.ldap.conftest import cli, configure
from tests.ldap.slapd import SlapdServer

TLS_REFUSED = "TLS with the directory failed"


def small_directory(directory):
    directory.person("wei", "Zhang Wei", email="wei@acme.example")
    directory.person("fang", "Wang Fang")
    directory.load()
    directory.close()
    return directory


def logins(tenant) -> set[str]:
    return {p.login for p in TenantScope(tenant).select(Person)}


@pytest.mark.parametrize("security, address", [
    ("ldaps", "ldaps://127.0.0.1:{tls_port}"),
    ("ldaps", "ldaps://localhost:{tls_port}"),
    ("starttls", "ldap://127.0.0.1:{port}"),
])
def test_ldap_test_and_a_sync_work_over_tls_with_the_ca_bundle(app, database_url, tenant, slapd, pki, directory,
                                                                 security, address):
    server = address.format(port=slapd.port, tls_port=slapd.tls_port)
    configure(tenant, small_directory(directory), security=security, servers=[server], ca_file=str(pki.ca.cert_file))
    tested = cli(app, database_url, "ldap-test", "acme", "--json")
    assert tested.exit_code == 0, tested.output
    report = json.loads(tested.output)
    assert report["ok"] and report["people"] == 2
    assert report["server"].startswith("ldaps://" if security == "ldaps" else "ldap://")
    result = run_sync(tenant)
    assert result.run.status == "ok", result.run.reason
    assert logins(tenant) == {"wei", "fang"}


@pytest.mark.parametrize("security, scheme", [("ldaps", "ldaps"), ("starttls", "ldap")])
def test_a_certificate_from_another_ca_is_refused_with_the_tls_error(app, database_url, tenant, slapd, pki, directory,
                                                                     security, scheme, caplog):
    port = slapd.tls_port if scheme == "ldaps" else slapd.port
    configure(tenant, small_directory(directory), security=security, servers=[f"{scheme}://127.0.0.1:{port}"],
              ca_file=str(pki.stranger.cert_file))
    refused = cli(app, database_url, "ldap-test", "acme")
    assert refused.exit_code == 1 and TLS_REFUSED in refused.output, refused.output
    assert "Traceback" not in refused.output
    with caplog.at_level(logging.DEBUG, logger="app.org.ldap"):
        result = run_sync(tenant)
    assert result.run.status == "failed" and not logins(tenant)
    assert "CERTIFICATE_VERIFY_FAILED" not in result.run.reason and "verify failed" not in caplog.text


def test_without_a_ca_bundle_only_the_system_cas_are_trusted(app, database_url, tenant, slapd, directory):
    configure(tenant, small_directory(directory), security="ldaps", servers=[slapd.ldaps_uri])
    refused = cli(app, database_url, "ldap-test", "acme")
    assert refused.exit_code == 1 and TLS_REFUSED in refused.output


def test_a_missing_ca_bundle_file_is_a_tls_error_not_a_crash(app, database_url, tenant, slapd, directory, tmp_path):
    configure(tenant, small_directory(directory), security="ldaps", servers=[slapd.ldaps_uri],
              ca_file=str(tmp_path / "no-such-ca.pem"))
    refused = cli(app, database_url, "ldap-test", "acme")
    assert refused.exit_code == 1 and TLS_REFUSED in refused.output, refused.output
    assert run_sync(tenant).run.status == "failed"


@pytest.fixture
def misnamed_slapd(pki, tmp_path):
    """A slapd whose certificate, from the trusted CA, names another host than the one Atrium connects to."""
    elsewhere = issue_server_certificate(pki.ca, tmp_path, ["ldap.elsewhere.example"], [])
    server = SlapdServer(pki.tls_files(elsewhere)).start()
    yield server
    server.stop()


@pytest.mark.parametrize("security", ["ldaps", "starttls"])
def test_a_certificate_for_another_host_name_is_refused(app, database_url, tenant, misnamed_slapd, pki, security):
    from tests.ldap.builder import Directory

    d = small_directory(Directory(misnamed_slapd, "openldap"))
    server = misnamed_slapd.ldaps_uri if security == "ldaps" else misnamed_slapd.uri
    configure(tenant, d, security=security, servers=[server], ca_file=str(pki.ca.cert_file))
    refused = cli(app, database_url, "ldap-test", "acme")
    assert refused.exit_code == 1 and TLS_REFUSED in refused.output, refused.output
    # The same server without TLS answers, so it was the name on the certificate that was refused.
    configure(tenant, d, servers=[misnamed_slapd.uri])
    assert cli(app, database_url, "ldap-test", "acme").exit_code == 0


def test_plain_ldap_without_starttls_still_works_when_security_is_none(app, database_url, tenant, slapd, directory):
    configure(tenant, small_directory(directory), security="none", servers=[slapd.uri])
    tested = cli(app, database_url, "ldap-test", "acme")
    assert tested.exit_code == 0, tested.output
    assert run_sync(tenant).run.status == "ok" and logins(tenant) == {"wei", "fang"}
