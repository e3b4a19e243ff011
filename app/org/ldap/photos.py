"""Directory photos: a bounded pass after each applied sync that reads, checks and stores the photos that changed.

The sync keeps only each photo's checksum, so a read of 100,000 people never
holds their photos. Once its changes are committed, this pass reads the photos
whose stored copy is missing or stale, one entry at a time by DN, checks each
by content and stores it in the tenant's blob store. A bad photo is a problem
line; a directory, store or database failure ends the pass with a problem line
and keeps everything done before it, the sync's changes included.

A replaced or dropped photo's blob is deleted at once, its row first and then
its file, so a file whose deletion fails is an orphan `atrium storage fsck`
finds, never a row without its file.
"""
from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass, field

import peewee
from ldap3.core.exceptions import LDAPException
from PIL import Image

from app.org.ldap.config import preset_of
from app.org.ldap.directory import DirectoryFailure, close, connect, entry_value
from app.org.ldap.models import DirectoryConfig, DirectoryEntry
from app.org.ldap.read import MAX_PHOTO_BYTES, Problem
from app.residency.blobs import BlobError, get_store, save_blob
from app.residency.models import Blob
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope

log = logging.getLogger("app.org.ldap")

MAX_PHOTOS_PER_RUN = 2000
MAX_PHOTO_SIDE = 4096
MAX_PHOTO_PIXELS = 4096 * 4096
_FORMATS = {b"\xff\xd8\xff": ("JPEG", "image/jpeg"), b"\x89PNG\r\n\x1a\n": ("PNG", "image/png")}


class PhotoRefused(Exception):
    """A photo is not stored; `code` and `args` make its problem line."""

    def __init__(self, code: str, **args):
        super().__init__(code)
        self.code = code
        self.details = args


def check_photo(data: bytes) -> str:
    """The content type of a sound JPEG or PNG within the limits; decompression bombs are refused before decoding."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("photo_too_large", size=len(data), limit=MAX_PHOTO_BYTES)
    found = next((kind for magic, kind in _FORMATS.items() if data.startswith(magic)), None)
    if found is None:
        raise PhotoRefused("photo_not_image")
    image_format, content_type = found
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            _decode(data, image_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused("photo_too_many_pixels", limit=MAX_PHOTO_SIDE) from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRefused("photo_not_image") from None
    return content_type


def _decode(data: bytes, image_format: str) -> None:
    # Only the decoder the magic bytes named may parse the data; the size comes from the header, before decoding.
    with Image.open(io.BytesIO(data), formats=[image_format]) as image:
        width, height = image.size
        if width > MAX_PHOTO_SIDE or height > MAX_PHOTO_SIDE or width * height > MAX_PHOTO_PIXELS:
            raise PhotoRefused("photo_too_many_pixels", limit=MAX_PHOTO_SIDE)
        image.verify()
    with Image.open(io.BytesIO(data), formats=[image_format]) as image:
        image.load()  # verify() checks the structure; decoding catches truncated data


@dataclass
class PhotoPass:
    """What one photo pass did: counts for the run record, and its problem lines."""

    stored: int = 0
    removed: int = 0
    refused: int = 0
    waiting: int = 0
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The pass's counts under the names the run record shows."""
        return {"photos_stored": self.stored, "photos_removed": self.removed, "photos_refused": self.refused,
                "photos_waiting": self.waiting}


@dataclass(frozen=True)
class _Due:
    entry_id: int
    dn: str
    sha256: str
    blob_id: int | None
    blob_store: str | None
    blob_key: str | None


def _delete_blob(blob_id: int, store: str, key: str) -> None:
    Blob.delete().where(Blob.id == blob_id).execute()
    try:
        get_store(store).delete(key)
    except (BlobError, OSError) as exc:
        log.warning("photo blob %s stays in store %s for `atrium storage fsck`: %s", blob_id, store,
                    type(exc).__name__)


def _unlink(entry_id: int, blob_id: int, store: str, key: str) -> bool:
    # Only while the entry still points at that blob, so a sync running alongside never loses its own photo.
    unlinked = DirectoryEntry.update(photo_blob=None).where(
        (DirectoryEntry.id == entry_id) & (DirectoryEntry.photo_blob == blob_id)).execute()
    if unlinked:
        _delete_blob(blob_id, store, key)
    return bool(unlinked)


def _remove_dropped(tenant: Tenant, result: PhotoPass) -> None:
    """Photos the directory no longer has: unlinked, and their blobs deleted."""
    dropped = (TenantScope(tenant).select(DirectoryEntry, DirectoryEntry.id, Blob.id, Blob.store, Blob.key)
               .join(Blob, on=(DirectoryEntry.photo_blob == Blob.id))
               .where(DirectoryEntry.photo_sha256.is_null()).tuples())
    for entry_id, blob_id, store, key in list(dropped):
        result.removed += _unlink(entry_id, blob_id, store, key)


def _due(tenant: Tenant) -> peewee.ModelSelect:
    stale = DirectoryEntry.photo_blob.is_null() | (Blob.sha256 != DirectoryEntry.photo_sha256)
    return (TenantScope(tenant).select(DirectoryEntry, DirectoryEntry.id, DirectoryEntry.dn,
                                       DirectoryEntry.photo_sha256, Blob.id, Blob.store, Blob.key)
            .join(Blob, peewee.JOIN.LEFT_OUTER, on=(DirectoryEntry.photo_blob == Blob.id))
            .where(DirectoryEntry.photo_sha256.is_null(False) & stale))


def _store(tenant: Tenant, due: _Due, data: bytes | None, result: PhotoPass) -> None:
    if data is None or hashlib.sha256(data).hexdigest() != due.sha256:
        result.problems.append(Problem(due.dn, "photo_changed"))
        return
    try:
        content_type = check_photo(data)
    except PhotoRefused as refused:
        result.refused += 1
        result.problems.append(Problem(due.dn, refused.code, refused.details))
        if due.blob_id is not None:
            # The directory no longer has the photo stored before; the person card shows none rather than it.
            result.removed += _unlink(due.entry_id, due.blob_id, due.blob_store, due.blob_key)
        return
    blob = save_blob(tenant, data, content_type)
    previous = (DirectoryEntry.photo_blob.is_null() if due.blob_id is None
                else DirectoryEntry.photo_blob == due.blob_id)
    linked = DirectoryEntry.update(photo_blob=blob).where(
        (DirectoryEntry.id == due.entry_id) & (DirectoryEntry.photo_sha256 == due.sha256) & previous).execute()
    if not linked:  # a sync running alongside moved the entry on; its own pass stores the photo
        _delete_blob(blob.id, blob.store, blob.key)
        return
    result.stored += 1
    if due.blob_id is not None:
        _delete_blob(due.blob_id, due.blob_store, due.blob_key)


def sync_photos(tenant: Tenant, config: DirectoryConfig, limit: int = MAX_PHOTOS_PER_RUN) -> PhotoPass:
    """Store up to `limit` photos the directory has and the store lacks, and delete the ones it dropped."""
    result = PhotoPass()
    dn = None
    done = 0
    batch: list[_Due] = []
    try:
        _remove_dropped(tenant, result)
        due = _due(tenant)
        total = due.count()
        # Random order: photos refused on every run (each run says so again) cannot keep the others waiting forever.
        batch = [_Due(*row) for row in due.order_by(peewee.fn.random()).limit(limit).tuples()]
        result.waiting = total - len(batch)
        if not batch:
            return result
        attribute = preset_of(config).photo
        dn = batch[0].dn
        conn = connect(config)
        try:
            for due_entry in batch:
                dn = due_entry.dn
                _store(tenant, due_entry, entry_value(conn, dn, attribute), result)
                done += 1
        finally:
            close(conn)
    except DirectoryFailure as failure:
        _stopped(tenant, result, dn, failure.error_class)
    except (LDAPException, OSError, BlobError, peewee.DatabaseError) as exc:
        _stopped(tenant, result, dn, type(exc).__name__)
    result.waiting += len(batch) - done
    return result


def _stopped(tenant: Tenant, result: PhotoPass, dn: str | None, error: str) -> None:
    log.warning("photo pass of tenant %s stopped: %s at %s", tenant.slug, error, dn)
    result.problems.append(Problem(dn or "", "photo_pass_stopped", {"error": error}))


def photo_blob(tenant: Tenant, person_id: int) -> Blob | None:
    """The stored directory photo of one of the tenant's people, or None."""
    return (TenantScope(tenant).select(Blob).join(DirectoryEntry, on=(DirectoryEntry.photo_blob == Blob.id))
            .where((DirectoryEntry.tenant == tenant) & (DirectoryEntry.person == person_id)).first())
