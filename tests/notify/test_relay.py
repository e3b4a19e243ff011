"""The relay connection: STARTTLS with a login, TLS from the start, refused certificates and logins (the password
never recorded), and the [smtp] settings' checks."""
from __future__ import annotations

import dataclasses
import datetime
import logging
import ssl

import pytest

from app.config import ConfigError, SmtpSettings, load_settings
from app.notify.models import OutgoingEmail
from app.notify.outbox import send_due
from app.notify.service import queue_email
from tests.ldap.certs import issue_server_certificate, make_authority
from tests.notify.conftest import FROM, SmtpRelay, password_authenticator

T0 = datetime.datetime(2026, 3, 2, 2, 0)
PASSWORD = "relay-secret-Pa55"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("smtp-pki")
    authority = make_authority(directory, "smtp")
    server = issue_server_certificate(authority, directory, ["localhost"], ["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server.cert_file, server.key_file)
    return {"ca": str(authority.cert_file), "context": context, "dir": directory}


@pytest.fixture
def secure_relay(pki):
    server = SmtpRelay(tls_context=pki["context"], require_starttls=True,
                       authenticator=password_authenticator("atrium", PASSWORD), auth_require_tls=True,
                       auth_required=True).start()
    yield server
    server.stop()


@pytest.fixture
def tls_relay(pki):
    server = SmtpRelay(ssl_context=pki["context"]).start()
    yield server
    server.stop()


def settings_for(app, server, **smtp):
    base = {"host": "127.0.0.1", "port": server.port, "from_address": FROM, "timeout": 5, "max_attempts": 4}
    return dataclasses.replace(app.config["ATRIUM"], smtp=SmtpSettings(**{**base, **smtp}))


def queue_one(app, team):
    with app.app_context():
        return queue_email(team["tenant"], team["bob"], "test", {}, now=T0)


def test_starttls_and_a_login_with_the_password_from_a_file(app, team, email_on, secure_relay, pki, tmp_path):
    password_file = tmp_path / "smtp_password"
    password_file.write_text(PASSWORD + "\n")
    email = queue_one(app, team)
    settings = settings_for(app, secure_relay, security="starttls", ca_file=pki["ca"], username="atrium",
                            password_file=str(password_file))
    with app.app_context():
        assert send_due(settings, T0)["sent"] == 1
    assert [m["Message-ID"] for m in secure_relay.mailbox.messages] == [email.message_id]


def test_tls_from_the_start(app, team, email_on, tls_relay, pki):
    queue_one(app, team)
    with app.app_context():
        assert send_due(settings_for(app, tls_relay, security="tls", ca_file=pki["ca"]), T0)["sent"] == 1
    assert len(tls_relay.mailbox.messages) == 1


def test_a_refused_login_is_retried_and_the_password_is_never_recorded(app, team, email_on, secure_relay, pki,
                                                                       caplog):
    email = queue_one(app, team)
    settings = settings_for(app, secure_relay, security="starttls", ca_file=pki["ca"], username="atrium",
                            password="wrong-" + PASSWORD)
    with app.app_context(), caplog.at_level(logging.DEBUG):
        assert send_due(settings, T0)["retried"] == 1
    row = OutgoingEmail.get_by_id(email.id)
    assert row.state == "queued" and row.detail == f"127.0.0.1:{secure_relay.port} refused the login (535)"
    assert PASSWORD not in caplog.text and PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    assert secure_relay.mailbox.messages == []


def test_an_untrusted_certificate_and_a_relay_without_starttls_are_refused(app, team, email_on, secure_relay, relay):
    email = queue_one(app, team)
    with app.app_context():
        send_due(settings_for(app, secure_relay, security="starttls"), T0)       # not signed by a CA we trust
        assert "TLS failed (CERTIFICATE_VERIFY_FAILED)" in OutgoingEmail.get_by_id(email.id).detail
        send_due(settings_for(app, relay, security="starttls"), T0 + datetime.timedelta(hours=1))
        assert "does not offer STARTTLS" in OutgoingEmail.get_by_id(email.id).detail
    assert secure_relay.mailbox.messages == [] and relay.mailbox.messages == []


@pytest.mark.parametrize("smtp, expected", [
    ({"security": "ssl"}, "smtp.security must be one of none, starttls, tls"),
    ({"port": 0}, "smtp.port must be a TCP port"),
    ({"timeout": 0}, "smtp.timeout must be at least 1"),
    ({"max_attempts": 0}, "smtp.max_attempts must be at least 1"),
    ({"from_address": "atrium"}, "smtp.from_address is not an email address"),
    ({"username": "a", "password": "x", "password_file": "/etc/hostname"}, "not both"),
    ({"password": "x"}, "smtp.username is needed with a password"),
    ({"host": "relay", "username": "a", "password_file": "/nonexistent/pw"}, "is not a readable file"),
    ({"ca_file": "/nonexistent/ca.pem"}, "smtp.ca_file /nonexistent/ca.pem is not a readable file"),
    ({"port": "25"}, "smtp.port: expected a whole number"),
])
def test_bad_smtp_settings_stop_with_one_line(smtp, expected):
    with pytest.raises(ConfigError) as info:
        load_settings({"smtp": smtp}, environ={})
    assert expected in str(info.value)


def test_smtp_settings_from_the_environment_and_the_password_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    settings = load_settings(environ={"ATRIUM_SMTP__HOST": "relay.example", "ATRIUM_SMTP__PORT": "465",
                                      "ATRIUM_SMTP__SECURITY": "tls", "ATRIUM_SMTP__USERNAME": "atrium",
                                      "ATRIUM_SMTP__PASSWORD_FILE": str(secret)})
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == ("relay.example", 465, "tls")
    assert settings.smtp.read_password() == "s3cret" and "s3cret" not in repr(settings)
    assert load_settings(environ={}).smtp.host == ""      # no relay: no email
