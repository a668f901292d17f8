"""The JENKINS_HOME layout on disk: users.xml, users/<dir>/config.xml, apiTokenStats.xml, ..."""
from __future__ import annotations

import base64
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from . import xstream as xs
from .confidential import ConfidentialStore
from .tokens import HashedToken, TokenStats
from .users import User, id_key

HASHED_TOKEN_TAG = "jenkins.security.apitoken.ApiTokenStore_-HashedToken"
STATS_TAG = "jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats"
DETAILS_TAG = "hudson.security.HudsonPrivateSecurityRealm_-Details"
API_TOKEN_CONFIG_FILE = "jenkins.security.apitoken.ApiTokenPropertyConfiguration.xml"
READ_ID = "hudson.model.Hudson.Read"
ADMINISTER_ID = "hudson.model.Hudson.Administer"
# Homes written before <apiToken> was a real Secret hold this stand-in: base64 of the plaintext seed.
SEED_PREFIX = "jts-plain-b64:"


@dataclass
class ApiTokenConfig:
    """ApiTokenPropertyConfiguration with Jenkins' defaults."""

    token_generation_on_creation_enabled: bool = False
    creation_of_legacy_token_enabled: bool = False
    usage_statistics_enabled: bool = True


def decode_seed(text: str | None, store: ConfidentialStore) -> str | None:
    """The legacy token seed from <apiToken>: a Secret {AQAAAB...} as Jenkins writes it (or the old stand-in)."""
    if not text:
        return None
    if text.startswith(SEED_PREFIX):
        return base64.b64decode(text[len(SEED_PREFIX):]).decode("utf-8")
    try:
        return store.decrypt_secret(text)
    except ValueError:  # another instance's key files: Secret.decrypt gives null, the seed is lost
        return None


def dir_name_for(user_id: str) -> str:
    """UserIdMapper: filename-safe prefix of the id + '_' + a random number."""
    prefix = re.sub(r"[^A-Za-z0-9]", "_", id_key(user_id))[:24] or "user"
    return f"{prefix}_{secrets.randbelow(10**19 - 10**18) + 10**18}"


class JenkinsHome:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.users_dir = self.root / "users"
        self.secrets_dir = self.root / "secrets"
        self.confidential = ConfidentialStore(self.secrets_dir)  # master.key, hudson.util.Secret

    def init_layout(self) -> None:
        self.users_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.mkdir(parents=True, exist_ok=True)

    def secret_bytes(self, name: str, size: int = 32) -> bytes:
        """A per-home random key (plain bytes; real Jenkins encrypts these with master.key)."""
        path = self.secrets_dir / f"jts.{name}"
        if not path.is_file():
            self.secrets_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(secrets.token_bytes(size))
        return path.read_bytes()

    def secret_text(self, name: str, factory) -> str:
        path = self.secrets_dir / f"jts.{name}"
        if not path.is_file():
            self.secrets_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(factory(), encoding="ascii")
        return path.read_text(encoding="ascii").strip()

    # -- users.xml --------------------------------------------------------------------------

    def load_id_map(self) -> dict[str, str]:
        root = xs.read(self.users_dir / "users.xml")
        if root is None:
            # like UserIdMapper's first-run migration: every users/<dir>/config.xml counts
            return {d.name: d.name for d in sorted(self.users_dir.glob("*")) if (d / "config.xml").is_file()}
        mapping = {}
        for entry in root.iter("entry"):
            names = [s.text or "" for s in entry.findall("string")]
            if len(names) == 2:
                mapping[names[0]] = names[1]
        return mapping

    def save_id_map(self, users: list[User]) -> None:
        entries = [xs.element("entry", None, xs.element("string", u.key), xs.element("string", u.dir_name))
                   for u in sorted(users, key=lambda u: u.key)]
        root = xs.element("hudson.model.UserIdMapper", None, xs.element("version", "1"),
                          xs.element("idToDirectoryNameMap", None, *entries, **{"class": "concurrent-hash-map"}))
        xs.write_atomic(self.users_dir / "users.xml", root)

    # -- users/<dir>/config.xml -------------------------------------------------------------

    def save_user(self, user: User) -> None:
        prop = xs.element("jenkins.security.ApiTokenProperty")
        if user.legacy_seed is not None:
            prop.append(xs.element("apiToken", self.confidential.encrypt_secret(user.legacy_seed)))
        token_list = xs.element("tokenList", None, *[_token_xml(t) for t in user.tokens])
        prop.append(xs.element("tokenStore", None, token_list))
        properties = xs.element("properties", None, prop)
        if user.password_hash:
            properties.append(xs.element(DETAILS_TAG, None, xs.element("passwordHash", user.password_hash)))
        root = xs.element("user", None, xs.element("version", "10"), xs.element("id", user.id),
                          xs.element("fullName", user.full_name))
        if user.description is not None:
            root.append(xs.element("description", user.description))
        root.append(properties)
        xs.write_atomic(self.users_dir / user.dir_name / "config.xml", root)

    def load_user(self, dir_name: str) -> User | None:
        root = xs.read(self.users_dir / dir_name / "config.xml")
        if root is None:
            return None
        user_id = xs.text_of(root, "id") or dir_name
        user = User(id=user_id, dir_name=dir_name, full_name=xs.text_of(root, "fullName") or user_id,
                    description=xs.text_of(root, "description"))
        user.password_hash = xs.text_of(root.find(f"properties/{DETAILS_TAG}"), "passwordHash")
        prop = root.find("properties/jenkins.security.ApiTokenProperty")
        if prop is not None:
            user.legacy_seed = decode_seed(xs.text_of(prop, "apiToken"), self.confidential)
            user.tokens = [_token_from_xml(n) for n in prop.iterfind(f"tokenStore/tokenList/{HASHED_TOKEN_TAG}")]
        user.stats = self.load_stats(dir_name)
        return user

    # -- users/<dir>/apiTokenStats.xml ------------------------------------------------------

    def save_stats(self, user: User) -> None:
        entries = []
        for stats in user.stats.values():
            node = xs.element(STATS_TAG, None, xs.element("tokenUuid", stats.uuid))
            if stats.last_use_date is not None:
                node.append(xs.element("lastUseDate", xs.format_java_date(stats.last_use_date)))
            node.append(xs.element("useCounter", str(stats.use_counter)))
            entries.append(node)
        root = xs.element("jenkins.security.apitoken.ApiTokenStats", None, xs.element("tokenStats", None, *entries))
        xs.write_atomic(self.users_dir / user.dir_name / "apiTokenStats.xml", root)

    def load_stats(self, dir_name: str) -> dict[str, TokenStats]:
        root = xs.read(self.users_dir / dir_name / "apiTokenStats.xml")
        result: dict[str, TokenStats] = {}
        if root is None:
            return result
        for node in root.iterfind(f"tokenStats/{STATS_TAG}"):
            uuid = xs.text_of(node, "tokenUuid") or ""
            result[uuid] = TokenStats(uuid, int(xs.text_of(node, "useCounter") or "0"),
                                      xs.parse_java_date(xs.text_of(node, "lastUseDate")))
        return result

    def stats_file(self, user: User) -> Path:
        return self.users_dir / user.dir_name / "apiTokenStats.xml"

    # -- global configuration ---------------------------------------------------------------

    def load_api_token_config(self) -> ApiTokenConfig | None:
        root = xs.read(self.root / API_TOKEN_CONFIG_FILE)
        if root is None:
            return None
        defaults = ApiTokenConfig()
        return ApiTokenConfig(
            _bool(xs.text_of(root, "tokenGenerationOnCreationEnabled"), defaults.token_generation_on_creation_enabled),
            _bool(xs.text_of(root, "creationOfLegacyTokenEnabled"), defaults.creation_of_legacy_token_enabled),
            _bool(xs.text_of(root, "usageStatisticsEnabled"), defaults.usage_statistics_enabled))

    def save_api_token_config(self, config: ApiTokenConfig) -> None:
        root = xs.element(
            "jenkins.security.apitoken.ApiTokenPropertyConfiguration", None,
            xs.element("tokenGenerationOnCreationEnabled", _java_bool(config.token_generation_on_creation_enabled)),
            xs.element("creationOfLegacyTokenEnabled", _java_bool(config.creation_of_legacy_token_enabled)),
            xs.element("usageStatisticsEnabled", _java_bool(config.usage_statistics_enabled)))
        xs.write_atomic(self.root / API_TOKEN_CONFIG_FILE, root)

    def save_root_config(self, users: list[User], version: str, security_enabled: bool, anonymous_read: bool) -> None:
        """config.xml with a GlobalMatrixAuthorizationStrategy: where user permissions persist."""
        grants = [f"USER:{ADMINISTER_ID}:{u.id}" for u in users if u.admin]
        grants += [f"USER:{READ_ID}:{u.id}" for u in users if u.overall_read]
        if anonymous_read:
            grants.append(f"USER:{READ_ID}:anonymous")
        strategy = xs.element("authorizationStrategy", None, *[xs.element("permission", g) for g in sorted(grants)],
                              **{"class": "hudson.security.GlobalMatrixAuthorizationStrategy"})
        realm = xs.element("securityRealm", None, xs.element("disableSignup", "true"),
                           xs.element("enableCaptcha", "false"), **{"class": "hudson.security.HudsonPrivateSecurityRealm"})
        root = xs.element("hudson", None, xs.element("version", version),
                          xs.element("useSecurity", _java_bool(security_enabled)), strategy, realm)
        xs.write_atomic(self.root / "config.xml", root)

    def load_grants(self) -> tuple[set[str], set[str]]:
        """(admin id keys, Overall/Read id keys) from config.xml."""
        root = xs.read(self.root / "config.xml")
        admins: set[str] = set()
        readers: set[str] = set()
        if root is None:
            return admins, readers
        for node in root.iterfind("authorizationStrategy/permission"):
            kind, _, rest = (node.text or "").partition(":")
            permission, _, sid = rest.partition(":")
            target = admins if permission == ADMINISTER_ID else readers if permission == READ_ID else None
            if kind == "USER" and target is not None:
                target.add(id_key(sid))
        return admins, readers


def _token_xml(token: HashedToken) -> ET.Element:
    node = xs.element(HASHED_TOKEN_TAG, None, xs.element("uuid", token.uuid), xs.element("name", token.name))
    if token.creation_date is not None:
        node.append(xs.element("creationDate", xs.format_java_date(token.creation_date)))
    if token.expiration_date is not None:
        node.append(xs.element("expirationDate", xs.format_local_date(token.expiration_date)))
    node.append(xs.element("value", None, xs.element("version", token.version), xs.element("hash", token.hash)))
    return node


def _token_from_xml(node: ET.Element) -> HashedToken:
    value = node.find("value")
    return HashedToken(
        uuid=xs.text_of(node, "uuid") or "",
        name=xs.text_of(node, "name") or "",
        creation_date=xs.parse_java_date(xs.text_of(node, "creationDate")),
        version=xs.text_of(value, "version") or "",
        hash=xs.text_of(value, "hash") or "",
        expiration_date=xs.parse_local_date(xs.text_of(node, "expirationDate")))


def _bool(text: str | None, default: bool) -> bool:
    return default if text is None else text.strip() == "true"


def _java_bool(value: bool) -> str:
    return "true" if value else "false"
