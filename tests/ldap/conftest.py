"""Fixtures for the directory sync: a real slapd for the session, a fresh directory branch per test."""
from __future__ import annotations

import pytest

from tests.conftest import make_person
from tests.ldap.builder import SERVICE_PASSWORD, Directory
from tests.ldap.slapd import SlapdServer


@pytest.fixture(scope="session")
def slapd():
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
