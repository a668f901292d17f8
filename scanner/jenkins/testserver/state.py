"""All mutable Jenkins state (users, tokens, stats, global token config), guarded by one lock."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import NamedTuple

from . import tokens as tk
from .home import ApiTokenConfig, JenkinsHome, dir_name_for
from .options import ServerOptions
from .passwords import hash_password, verify_password
from .tokens import HashedToken, TokenStats
from .users import User, id_key


@dataclass(frozen=True)
class CreatedToken:
    uuid: str
    name: str
    value: str = field(repr=False)  # kept out of repr so assertion output never shows it
    expiration_date: date | None = None


class TokenInfo(NamedTuple):
    uuid: str
    name: str
    use_counter: int
    legacy: bool


@dataclass(frozen=True)
class TokenDetails:
    uuid: str
    name: str
    legacy: bool
    creation_date: datetime | None
    expiration_date: date | None
    use_counter: int
    last_use_date: datetime | None


class UnknownUserError(KeyError):
    pass


class JenkinsState:
    def __init__(self, home: JenkinsHome, options: ServerOptions) -> None:
        self.home = home
        self.options = options
        self.lock = threading.RLock()
        self._users: dict[str, User] = {}
        home.init_layout()
        self.seed_key = home.secret_bytes("ApiTokenProperty.seed")
        self.api_config = self._load_api_config()
        self._load_users()
        self._save_root_config()

    # -- time -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.options.clock()

    def today(self) -> date:
        return self.now().date()

    # -- loading ----------------------------------------------------------------------------

    def _load_api_config(self) -> ApiTokenConfig:
        stored = self.home.load_api_token_config()
        config = stored or ApiTokenConfig()
        overrides = {name: getattr(self.options, name) for name in vars(config)
                     if getattr(self.options, name) is not None}
        config = replace(config, **overrides)
        if stored is None or overrides:
            self.home.save_api_token_config(config)
        return config

    def _load_users(self) -> None:
        admins, readers = self.home.load_grants()
        for dir_name in self.home.load_id_map().values():
            user = self.home.load_user(dir_name)
            if user is None:
                continue
            user.admin = user.key in admins
            user.overall_read = user.key in readers
            self._migrate_legacy(user)
            self._users[user.key] = user

    def _migrate_legacy(self, user: User) -> None:
        """setUser() -> regenerateTokenFromLegacyIfRequired: re-add the v10 entry from <apiToken>."""
        if user.legacy_seed is None or user.legacy_entry() is not None:
            return
        user.tokens.append(tk.legacy_entry(user.legacy_seed, None))
        if self.options.persist_migrated_legacy_token:
            self.home.save_user(user)

    def _save_root_config(self) -> None:
        self.home.save_root_config(list(self._users.values()), self.options.version,
                                   self.options.security_enabled, self.options.anonymous_read)

    # -- users ------------------------------------------------------------------------------

    def find(self, user_id: str) -> User | None:
        with self.lock:
            return self._users.get(id_key(user_id))

    def require(self, user_id: str) -> User:
        user = self.find(user_id)
        if user is None:
            raise UnknownUserError(user_id)
        return user

    def user_ids(self) -> list[str]:
        with self.lock:
            return [u.id for u in self._users.values()]

    def add_user(self, user_id: str, password: str | None, *, admin: bool, overall_read: bool,
                 full_name: str | None, description: str | None) -> User:
        with self.lock:
            if id_key(user_id) in self._users:
                raise ValueError(f"user exists: {user_id}")
            user = User(id=user_id, dir_name=dir_name_for(user_id), full_name=full_name or user_id,
                        description=description, admin=admin, overall_read=overall_read)
            if password is not None:
                user.password_hash = hash_password(password, self.options.password_hash_iterations)
            if self.api_config.token_generation_on_creation_enabled:
                # DescriptorImpl.newInstance: new users get the deterministic legacy token
                user.legacy_seed = tk.deterministic_legacy_seed(self.seed_key, user.id)
                user.tokens.append(tk.legacy_entry(user.legacy_seed, None))
            self._users[user.key] = user
            self.home.save_user(user)
            self.home.save_id_map(list(self._users.values()))
            self._save_root_config()
            return user

    def rename_user(self, old_id: str, new_id: str) -> None:
        """A user whose id changed (a realm migration, an edited users/ directory): tokens follow the user."""
        with self.lock:
            user = self.require(old_id)
            if id_key(new_id) in self._users and id_key(new_id) != user.key:
                raise ValueError(f"user exists: {new_id}")
            del self._users[user.key]
            user.id = new_id
            self._users[user.key] = user
            self.home.save_user(user)
            self.home.save_id_map(list(self._users.values()))
            self._save_root_config()

    def all_users(self) -> list[User]:
        with self.lock:
            return sorted(self._users.values(), key=lambda u: u.key)

    def set_permissions(self, user_id: str, *, admin: bool | None, overall_read: bool | None) -> None:
        with self.lock:
            user = self.require(user_id)
            if admin is not None:
                user.admin = admin
            if overall_read is not None:
                user.overall_read = overall_read
            self._save_root_config()

    def check_password(self, user: User, password: str) -> bool:
        return verify_password(password, user.password_hash)

    # -- token creation ---------------------------------------------------------------------

    def default_token_name(self) -> str:
        """Messages Token.Created.on + ISO_OFFSET_DATE_TIME(now)."""
        stamp = self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return f"Token created on {stamp}"

    def create_token(self, user_id: str, name: str | None = None, *, expiration_date: date | None = None,
                     creation_date: datetime | None = None) -> CreatedToken:
        with self.lock:
            user = self.require(user_id)
            token_name = name if name and name.strip() else self.default_token_name()
            plain, entry = tk.new_token(token_name, creation_date or self.now(), expiration_date)
            user.tokens.append(entry)
            self.home.save_user(user)
            return CreatedToken(entry.uuid, entry.name, plain, expiration_date)

    def add_fixed_token(self, user: User, name: str, plain_value: str, expiration: date | None) -> HashedToken:
        with self.lock:
            entry = tk.fixed_token(name, plain_value, self.now(), expiration)
            user.tokens.append(entry)
            self.home.save_user(user)
            return entry

    def create_legacy_token(self, user_id: str, *, deterministic: bool = False) -> CreatedToken:
        """Give the user a (new) legacy token: <apiToken> seed + v10 entry, as changeApiToken does."""
        with self.lock:
            user = self.require(user_id)
            seed = (tk.deterministic_legacy_seed(self.seed_key, user.id) if deterministic
                    else tk.random_legacy_seed())
            entry = self._replace_legacy(user, seed)
            return CreatedToken(entry.uuid, entry.name, tk.legacy_token_from_seed(seed))

    def _replace_legacy(self, user: User, seed: str) -> HashedToken:
        old = user.legacy_entry()
        if old is not None:
            user.tokens.remove(old)
            self._remove_stats(user, [old.uuid])
        user.legacy_seed = seed
        entry = tk.legacy_entry(seed, self.now())
        user.tokens.append(entry)
        self.home.save_user(user)
        return entry

    def legacy_token_value(self, user: User) -> str | None:
        """getApiTokenInsecure(): the md5 the owner may see."""
        return None if user.legacy_seed is None else tk.legacy_token_from_seed(user.legacy_seed)

    def create_user_by_legacy_token(self, username: str, presented: str) -> User | None:
        """BasicApiTokenHelper: unknown user + its deterministic legacy token creates the user."""
        with self.lock:
            if not self.api_config.token_generation_on_creation_enabled or self.find(username) is not None:
                return None
            seed = tk.deterministic_legacy_seed(self.seed_key, username)
            if presented != tk.legacy_token_from_seed(seed):
                return None
            return self.add_user(username, None, admin=False, overall_read=False, full_name=None, description=None)

    # -- authentication and statistics ------------------------------------------------------

    def authenticate_token(self, user: User, presented: str) -> HashedToken | None:
        """ApiTokenProperty.matchesPassword: match, then record the use."""
        with self.lock:
            match = tk.find_matching_token(user.tokens, presented, self.today())
            if match is not None:
                self._record_use(user, match)
            return match

    def token_works(self, user_id: str, presented: str) -> bool:
        with self.lock:
            user = self.find(user_id)
            return user is not None and tk.find_matching_token(user.tokens, presented, self.today()) is not None

    def _record_use(self, user: User, token: HashedToken) -> None:
        """ApiTokenStats.updateUsageForId: counter++, lastUseDate=now, synchronous save."""
        if not self.api_config.usage_statistics_enabled:
            return
        stats = user.stats.setdefault(token.uuid, TokenStats(token.uuid))
        stats.use_counter += 1
        stats.last_use_date = self.now()
        self.home.save_stats(user)

    def set_use_counter(self, user_id: str, token_uuid: str, count: int) -> None:
        """Overwrite one token's counter, as a restored or hand-edited apiTokenStats.xml would."""
        with self.lock:
            user = self.require(user_id)
            user.stats.setdefault(token_uuid, TokenStats(token_uuid)).use_counter = count
            self.home.save_stats(user)

    def _remove_stats(self, user: User, uuids: list[str]) -> None:
        removed = [u for u in uuids if user.stats.pop(u, None) is not None]
        if removed and self.api_config.usage_statistics_enabled:
            self.home.save_stats(user)

    def set_api_config(self, **changes: bool) -> None:
        with self.lock:
            self.api_config = replace(self.api_config, **changes)
            self.home.save_api_token_config(self.api_config)

    # -- token management -------------------------------------------------------------------

    def revoke(self, user: User, token_uuid: str) -> HashedToken | None:
        with self.lock:
            token = user.token(token_uuid)
            if token is not None:
                user.tokens.remove(token)
                if token.legacy:
                    user.legacy_seed = None  # revoking the legacy token also clears <apiToken>
                self._remove_stats(user, [token.uuid])
            self.home.save_user(user)
            return token

    def rename(self, user: User, token_uuid: str, new_name: str) -> bool:
        with self.lock:
            token = user.token(token_uuid)
            if token is None:
                return False
            token.name = new_name
            self.home.save_user(user)
            return True

    def revoke_all_except(self, user: User, keep_uuid: str | None) -> None:
        """revokeAll (keep_uuid None) / revokeAllExcept: an unknown keep_uuid revokes everything."""
        with self.lock:
            removed = [t for t in user.tokens if t.uuid != keep_uuid]
            user.tokens = [t for t in user.tokens if t.uuid == keep_uuid]
            if any(t.legacy for t in removed) and not self.options.revoke_all_keeps_legacy_secret:
                user.legacy_seed = None
            self._remove_stats(user, [t.uuid for t in removed])
            self.home.save_user(user)

    def change_legacy_token(self, user: User) -> str:
        with self.lock:
            seed = tk.random_legacy_seed()
            self._replace_legacy(user, seed)
            return tk.legacy_token_from_seed(seed)

    # -- inspection -------------------------------------------------------------------------

    def list_tokens(self, user_id: str) -> list[TokenInfo]:
        with self.lock:
            user = self.require(user_id)
            return [TokenInfo(t.uuid, t.name, user.stats_for(t.uuid).use_counter, t.legacy) for t in user.tokens]

    def token_details(self, user_id: str) -> list[TokenDetails]:
        with self.lock:
            user = self.require(user_id)
            result = []
            for t in user.tokens:
                stats = user.stats_for(t.uuid)
                result.append(TokenDetails(t.uuid, t.name, t.legacy, t.creation_date, t.expiration_date,
                                           stats.use_counter, stats.last_use_date))
            return result
