"""API token values, their stored hashes and Jenkins' matching rules (facts sheet §1)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid as uuid_mod
from dataclasses import dataclass
from datetime import date, datetime

HASH_VERSION = "11"
LEGACY_VERSION = "10"
TOKEN_LENGTH_V2 = 34
LEGACY_TOKEN_NAME = "Legacy Token"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """The 32 lowercase hex characters of a new-format token (without the "11" prefix)."""
    return secrets.token_hex(16)


def new_uuid() -> str:
    return str(uuid_mod.uuid4())


def legacy_token_from_seed(seed: str) -> str:
    """Util.getDigestOf(seed): MD5 hex, the value a legacy-token user sees."""
    return hashlib.md5(seed.encode("utf-8")).hexdigest()


def random_legacy_seed() -> str:
    """The seed _changeApiToken() makes: hex of 16 random bytes."""
    return secrets.token_hex(16)


def deterministic_legacy_seed(seed_key: bytes, user_id: str) -> str:
    """API_KEY_SEED.mac(userId): HMAC-SHA256 truncated to 16 bytes, hex."""
    return hmac.new(seed_key, user_id.encode("utf-8"), hashlib.sha256).digest()[:16].hex()


def presented_hash(presented: str | None) -> str | None:
    """The hash Jenkins compares: 34 chars -> drop ANY 2-char prefix; other lengths -> whole string."""
    if presented is None or not presented.strip():
        return None
    if len(presented) == TOKEN_LENGTH_V2:
        return sha256_hex(presented[2:])
    return sha256_hex(presented)


@dataclass
class HashedToken:
    """ApiTokenStore$HashedToken as stored in the user's config.xml."""

    uuid: str
    name: str
    creation_date: datetime | None
    version: str
    hash: str
    expiration_date: date | None = None

    @property
    def legacy(self) -> bool:
        return self.version == LEGACY_VERSION

    def is_expired(self, today: date) -> bool:
        return self.expiration_date is not None and self.expiration_date < today

    def matches(self, candidate_hash: str, today: date) -> bool:
        if self.is_expired(today):
            return False
        return hmac.compare_digest(self.hash.encode("ascii"), candidate_hash.encode("ascii"))


@dataclass
class TokenStats:
    """ApiTokenStats$SingleTokenStats."""

    uuid: str
    use_counter: int = 0
    last_use_date: datetime | None = None


def find_matching_token(tokens: list[HashedToken], presented: str | None, today: date) -> HashedToken | None:
    """ApiTokenStore.findMatchingToken: compare against every token of the user, legacy included."""
    candidate = presented_hash(presented)
    if candidate is None:
        return None
    found = None
    for token in tokens:
        # no early exit, so the time taken does not depend on which token matched
        if token.matches(candidate, today) and found is None:
            found = token
    return found


def new_token(name: str, now: datetime, expiration: date | None) -> tuple[str, HashedToken]:
    """Returns the plaintext "11"+32hex and the entry to store (only its hash is kept)."""
    secret = new_secret()
    token = HashedToken(new_uuid(), name, now, HASH_VERSION, sha256_hex(secret), expiration)
    return HASH_VERSION + secret, token


def fixed_token(name: str, plain_value: str, now: datetime, expiration: date | None) -> HashedToken:
    """ApiTokenStore.addFixedNewToken: plain value must be "11" + 32 characters."""
    if len(plain_value) != TOKEN_LENGTH_V2 or not plain_value.startswith(HASH_VERSION):
        raise ValueError("the token value must be 34 characters starting with 11")
    return HashedToken(new_uuid(), name, now, HASH_VERSION, sha256_hex(plain_value[2:]), expiration)


def legacy_entry(seed: str, created: datetime | None) -> HashedToken:
    """The v10 store entry for a legacy token; created is None when migrated on load."""
    return HashedToken(new_uuid(), LEGACY_TOKEN_NAME, created, LEGACY_VERSION,
                       sha256_hex(legacy_token_from_seed(seed)))
