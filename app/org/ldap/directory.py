"""Talking to the directory: a failover pool of servers, binding, and streamed paged searches.

Failures become DirectoryFailure, which carries the exception's class name and
the DN being processed, never the exception's text (it can echo credentials or
internal names) and never the password.
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlparse

from ldap3 import BASE, FIRST, NONE, NO_ATTRIBUTES, SUBTREE, Connection, Server, ServerPool, Tls
from ldap3.core.exceptions import (LDAPBindError, LDAPException, LDAPInvalidCredentialsResult,
                                   LDAPInvalidDNSyntaxResult, LDAPNoSuchObjectResult, LDAPOperationResult,
                                   LDAPSSLConfigurationError, LDAPStartTLSError, LDAPUnwillingToPerformResult)
from ldap3.utils.config import set_config_parameter
from ldap3.utils.conv import escape_filter_chars

from app.org.ldap.config import (SecretUnavailable, base_dns_of, bind_password, department_filter_of, preset_of,
                                 servers_of, user_filter_of)
from app.org.ldap.dn import normalize_dn
from app.org.ldap.models import DirectoryConfig

_CREDENTIAL_ERRORS = (LDAPInvalidCredentialsResult, LDAPInvalidDNSyntaxResult, LDAPUnwillingToPerformResult,
                      LDAPBindError)


class DirectoryFailure(Exception):
    """The directory could not be used; `kind` is unreachable, credentials, tls, secret or failed."""

    def __init__(self, kind: str, error_class: str, dn: str | None = None):
        super().__init__(kind, error_class, dn)
        self.kind = kind
        self.error_class = error_class
        self.dn = dn

    def reason(self) -> str:
        """One line for the run record and the log: class name and DN, nothing the server said."""
        return f"{self.error_class} at {self.dn}" if self.dn else self.error_class


def _looks_like_tls(exc: BaseException) -> bool:
    # Inspected only to classify the failure; the text itself is never shown or logged.
    if isinstance(exc, (LDAPStartTLSError, ssl.SSLError)):
        return True
    text = str(exc).lower()
    return any(word in text for word in ("ssl", "tls", "certificate"))


class VerifiedTls(Tls):
    """TLS that trusts only the CA bundle (or, without one, the system's CAs) and checks the server's name."""

    def wrap_socket(self, connection, do_handshake=False):
        """The connection's socket wrapped by the standard library's default client context."""
        # ldap3 turns the context's host name check off and runs its own after the handshake, with the
        # deprecated ssl.match_hostname (whose fallback refuses IP addresses), leaking the socket when the
        # name is wrong. The default context verifies the chain and the name in the handshake itself, and a
        # refused handshake closes the socket.
        context = ssl.create_default_context(cafile=self.ca_certs_file)
        connection.socket = context.wrap_socket(connection.socket, server_hostname=connection.server.host,
                                                do_handshake_on_connect=do_handshake)


# The pool makes one pass over the servers (active=1), each bounded by its connect_timeout; ldap3's
# pause between passes (10 s by default) would only make a login wait that long when the directory is down.
set_config_parameter("POOLING_LOOP_TIMEOUT", 0)


def server_pool(config: DirectoryConfig) -> ServerPool:
    """The configured servers, tried in order; one that fails is skipped for the rest of the connection."""
    tls = None
    if config.security in ("starttls", "ldaps"):
        tls = VerifiedTls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file or None)
    servers = []
    for uri in servers_of(config):
        parsed = urlparse(uri)
        use_ssl = parsed.scheme == "ldaps"
        servers.append(Server(parsed.hostname, port=parsed.port or (636 if use_ssl else 389), use_ssl=use_ssl,
                              tls=tls, get_info=NONE, connect_timeout=config.connect_timeout))
    return ServerPool(servers, FIRST, active=1, exhaust=True)


def connect(config: DirectoryConfig, user: str | None = None, password: str | None = None) -> Connection:
    """An open, bound connection as the service account (or as `user` with `password`)."""
    if user is None:
        user = config.bind_dn or None
        try:
            password = bind_password(config) if user else None
        except SecretUnavailable:
            raise DirectoryFailure("secret", "SecretUnavailable") from None
    try:
        pool = server_pool(config)
    except LDAPSSLConfigurationError as exc:  # the CA bundle file does not exist
        raise DirectoryFailure("tls", type(exc).__name__) from None
    conn = Connection(pool, user=user, password=password, auto_bind="NONE", read_only=True,
                      raise_exceptions=True, receive_timeout=config.receive_timeout, auto_referrals=False,
                      return_empty_attributes=False, check_names=False)
    try:
        conn.open()
    except (LDAPException, OSError) as exc:
        raise DirectoryFailure("tls" if _looks_like_tls(exc) else "unreachable", type(exc).__name__) from None
    try:
        if config.security == "starttls":
            conn.start_tls()
        conn.bind()
    except _CREDENTIAL_ERRORS as exc:
        close(conn)
        raise DirectoryFailure("credentials", type(exc).__name__, user) from None
    except (LDAPException, OSError) as exc:
        close(conn)
        raise DirectoryFailure("tls" if _looks_like_tls(exc) else "unreachable", type(exc).__name__) from None
    return conn


def close(conn: Connection) -> None:
    """Unbind, ignoring a connection that is already gone."""
    try:
        conn.unbind()
    except (LDAPException, OSError):
        pass


def server_in_use(conn: Connection) -> str:
    server = conn.server
    return f"{'ldaps' if server.ssl else 'ldap'}://{server.host}:{server.port}"


def paged_entries(conn: Connection, base: str, search_filter: str, attributes: list[str], page_size: int,
                  ) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """(dn, raw attributes) of every entry, page by page; a truncated or referred result is a failure."""
    for item in conn.extend.standard.paged_search(base, search_filter, search_scope=SUBTREE, attributes=attributes,
                                                  paged_size=page_size, generator=True):
        if item.get("type") == "searchResEntry":
            yield item["dn"], item["raw_attributes"]
    # ldap3 passes size and time limits and referrals through silently; a partial read must not look whole.
    code = (conn.result or {}).get("result", 0)
    if code != 0:
        raise LDAPOperationResult(result=code, description=conn.result.get("description"))


def entry_value(conn: Connection, dn: str, attribute: str) -> bytes | None:
    """The first raw value of one attribute of the entry at dn; None when the entry or the value is gone."""
    try:
        conn.search(dn, "(objectClass=*)", search_scope=BASE, attributes=[attribute])
    except LDAPNoSuchObjectResult:
        return None
    wanted = attribute.lower()
    for item in conn.response or []:
        if item.get("type") == "searchResEntry":
            for name, values in item["raw_attributes"].items():
                if name.lower() == wanted and values:
                    return values[0]
    return None


@dataclass
class ConnectionReport:
    server: str
    people: int
    departments: int


def check_connection(config: DirectoryConfig) -> ConnectionReport:
    """Connect, bind, and count what the user filter and the department source find."""
    conn = connect(config)
    base, dn = None, None
    try:
        preset = preset_of(config)
        people, department_values = 0, set()
        attributes = [preset.department_attribute] if config.department_source == "attribute" else [NO_ATTRIBUTES]
        for base in base_dns_of(config):
            for dn, raw in paged_entries(conn, base, user_filter_of(config), attributes, config.page_size):
                people += 1
                if config.department_source == "attribute":
                    lowered = {k.lower(): v for k, v in raw.items()}
                    department_values.update(lowered.get(preset.department_attribute.lower(), []))
        departments = len(department_values)
        if config.department_source != "attribute":
            base = config.department_base_dn
            base_key = normalize_dn(base)
            for dn, _raw in paged_entries(conn, base, department_filter_of(config), [NO_ATTRIBUTES],
                                          config.page_size):
                departments += normalize_dn(dn) != base_key
        return ConnectionReport(server_in_use(conn), people, departments)
    except (LDAPException, OSError) as exc:
        raise DirectoryFailure("failed", type(exc).__name__, dn or base) from None
    finally:
        close(conn)


def login_filter(config: DirectoryConfig, login: str) -> str:
    """The user filter narrowed to one login, the login escaped so it can only ever be a value."""
    attribute = preset_of(config).login
    return f"(&{user_filter_of(config)}({attribute}={escape_filter_chars(login)}))"

