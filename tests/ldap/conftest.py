"""Fixtures for the directory sync: a real slapd for the session, a fresh directory branch per test."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from tests.conftest import make_person
from tests.ldap.builder import SERVICE_PASSWORD, Directory
from tests.ldap.certs import Authority, ServerCertificate, issue_server_certificate, make_authority
from tests.ldap.slapd import SlapdServer, TlsFiles


@dataclass(frozen=True)
class Pki:
    """The CA that signed the test slapd's certificate, that certificate, and a CA that signed nothing of ours."""

    ca: Authority
    server: ServerCertificate
    stranger: Authority

    def tls_files(self, server: ServerCertificate | None = None) -> TlsFiles:
        chosen = server or self.server
        return TlsFiles(self.ca.cert_file, chosen.cert_file, chosen.key_file)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Throwaway CAs for the session; the server certificate names 127.0.0.1 and localhost."""
    directory = tmp_path_factory.mktemp("pki")
    ca = make_authority(directory, "atrium")
    return Pki(ca, issue_server_certificate(ca, directory, ["localhost"], ["127.0.0.1"]),
               make_authority(directory, "stranger"))


@pytest.fixture(scope="session")
def slapd(pki):
    """One slapd for the session: ldap:// (with StartTLS) and ldaps:// on loopback ports."""
    server = SlapdServer(pki.tls_files()).start()
    yield server
    server.stop()


@pytest.fixture
def own_slapd():
    """A slapd of this test's own, free to be paused and killed."""
    server = SlapdServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def app_context(app):
    """The sync reads the install's secret key from the application, as it does in a request or a command."""
    with app.app_context():
        yield


@pytest.fixture
def directory(slapd):
    """An empty OpenLDAP-shaped directory branch; tests add entries, then call .load()."""
    built = Directory(slapd, "openldap")
    yield built
    built.close()


@pytest.fixture
def ad_directory(slapd):
    """An empty Active-Directory-shaped directory branch."""
    built = Directory(slapd, "ad")
    yield built
    built.close()


@pytest.fixture
def local_admin(tenant):
    return make_person(tenant, "root", role="admin", display_name="Local Root")


def configure(tenant, directory: Directory, **overrides):
    """Point the tenant at the test directory with the service account's password."""
    from app.org.ldap.config import save_config

    return save_config(tenant, directory.settings(**overrides), new_bind_password=SERVICE_PASSWORD)


def cli(app, database_url, *args, input=None):
    """Run an `atrium` command against the test's database, as an operator would."""
    from app.cli import main
    from app.db import db

    env = {"ATRIUM_DATA_DIR": app.config["ATRIUM"].data_dir, "DATABASE_URL": database_url}
    result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
    if not db.is_closed():
        db.close()
    return result
