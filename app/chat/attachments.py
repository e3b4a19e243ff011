"""Attachments: size and type rules judged from the bytes, stored through the blob store.

The install sets the largest file; a tenant's file policy may lower it, narrow
the kinds of file to a list, and turn downloads off for some roles.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask_babel import lazy_gettext as _l

from app.residency.blobs import save_blob
from app.validation import ValidationError

# (magic bytes, content type) — the type is decided by content, never by the name or the browser's claim.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
_OFFICE = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
           ".zip": "application/zip"}
_TEXT = "text/plain; charset=utf-8"
# The kinds of file a tenant's policy can allow: name, file name endings, and the type the content must have.
FILE_TYPES = {
    "png": ("PNG", (".png",), "image/png"),
    "jpeg": ("JPEG", (".jpg", ".jpeg"), "image/jpeg"),
    "gif": ("GIF", (".gif",), "image/gif"),
    "webp": ("WebP", (".webp",), "image/webp"),
    "pdf": ("PDF", (".pdf",), "application/pdf"),
    "docx": ("Word (.docx)", (".docx",), _OFFICE[".docx"]),
    "xlsx": ("Excel (.xlsx)", (".xlsx",), _OFFICE[".xlsx"]),
    "pptx": ("PowerPoint (.pptx)", (".pptx",), _OFFICE[".pptx"]),
    "zip": ("Zip", (".zip",), "application/zip"),
    "text": ("Text (.txt, .csv, .md, .log)", (".txt", ".csv", ".md", ".log"), _TEXT),
}
MB = 1024 * 1024


def sniff(data: bytes, name: str) -> str | None:
    """The content type of an allowed attachment, or None."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04"):
        ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return _OFFICE.get(ext, "application/zip")
    if b"\x00" not in data[:8192]:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return _TEXT
    return None


def _extension(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def allowed_by_policy(name: str, content_type: str, allowed_types) -> bool:
    """True when the file's name ending and its detected type both belong to one allowed kind (none listed: all)."""
    if not allowed_types:
        return True
    ext = _extension(name)
    return any(ext in FILE_TYPES[key][1] and content_type == FILE_TYPES[key][2]
               for key in allowed_types if key in FILE_TYPES)


def max_bytes(rules, files_policy=None) -> int:
    """The largest attachment: the install's limit, lowered by the tenant's file policy."""
    limit = rules.max_attachment_bytes
    if files_policy is not None and files_policy.max_mb:
        limit = min(limit, files_policy.max_mb * MB)
    return limit


def clean_name(name: str) -> str:
    """A display name for the file: its last path part, no control characters, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip() or "attachment"
    return base[-200:]


@dataclass(frozen=True)
class Upload:
    """An uploaded file that passed the policy, not stored yet."""

    name: str
    data: bytes
    content_type: str


def check_upload(upload, max_bytes: int, field: str = "attachment", allowed_types=()) -> Upload | None:
    """The uploaded file's name, bytes and type if it is within the limits and the tenant's allowed types (none
    named: any kind the product accepts); None when no file was chosen."""
    if upload is None or not upload.filename:
        return None
    data = upload.stream.read(max_bytes + 1)
    if not data:
        raise ValidationError(field, _l("The file is empty."))
    if len(data) > max_bytes:
        if max_bytes >= MB:
            raise ValidationError(field, _l("Files can be at most %(n)d MB.", n=max_bytes // MB))
        raise ValidationError(field, _l("Files can be at most %(n)d KB.", n=max(1, max_bytes // 1024)))
    name = clean_name(upload.filename)
    content_type = sniff(data, name)
    if content_type is None:
        raise ValidationError(field, _l("This kind of file cannot be sent. Images, PDF, Office documents, "
                                        "zip and text files can."))
    if not allowed_by_policy(name, content_type, allowed_types):
        raise ValidationError(field, _l("This kind of file cannot be sent in this organisation. Allowed: "
                                        "%(types)s.", types=", ".join(FILE_TYPES[k][0] for k in allowed_types
                                                                     if k in FILE_TYPES)))
    return Upload(name, data, content_type)


def store_upload(tenant, upload, rules, files_policy=None):
    """(blob, name) for an uploaded file within the install's rules and the tenant's file policy, (None, None) when
    there is none."""
    allowed_types = files_policy.allowed_types if files_policy is not None else ()
    checked = check_upload(upload, max_bytes(rules, files_policy), allowed_types=allowed_types)
    if checked is None:
        return None, None
    return save_blob(tenant, checked.data, checked.content_type), checked.name


def content_disposition(name: str) -> str:
    """An attachment header that carries any file name safely (RFC 6266)."""
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "") or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
