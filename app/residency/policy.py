"""The residency policy: which sites may hold data, and whether the database and every blob store keep to it.

Checked when a node starts (`atrium serve`), by /readyz and by `atrium residency report`. Each problem is one
line that names the store or site at fault; nothing here touches the network.
"""
from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import replace
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.config import BlobStoreSettings, Settings

# The store of the embedded default, and the one every file went to before stores could be configured.
IMPLICIT_STORE = "local"
SFTP_REQUIRED = ("site", "host", "user", "path", "private_key_file")


def is_sqlite(settings: Settings) -> bool:
    """The database is an SQLite file on this node."""
    return settings.database.startswith("sqlite:///")


def allowed_sites(settings: Settings) -> list[str]:
    """The sites that may hold data; unset means this node's own site only."""
    return list(settings.residency.allowed_sites) or [settings.residency.site]


def database_site(settings: Settings) -> str:
    """Where the database runs: an SQLite file is always on this node."""
    if is_sqlite(settings):
        return settings.residency.site
    return settings.residency.database_site or settings.residency.site


def effective_stores(settings: Settings) -> dict[str, BlobStoreSettings]:
    """The blob stores with their defaults filled in; with none configured, one local store under the data dir."""
    configured = settings.blob_stores or {IMPLICIT_STORE: BlobStoreSettings()}
    stores = {}
    for name, spec in configured.items():
        if spec.kind == "local":
            spec = replace(spec, site=spec.site or settings.residency.site,
                           path=spec.path or str(Path(settings.data_dir) / "blobs"))
        stores[name] = replace(spec)
    return stores


def default_store_name(settings: Settings) -> str:
    """The store new tenants are pinned to: the setting, else the only store; '' when that is ambiguous."""
    if settings.residency.default_blob_store:
        return settings.residency.default_blob_store
    stores = effective_stores(settings)
    return next(iter(stores)) if len(stores) == 1 else ""


def parse_host_key(line: str) -> tuple[str, bytes] | None:
    """(type, key blob) of a public key line such as 'ssh-ed25519 AAAA... comment', or None when malformed."""
    parts = (line or "").split()
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded = blob[4:4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        return None
    return (parts[0], blob) if embedded == parts[0] else None


def _sites_text(sites: list[str]) -> str:
    return ", ".join(sites)


def node_problems(settings: Settings) -> list:
    """Problems of this node and its database against the policy, one line each."""
    residency = settings.residency
    allowed = allowed_sites(settings)
    problems = []
    if residency.sites:
        named = [(residency.site, "residency.site"), (residency.database_site, "residency.database_site")]
        named += [(site, "residency.allowed_sites") for site in residency.allowed_sites]
        named += [(spec.site, f"blob_stores.{name}.site") for name, spec in settings.blob_stores.items()]
        for site, key in named:
            if site and site not in residency.sites:
                problems.append(_l("site '%(site)s' (%(key)s) is not one of residency.sites (%(sites)s)",
                                   site=site, key=key, sites=_sites_text(residency.sites)))
    if residency.role != "compute" and residency.site not in allowed:
        problems.append(_l("this node is in site '%(site)s', which may not hold data (allowed: %(allowed)s); only a"
                           " node with role \"compute\" may run there", site=residency.site,
                           allowed=_sites_text(allowed)))
    if is_sqlite(settings):
        if residency.role == "compute":
            problems.append(_l("this node's role is compute (it keeps no customer data), but its database is SQLite"
                               " on this node: use PostgreSQL in a site that may hold data"))
        elif residency.database_site and residency.database_site != residency.site:
            problems.append(_l("the database is SQLite on this node (site '%(site)s'), but residency.database_site"
                               " says '%(database_site)s'", site=residency.site,
                               database_site=residency.database_site))
    site = database_site(settings)
    if site not in allowed and not (is_sqlite(settings) and residency.role == "compute"):
        problems.append(_l("the database is in site '%(site)s', which may not hold data (allowed: %(allowed)s)",
                           site=site, allowed=_sites_text(allowed)))
    stores = effective_stores(settings)
    default = default_store_name(settings)
    if not default:
        problems.append(_l("residency.default_blob_store is not set: name one of %(stores)s",
                           stores=", ".join(stores)))
    elif default not in stores:
        problems.append(_l("residency.default_blob_store names '%(store)s', which is not a configured blob store",
                           store=default))
    return problems


def store_problems(settings: Settings) -> dict[str, list]:
    """For each blob store, why data may not go there (an empty list when it may)."""
    allowed = allowed_sites(settings)
    found = {}
    for name, spec in effective_stores(settings).items():
        problems = []
        if spec.kind == "local" and settings.residency.role == "compute":
            found[name] = [_l("blob store '%(store)s' is a directory on this node, but this node's role is compute"
                              " (it keeps no customer data)", store=name)]
            continue
        if spec.kind == "sftp":
            for key in SFTP_REQUIRED:
                if not getattr(spec, key):
                    problems.append(_l("blob store '%(store)s' (sftp) has no %(key)s", store=name, key=key))
            if not spec.host_key:
                problems.append(_l("blob store '%(store)s' (sftp) has no pinned host key: set host_key to the storage"
                                   " host's public key (ssh-keyscan -t ed25519 HOST)", store=name))
            elif parse_host_key(spec.host_key) is None:
                problems.append(_l("blob store '%(store)s': host_key is not a public key line such as"
                                   " 'ssh-ed25519 AAAA...'", store=name))
        if spec.site and spec.site not in allowed:
            problems.append(_l("blob store '%(store)s' is in site '%(site)s', which may not hold data"
                               " (allowed: %(allowed)s)", store=name, site=spec.site, allowed=_sites_text(allowed)))
        found[name] = problems
    return found


def check_settings(settings: Settings) -> list:
    """Every problem of the configuration against the policy; empty when the node may start."""
    return node_problems(settings) + [p for problems in store_problems(settings).values() for p in problems]


def unknown_pins(pins: list[tuple[str, str]], store_names) -> list:
    """Problems for (tenant slug, store) pins that name no configured store."""
    return [_l("tenant '%(tenant)s' is pinned to blob store '%(store)s', which is not configured",
               tenant=slug, store=store) for slug, store in pins if store not in store_names]
