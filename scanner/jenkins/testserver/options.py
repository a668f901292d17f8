"""Server options: the Jenkins version to imitate and every switch the facts sheet leaves open."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

VersionTuple = tuple[int, ...]

# Versions at which behaviour the server imitates changed (facts sheet §1, §4, §5, §6).
V_NEW_TOKENS = (2, 129)
V_REVOKE_ALL = (2, 260)
V_SECURITY_PAGE = (2, 468)
V_TOKEN_CARDS = (2, 505)
V_CRUMB_WITHOUT_IP = (2, 543)
V_EXPIRING_TOKENS = (2, 548)

ConfigurePageMode = Literal["auto", "tokens", "account", "absent"]


def parse_version(version: str) -> VersionTuple:
    """'2.578' -> (2, 578); '2.541.2' -> (2, 541, 2); raises ValueError on anything else."""
    parts = version.strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a Jenkins version: {version!r}")
    return tuple(int(p) for p in parts)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ServerOptions:
    """How the test server behaves. Fields marked (open) cover facts the sheet could not confirm."""

    version: str = "2.578"
    security_enabled: bool = True
    # Matrix permission "anonymous: Overall/Read" (off on a typical secured instance).
    anonymous_read: bool = False
    # Root URL as configured in Jenkins (JenkinsLocationConfiguration); None = the bound address.
    root_url: str | None = None

    # ApiTokenPropertyConfiguration switches; None keeps what the home's XML file says
    # (Jenkins defaults false/false/true when the file is absent), a value overrides and is saved.
    usage_statistics_enabled: bool | None = None
    token_generation_on_creation_enabled: bool | None = None
    creation_of_legacy_token_enabled: bool | None = None

    # System properties (-D...) of real Jenkins.
    admin_can_generate_new_tokens: bool = False  # jenkins.security.ApiTokenProperty.adminCanGenerateNewTokens
    show_token_to_admins: bool = False  # jenkins.security.ApiTokenProperty.showTokenToAdmins
    ignore_basic_auth: bool = False  # jenkins.security.ignoreBasicAuth: no passwords in Basic auth
    csrf_protection: bool = True  # False = DISABLE_CSRF_PROTECTION: no crumb issuer (404), no checks

    # (open) Whether the 401 carries X-Jenkins/X-Jenkins-Session (sheet: probably not).
    x_jenkins_on_401: bool = False
    # (inferred) Spring remember-me loginFail cancels the cookie on a failed Basic login.
    remember_me_cancel_cookie_on_401: bool = True
    # (open) Whether anonymous 403s carry X-You-Are-Authenticated-As / X-Required-Permission.
    anonymous_403_permission_headers: bool = False
    # (inferred) whoAmI reports authenticated:true for anonymous callers.
    anonymous_authenticated: bool = True
    # (inferred) revokeAll/revokeAllExcept keep the legacy <apiToken> secret, so the legacy
    # token comes back (with a new UUID) when the user is reloaded, e.g. after a restart.
    revoke_all_keeps_legacy_secret: bool = True
    # (inferred) The v10 entry re-created from <apiToken> on load is not saved, so its UUID
    # changes on every restart until something else saves the user.
    persist_migrated_legacy_token: bool = False
    # (open) /user/<id>/configure: "auto" = token list before 2.468, account page without
    # tokens from 2.468; "tokens" = always list tokens there; "absent" = 404 from 2.468.
    configure_page: ConfigurePageMode = "auto"
    # (open) rename with a blank tokenUuid: None = 400 before 2.505, 200 error JSON after.
    rename_blank_uuid_is_400: bool | None = None
    # (inferred) Days before expiry at which generateNewToken reports aboutToExpire:true.
    about_to_expire_days: int = 7
    # (open) Winstone's session cookie name; None = "JSESSIONID." + 8 random hex per start.
    session_cookie_name: str | None = None
    # None = by version: the client IP is part of the crumb before 2.543.
    crumb_includes_ip: bool | None = None

    # -Dhudson.security.ExtendedReadPermission: Item/Computer ExtendedRead grants count (off in Jenkins).
    extended_read_permission: bool = False
    # Delay before every answer (a remote Jenkins, for crawl benchmarks); 0 = none.
    latency_ms: int = 0

    server_header: str = "Jetty(12.0.25)"
    # Kept low so tests stay fast; the hash is a test double for jBCrypt.
    password_hash_iterations: int = 1000
    # Injectable clock (UTC-aware) for expiry and "N day(s) ago" tests.
    clock: Callable[[], datetime] = utc_now

    def __post_init__(self) -> None:
        if self.version_tuple < V_NEW_TOKENS:
            raise ValueError(f"versions before 2.129 are not imitated: {self.version}")

    @property
    def version_tuple(self) -> VersionTuple:
        return parse_version(self.version)

    def at_least(self, version: VersionTuple) -> bool:
        return self.version_tuple >= version

    @property
    def token_cards(self) -> bool:
        return self.at_least(V_TOKEN_CARDS)

    @property
    def has_security_page(self) -> bool:
        return self.at_least(V_SECURITY_PAGE)

    @property
    def has_expiring_tokens(self) -> bool:
        return self.at_least(V_EXPIRING_TOKENS)

    @property
    def has_revoke_all(self) -> bool:
        return self.at_least(V_REVOKE_ALL)

    @property
    def crumb_uses_ip(self) -> bool:
        if self.crumb_includes_ip is not None:
            return self.crumb_includes_ip
        return not self.at_least(V_CRUMB_WITHOUT_IP)

    @property
    def rename_blank_uuid_400(self) -> bool:
        if self.rename_blank_uuid_is_400 is not None:
            return self.rename_blank_uuid_is_400
        return not self.at_least(V_TOKEN_CARDS)

    @property
    def configure_mode(self) -> Literal["tokens", "account", "absent"]:
        if self.configure_page != "auto":
            return self.configure_page
        return "account" if self.has_security_page else "tokens"
