"""Password hashing (scrypt through werkzeug) with a constant-time answer for unknown accounts."""
from __future__ import annotations

import secrets

from werkzeug.security import check_password_hash, generate_password_hash

_METHOD = "scrypt:32768:8:1"
# Compared against when the account does not exist, so timing does not reveal which logins exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=_METHOD)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_METHOD)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; False (after the same work) when there is no hash."""
    if not password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


def generate_one_time_password() -> str:
    """A password to read out once: 4 groups of 4 unambiguous characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
