"""The blob store interface and its local backend; every file the product keeps goes through here.

Keys are generated here (random, hex); nothing a person types ever becomes a path. A file is written under a
temporary name and renamed into place, and its Blob row is created only after that, so a row never points at a
half-written file; a crash in between leaves an orphan file that `atrium storage fsck` finds.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol

from app.residency import policy
from app.residency.models import Blob
from app.tenancy.models import Tenant

if TYPE_CHECKING:
    from app.config import Settings

_KEY_RE = re.compile(r"[0-9a-f]{8,80}")
_TEMPORARY_RE = re.compile(r"\.[0-9a-f]{8,80}\.[0-9a-f]{8}\.tmp")


class BlobError(Exception):
    """A blob could not be written or read; the message is safe to show."""


class BlobCorrupt(BlobError):
    """The stored bytes do not match the checksum recorded when they were written."""


class BlobMissing(BlobError):
    """The store answered, and has no file under this key."""


@dataclass(frozen=True)
class StoredFile:
    """One file found in a store: a blob under its key, or a temporary file left by an interrupted write."""

    name: str
    mtime: float
    temporary: bool


class BlobStore(Protocol):
    """Where files go: every method raises BlobError (or BlobMissing) with a message safe to show."""

    name: str

    def put(self, key: str, data: bytes) -> None:
        """Store the bytes under the key, whole or not at all."""

    def get(self, key: str) -> bytes:
        """The bytes stored under the key; BlobMissing when there are none."""

    def delete(self, key: str) -> None:
        """Remove the file under the key, if there is one."""

    def keys(self) -> Iterator[str]:
        """The keys of every stored file."""

    def scan(self) -> Iterator[StoredFile]:
        """Every file in the store, temporary ones included, with its modification time."""

    def remove_temporary(self, name: str) -> None:
        """Remove a temporary file an interrupted write left behind."""

    def check(self) -> None:
        """Raise BlobError unless the store can be written to now."""

    def close(self) -> None:
        """Release connections; the next operation opens them again."""


def check_key(key: str) -> str:
    """The key if it is one the product generates; anything else never reaches a path."""
    if not _KEY_RE.fullmatch(key or ""):
        raise BlobError("invalid blob key")
    return key


def temporary_name(key: str) -> str:
    """The name a write uses until its rename; fsck recognises it by this shape."""
    return f".{key}.{secrets.token_hex(4)}.tmp"


def check_temporary_name(name: str) -> str:
    """The name if it has the shape temporary_name gives; anything else never reaches a path."""
    if not _TEMPORARY_RE.fullmatch(name or ""):
        raise BlobError("invalid temporary file name")
    return name


class LocalBlobStore:
    """Blobs as files under one directory on this host, written to a temporary name then renamed."""

    def __init__(self, name: str, root: str | Path):
        self.name = name
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = path.with_name(temporary_name(key))
        try:
            path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
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
            raise BlobMissing(f"blob missing from store {self.name}") from None
        except OSError as exc:
            raise BlobError(f"cannot read from blob store {self.name}: {exc.strerror or type(exc).__name__}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        return (entry.name for entry in self.scan() if not entry.temporary)

    def scan(self) -> Iterator[StoredFile]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/*"):
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:  # renamed or removed while we looked
                continue
            yield StoredFile(path.name, mtime, path.name.startswith("."))

    def remove_temporary(self, name: str) -> None:
        check_temporary_name(name)
        for path in self.root.glob(f"??/{name}"):
            path.unlink(missing_ok=True)

    def check(self) -> None:
        """The directory exists (or can be made) and is writable."""
        try:
            self.root.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as exc:
            raise BlobError(f"cannot create {self.root}: {exc.strerror or type(exc).__name__}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise BlobError(f"{self.root} is not writable")

    def close(self) -> None:
        """Nothing to release."""


def build_store(name: str, spec) -> BlobStore:
    """A store object for one configured store; nothing is opened or connected yet."""
    if spec.kind == "sftp":
        from app.residency.sftp import SftpBlobStore  # it builds on this module

        return SftpBlobStore.from_settings(name, spec)
    return LocalBlobStore(name, spec.path)


_stores: dict[str, BlobStore] = {}
_barred: dict[str, str] = {}
_default_name = "local"


def configure(data_dir: str | Path, settings: "Settings | None" = None) -> None:
    """Set up the stores from the settings (without settings: one local store under the data directory).

    Stores the residency policy bars (a site that may not hold data, a local directory on a compute node)
    are set up for reading and checking only: nothing new is written to them.
    """
    global _default_name
    for store in _stores.values():
        store.close()
    _stores.clear()
    _barred.clear()
    if settings is None:
        _stores["local"] = LocalBlobStore("local", Path(data_dir) / "blobs")
        _default_name = "local"
        return
    for name, spec in policy.effective_stores(settings).items():
        _stores[name] = build_store(name, spec)
    for name, problems in policy.store_problems(settings).items():
        if problems:
            _barred[name] = str(problems[0])
    _default_name = policy.default_store_name(settings)


def default_store_name() -> str:
    """The store new tenants are pinned to ('' when the configuration does not say)."""
    return _default_name


def stores() -> dict[str, BlobStore]:
    """Every configured store by name."""
    return dict(_stores)


def refusal(name: str) -> str | None:
    """Why the residency policy lets no new data go to this store, or None when it may receive data."""
    return _barred.get(name)


def store_for(tenant: Tenant) -> BlobStore:
    """The store a tenant's files go to: the one it is pinned to, if the policy lets data go there."""
    store = get_store(tenant.blob_store)
    if refusal(store.name):
        raise BlobError(f"blob store {store.name} may not receive data: {refusal(store.name)}")
    return store


def get_store(name: str) -> BlobStore:
    """The configured store of that name."""
    try:
        return _stores[name]
    except KeyError:
        raise BlobError(f"no blob store named {name}") from None


def new_key() -> str:
    """A fresh random key for a new file."""
    return secrets.token_hex(20)


def save_blob(tenant: Tenant, data: bytes, content_type: str) -> Blob:
    """Write the bytes to the tenant's store, then record them; a failed write records nothing."""
    store = store_for(tenant)
    key = new_key()
    store.put(key, data)
    return Blob.create(tenant=tenant, key=key, store=store.name, size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), content_type=content_type)


def read_blob(blob: Blob) -> bytes:
    """The blob's bytes, checked against the recorded checksum."""
    data = get_store(blob.store).get(blob.key)
    if hashlib.sha256(data).hexdigest() != blob.sha256:
        raise BlobCorrupt(f"blob {blob.id} does not match its checksum")
    return data
