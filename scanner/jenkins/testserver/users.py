"""The user record: identity, realm password, global permissions and the ApiTokenProperty."""
from __future__ import annotations

from dataclasses import dataclass, field

from .tokens import HashedToken, TokenStats


def id_key(user_id: str) -> str:
    """IdStrategy.CASE_INSENSITIVE.keyFor: ids compare lower-cased."""
    return user_id.lower()


def same_id(a: str, b: str) -> bool:
    return id_key(a) == id_key(b)


@dataclass
class User:
    id: str
    dir_name: str
    full_name: str
    description: str | None = None
    password_hash: str | None = None
    admin: bool = False  # Overall/Administer in the matrix
    overall_read: bool = False  # Overall/Read in the matrix
    legacy_seed: str | None = None  # plaintext of the <apiToken> Secret
    tokens: list[HashedToken] = field(default_factory=list)
    stats: dict[str, TokenStats] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return id_key(self.id)

    @property
    def can_read(self) -> bool:
        return self.admin or self.overall_read

    def legacy_entry(self) -> HashedToken | None:
        return next((t for t in self.tokens if t.legacy), None)

    def token(self, token_uuid: str) -> HashedToken | None:
        return next((t for t in self.tokens if t.uuid == token_uuid), None)

    def stats_for(self, token_uuid: str) -> TokenStats:
        return self.stats.get(token_uuid) or TokenStats(token_uuid)
