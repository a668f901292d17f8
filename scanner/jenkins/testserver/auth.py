"""Who is calling (BasicHeaderProcessor, facts sheet §2) and what they may do (§4 permissions)."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .users import User, same_id


@dataclass(frozen=True)
class Permission:
    id: str
    implied_by: tuple[str, ...]


READ = Permission("hudson.model.Hudson.Read",
                  ("hudson.security.Permission.GenericRead", "hudson.model.Hudson.Administer"))
ADMINISTER = Permission("hudson.model.Hudson.Administer", ())


@dataclass(frozen=True)
class Auth:
    name: str  # "anonymous" or the canonical stored user id
    user: User | None = None
    via_token: bool = False  # sets the CSRF exemption (ApiCrumbExclusion)

    @property
    def anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Auth("anonymous")


class MalformedBasicHeader(ValueError):
    """"Malformed HTTP basic Authorization header": answered with a 401 like bad credentials."""


class AccessDenied(Exception):
    """permission None: a plain AccessDeniedException (e.g. anonymous /me)."""

    def __init__(self, permission: Permission | None, message: str = "") -> None:
        super().__init__(message or (permission.id if permission else "access denied"))
        self.permission = permission


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(username, secret) for a 'Basic ' header (any case); None when there is no Basic header."""
    if header is None or not header.lower().startswith("basic "):
        return None
    encoded = header[6:]
    # Java's Base64 decoder does not require padding
    encoded += "=" * (-len(encoded) % 4)
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as exc:
        raise MalformedBasicHeader("Malformed HTTP basic Authorization header") from exc
    username, colon, secret = decoded.partition(":")
    if not colon:
        raise MalformedBasicHeader("Malformed HTTP basic Authorization header")
    return username, secret


@dataclass(frozen=True)
class Authorizer:
    """The global authorization strategy plus User.getACL()'s "owner gets everything" rule."""

    security_enabled: bool
    anonymous_read: bool

    def has(self, auth: Auth, permission: Permission) -> bool:
        if not self.security_enabled:
            return True
        if auth.user is None:
            return permission is READ and self.anonymous_read
        return auth.user.admin or (permission is READ and auth.user.overall_read)

    def has_on_user(self, auth: Auth, target: User, permission: Permission) -> bool:
        if auth.user is not None and same_id(auth.user.id, target.id):
            return True
        return self.has(auth, permission)

    def check(self, auth: Auth, permission: Permission) -> None:
        if not self.has(auth, permission):
            raise AccessDenied(permission)

    def check_on_user(self, auth: Auth, target: User, permission: Permission) -> None:
        if not self.has_on_user(auth, target, permission):
            raise AccessDenied(permission)
