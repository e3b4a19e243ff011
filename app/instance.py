"""The install's data directory and secret key."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.config import Settings


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data directory (and the SQLite database's folder) with owner-and-group access only."""
    path = Path(settings.data_dir)
    path.mkdir(mode=0o750, parents=True, exist_ok=True)
    if settings.database.startswith("sqlite:///"):
        Path(settings.database[len("sqlite:///"):]).parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    return path


def ensure_secret_key(settings: Settings) -> bool:
    """Write a new random secret key (mode 0600) unless one exists; True when it was created."""
    path = settings.secret_key_path
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
    return True
