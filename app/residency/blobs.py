"""The blob store interface and its local backend; every file the product keeps goes through here.

Keys are generated here (random, hex); nothing a person types ever becomes a path.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Iterator, Protocol

from app.residency.models import Blob
from app.tenancy.models import Tenant


class BlobError(Exception):
    """A blob could not be written or read; the message is safe to show."""


class BlobCorrupt(BlobError):
    """The stored bytes do not match the checksum recorded when they were written."""


class BlobStore(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterator[str]: ...


class LocalBlobStore:
    """Blobs as files under one directory on this host, written to a temporary name then renamed."""

    def __init__(self, name: str, root: str | Path):
        self.name = name
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key.isalnum():
            raise BlobError("invalid blob key")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        tmp = path.with_name(f".{key}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BlobError(f"cannot write to blob store {self.name}: {exc.strerror or type(exc).__name__}") from None

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobError(f"blob missing from store {self.name}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        if self.root.is_dir():
            for path in self.root.glob("??/*"):
                if not path.name.startswith("."):
                    yield path.name


_stores: dict[str, BlobStore] = {}


def configure(data_dir: str | Path) -> None:
    """Set up the stores from the settings: for now one local store under the data directory."""
    _stores.clear()
    _stores["local"] = LocalBlobStore("local", Path(data_dir) / "blobs")


def store_for(tenant: Tenant) -> BlobStore:
    """The store a tenant's files go to."""
    return _stores["local"]


def get_store(name: str) -> BlobStore:
    try:
        return _stores[name]
    except KeyError:
        raise BlobError(f"no blob store named {name}") from None


def save_blob(tenant: Tenant, data: bytes, content_type: str) -> Blob:
    """Write the bytes to the tenant's store, then record them; a failed write records nothing."""
    store = store_for(tenant)
    key = secrets.token_hex(20)
    store.put(key, data)
    return Blob.create(tenant=tenant, key=key, store=store.name, size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), content_type=content_type)


def read_blob(blob: Blob) -> bytes:
    """The blob's bytes, checked against the recorded checksum."""
    data = get_store(blob.store).get(blob.key)
    if hashlib.sha256(data).hexdigest() != blob.sha256:
        raise BlobCorrupt(f"blob {blob.id} does not match its checksum")
    return data
