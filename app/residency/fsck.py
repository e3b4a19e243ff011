"""Checking the blob stores against the Blob rows: orphan files, and rows whose file is missing or damaged.

An orphan is a file no row refers to: a write whose row was never created (a crash, a failed transaction) or
a temporary file of an interrupted write. Files younger than an hour are left alone, as their row may be on
its way. A dangling row is one whose file is missing or fails its checksum; it is removed only when nothing
refers to it, otherwise it is marked damaged and what refers to it is named.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from app.db import db
from app.residency import blobs
from app.residency.models import Blob
from app.residency.tables import references_to

GRACE_SECONDS = 3600


@dataclass
class Orphan:
    """A file in a store that no Blob row names."""

    store: str
    name: str
    kind: str  # "file", or "temporary" (left by an interrupted write)
    removed: bool = False


@dataclass
class Dangling:
    """A Blob row whose file is missing, damaged, or in a store that is not configured."""

    blob_id: int
    tenant_id: int
    store: str
    key: str
    problem: str                     # missing, corrupt or no-store
    references: list[str] = field(default_factory=list)   # "table id" of rows that refer to it
    action: str = ""                 # removed, marked or '' (not repaired)


@dataclass
class FsckResult:
    """Everything one fsck run found, and what its repair did."""

    orphans: list[Orphan] = field(default_factory=list)
    dangling: list[Dangling] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)       # rows marked damaged whose file is fine again
    unreachable: dict[str, str] = field(default_factory=dict)
    recent: int = 0                                           # young files left alone
    checked: int = 0

    @property
    def clean(self) -> bool:
        """Nothing is wrong, or everything found was repaired."""
        return (not self.unreachable and all(o.removed for o in self.orphans)
                and all(d.action == "removed" for d in self.dangling))

    def as_dict(self) -> dict:
        """Plain data for --json."""
        return {
            "clean": self.clean, "checked": self.checked, "recent_files_skipped": self.recent,
            "unreachable": self.unreachable, "recovered": self.recovered,
            "orphans": [{"store": o.store, "name": o.name, "kind": o.kind, "removed": o.removed}
                        for o in self.orphans],
            "dangling": [{"blob": d.blob_id, "tenant": d.tenant_id, "store": d.store, "key": d.key,
                          "problem": d.problem, "referenced_by": d.references, "action": d.action}
                         for d in self.dangling],
        }


def _references(blob_id: int) -> list[str]:
    found = []
    for column in references_to(Blob):
        model = column.model
        for (row_id,) in model.select(model._meta.primary_key).where(column == blob_id).tuples():
            found.append(f"{model._meta.table_name} {row_id}")
    return found


def fsck(stores: dict[str, blobs.BlobStore], repair: bool = False, now: float | None = None) -> FsckResult:
    """Compare every store's files with the Blob rows; with repair, remove orphans and dangling rows that may go."""
    now = time.time() if now is None else now
    result = FsckResult()
    # Rows first: a file written after this point is young, so it can never be taken for an orphan.
    rows = list(Blob.select(Blob.id, Blob.tenant, Blob.store, Blob.key, Blob.sha256, Blob.damaged).tuples())
    by_store: dict[str, dict[str, tuple]] = {}
    for row in rows:
        by_store.setdefault(row[2], {})[row[3]] = row
    for name, store in stores.items():
        try:
            files = list(store.scan())
        except blobs.BlobError as exc:
            result.unreachable[name] = str(exc)
            continue
        known = by_store.get(name, {})
        for entry in files:
            if entry.name in known:
                continue
            if now - entry.mtime < GRACE_SECONDS:
                result.recent += 1
                continue
            result.orphans.append(Orphan(name, entry.name, "temporary" if entry.temporary else "file"))
        for key, (blob_id, tenant_id, _store, _key, sha256, damaged) in known.items():
            result.checked += 1
            try:
                ok = hashlib.sha256(store.get(key)).hexdigest() == sha256
                problem = "" if ok else "corrupt"
            except blobs.BlobMissing:
                problem = "missing"
            except blobs.BlobError as exc:
                result.unreachable[name] = str(exc)
                break
            if problem:
                result.dangling.append(Dangling(blob_id, tenant_id, name, key, problem))
            elif damaged:
                result.recovered.append(blob_id)
    for row in rows:
        if row[2] not in stores:
            result.dangling.append(Dangling(row[0], row[1], row[2], row[3], "no-store"))
    for item in result.dangling:
        item.references = _references(item.blob_id)
    if repair:
        _repair(stores, result)
    return result


def _repair(stores: dict[str, blobs.BlobStore], result: FsckResult) -> None:
    for orphan in result.orphans:
        store = stores[orphan.store]
        try:
            if orphan.kind == "temporary":
                store.remove_temporary(orphan.name)
            else:
                store.delete(orphan.name)
        except blobs.BlobError:
            continue
        orphan.removed = True
    with db.atomic():
        for item in result.dangling:
            if item.references:
                # Removing the row would take the rows that need it with it, or leave them pointing at nothing.
                Blob.update(damaged=item.problem).where(Blob.id == item.blob_id).execute()
                item.action = "marked"
            else:
                Blob.delete().where(Blob.id == item.blob_id).execute()
                item.action = "removed"
        if result.recovered:
            Blob.update(damaged=None).where(Blob.id.in_(result.recovered)).execute()
