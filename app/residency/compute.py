"""Compute-only nodes keep no customer data at rest: request bodies and uploads stay in memory.

Werkzeug spools an uploaded file of more than 500 KiB to a temporary file on local disk. On a node whose role
is compute, uploads are kept in memory instead; MAX_CONTENT_LENGTH bounds how much one request may hold, and
the bytes go from memory straight to the blob store in the storage site.
"""
from __future__ import annotations

import io

from flask import Request


class InMemoryRequest(Request):
    """A request whose uploaded files are never written to a temporary file."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()
