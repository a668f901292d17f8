"""Salted password hashes: a PBKDF2 stand-in for Jenkins' jBCrypt."""
from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "#jts-pbkdf2"


def hash_password(password: str, iterations: int) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), iterations)
    return f"{PREFIX}:{iterations}:{salt}:{digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        prefix, iterations, salt, expected = stored.split(":")
        if prefix != PREFIX:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)
