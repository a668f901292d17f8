"""Per-item permissions as the matrix-auth plugin grants them (facts sheet 9.2, 9.5).

Global: Overall/Administer holds everything; a user (or anonymous, with anonymous_read) holding
Overall/Read also holds Job/Read and Job/Discover on every item, as a typical matrix grants.
Per item: the item's ``AuthorizationMatrixProperty`` in its config.xml adds grants, and its
inheritance strategy decides whether the parent's (and in the end the global) grants count:
``NonInheritingStrategy`` stops the walk, so only that item's own grants (and admins) remain.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .auth import Auth, Authorizer, Permission
from .items import Item
from .options import ServerOptions
from .users import same_id

GENERIC_READ = "hudson.security.Permission.GenericRead"
ADMIN = "hudson.model.Hudson.Administer"
WRITE_CHAIN = ("hudson.security.Permission.GenericConfigure", "hudson.security.Permission.GenericUpdate",
               "hudson.security.Permission.GenericWrite", ADMIN)

ITEM_READ = Permission("hudson.model.Item.Read", (GENERIC_READ, ADMIN))
ITEM_DISCOVER = Permission("hudson.model.Item.Discover", ("hudson.model.Item.Read", GENERIC_READ, ADMIN))
ITEM_CONFIGURE = Permission("hudson.model.Item.Configure", WRITE_CHAIN)
ITEM_EXTENDED_READ = Permission("hudson.model.Item.ExtendedRead", ("hudson.model.Item.Configure", *WRITE_CHAIN))
COMPUTER_CONFIGURE = Permission("hudson.model.Computer.Configure", WRITE_CHAIN)
COMPUTER_EXTENDED_READ = Permission("hudson.model.Computer.ExtendedRead", ("hudson.model.Computer.Configure",
                                                                           *WRITE_CHAIN))
# short names tests use with HomeContent.grant
NAMES = {"read": ITEM_READ.id, "discover": ITEM_DISCOVER.id, "extended_read": ITEM_EXTENDED_READ.id,
         "configure": ITEM_CONFIGURE.id}
MATRIX_PROPERTIES = ("hudson.security.AuthorizationMatrixProperty",
                     "com.cloudbees.hudson.plugins.folder.properties.AuthorizationMatrixProperty")
NON_INHERITING = "org.jenkinsci.plugins.matrixauth.inheritance.NonInheritingStrategy"


def matrix_property(config: ET.Element) -> ET.Element | None:
    for tag in MATRIX_PROPERTIES:
        found = config.find(f"properties/{tag}")
        if found is not None:
            return found
    return None


def item_grants(item: Item, auth: Auth) -> tuple[set[str], bool]:
    """(permission ids granted to the caller on this item, whether the parent's grants count)."""
    prop = matrix_property(item.config)
    if prop is None:
        return set(), True
    granted = set()
    for node in prop.iterfind("permission"):
        parts = (node.text or "").strip().split(":")
        if len(parts) == 3:
            parts = parts[1:]  # USER:perm:sid (matrix-auth 3.x); the old form is perm:sid
        if len(parts) != 2:
            continue
        permission, sid = parts
        if (sid == "anonymous" and auth.anonymous) or (sid == "authenticated" and not auth.anonymous) \
                or (not auth.anonymous and same_id(sid, auth.name)):
            granted.add(permission)
    strategy = prop.find("inheritanceStrategy")
    inherits = strategy is None or strategy.get("class") != NON_INHERITING
    return granted, inherits


class ItemAcl:
    def __init__(self, authorizer: Authorizer, options: ServerOptions) -> None:
        self.authorizer = authorizer
        self.options = options

    def _global(self, auth: Auth) -> set[str]:
        if auth.user is None:
            return {ITEM_READ.id, ITEM_DISCOVER.id} if self.authorizer.anonymous_read else set()
        return {ITEM_READ.id, ITEM_DISCOVER.id} if auth.user.overall_read else set()

    def satisfying(self, permission: Permission) -> set[str]:
        """Ids whose grant gives ``permission``: itself (when enabled) and what implies it."""
        ids = {permission.id, *permission.implied_by}
        if permission is ITEM_EXTENDED_READ and not self.options.extended_read_permission:
            ids.discard(permission.id)  # Permission.enabled is false: a grant of it alone counts for nothing
        return ids

    def has(self, auth: Auth, item: Item, permission: Permission) -> bool:
        if not self.authorizer.security_enabled or (auth.user is not None and auth.user.admin):
            return True
        granted: set[str] = set()
        node: Item | None = item
        while node is not None:
            own, inherits = item_grants(node, auth)
            granted |= own
            if not inherits:
                break
            node = node.parent
        else:
            granted |= self._global(auth)
        return bool(granted & self.satisfying(permission))

    def has_on_computer(self, auth: Auth, permission: Permission) -> bool:
        """Agents have no per-node grants here: Computer permissions come with Overall/Administer."""
        return not self.authorizer.security_enabled or (auth.user is not None and auth.user.admin)
