"""JenkinsTestServer: a protocol-faithful Jenkins double on 127.0.0.1 with its state in a JENKINS_HOME."""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from datetime import date, datetime
from pathlib import Path

from .app import JenkinsApp
from .auth import Authorizer
from .context import Services
from .faults import Faults
from .handler import JenkinsHTTPServer
from .home import JenkinsHome
from .home_content import HomeContent
from .options import ServerOptions
from .reqlog import RequestLog
from .responses import Site
from .sessions import SessionStore
from .sso import SsoServer
from .state import CreatedToken, JenkinsState, TokenDetails, TokenInfo


def session_hash(version: str, start_millis: int) -> str:
    """Jenkins.SESSION_HASH: first 8 hex of md5(version + startMillis)."""
    return hashlib.md5(f"{version}{start_millis}".encode()).hexdigest()[:8]


def fake_instance_identity() -> str:
    """Base64 DER SubjectPublicKeyInfo of an RSA-2048 key shape (random modulus, not a usable key)."""
    modulus = secrets.randbits(2048) | (1 << 2047) | 1
    n = b"\x00" + modulus.to_bytes(256, "big")
    rsa_key = _der(0x30, _der(0x02, n) + _der(0x02, b"\x01\x00\x01"))
    algorithm = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    return base64.b64encode(_der(0x30, algorithm + _der(0x03, b"\x00" + rsa_key))).decode()


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


class JenkinsTestServer:
    """Start with `with JenkinsTestServer(home) as srv:`; state lives in `home` and survives restarts."""

    def __init__(self, home: Path | str, options: ServerOptions | None = None, *, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        self.options = options or ServerOptions()
        self.home = Path(home)
        self.host = host
        self._port = port
        self._home = JenkinsHome(self.home)
        self.state = JenkinsState(self._home, self.options)
        self.content = HomeContent(self.home, self._home.confidential)  # jobs, builds, nodes, credential stores
        self.faults = Faults()
        self.requests = RequestLog()
        self.sso_requests = RequestLog()  # requests that reached the external SSO origin
        self._httpd: JenkinsHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._sso: SsoServer | None = None
        self._sso_lock = threading.Lock()
        self.session_hash = ""

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "JenkinsTestServer":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self.session_hash = session_hash(self.options.version, int(time.time() * 1000))
        cookie = self.options.session_cookie_name or f"JSESSIONID.{secrets.token_hex(4)}"
        identity = self._home.secret_text("instance-identity", fake_instance_identity)
        crumb_salt = self._home.secret_bytes("crumbSalt").hex()
        self._httpd = JenkinsHTTPServer((self.host, self._port), self.options.server_header)
        self._port = self._httpd.server_address[1]  # the root URL needs the bound port
        site = Site(self.options.version, self.session_hash, identity, self.options.root_url or self.url)
        svc = Services(self.state, self.options, site, SessionStore(cookie),
                       Authorizer(self.options.security_enabled, self.options.anonymous_read), crumb_salt)
        self._httpd.app = JenkinsApp(svc, self.faults, self.requests, self._stopping, self._sso_origin)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"jts-jenkins-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_connections()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._sso_lock:
            if self._sso is not None:
                self._sso.stop()
                self._sso = None

    def restart(self) -> "JenkinsTestServer":
        """A new server process on the same home and port: state reloaded from disk, new session hash."""
        self.stop()
        self.state = JenkinsState(self._home, self.options)
        return self.start()

    def __enter__(self) -> "JenkinsTestServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self._port}/"

    @property
    def version(self) -> str:
        return self.options.version

    def _sso_origin(self) -> str:
        with self._sso_lock:
            if self._sso is None:
                self._sso = SsoServer(self.host, self.sso_requests)
            return self._sso.origin

    @property
    def sso_url(self) -> str:
        """Origin of the external SSO server (started on first use)."""
        return self._sso_origin() + "/"

    # -- users and tokens (direct state access for test setup and assertions) ----------------

    def add_user(self, user_id: str, password: str | None = None, *, admin: bool = False,
                 overall_read: bool = True, full_name: str | None = None, description: str | None = None) -> None:
        self.state.add_user(user_id, password, admin=admin, overall_read=overall_read, full_name=full_name,
                            description=description)

    def set_permissions(self, user_id: str, *, admin: bool | None = None, overall_read: bool | None = None) -> None:
        self.state.set_permissions(user_id, admin=admin, overall_read=overall_read)

    def rename_user(self, old_id: str, new_id: str) -> None:
        self.state.rename_user(old_id, new_id)

    def users(self) -> list[str]:
        return self.state.user_ids()

    def create_token(self, user_id: str, name: str | None = None, *, expiration_date: date | None = None,
                     creation_date: datetime | None = None) -> CreatedToken:
        return self.state.create_token(user_id, name, expiration_date=expiration_date, creation_date=creation_date)

    def create_legacy_token(self, user_id: str, *, deterministic: bool = False) -> CreatedToken:
        return self.state.create_legacy_token(user_id, deterministic=deterministic)

    def token_works(self, user_id: str, value: str) -> bool:
        return self.state.token_works(user_id, value)

    def list_tokens(self, user_id: str) -> list[TokenInfo]:
        return self.state.list_tokens(user_id)

    def token_details(self, user_id: str) -> list[TokenDetails]:
        return self.state.token_details(user_id)

    def set_api_token_config(self, *, usage_statistics_enabled: bool | None = None,
                             token_generation_on_creation_enabled: bool | None = None,
                             creation_of_legacy_token_enabled: bool | None = None) -> None:
        """Change ApiTokenPropertyConfiguration at runtime (persisted like the global config page)."""
        changes = {k: v for k, v in {"usage_statistics_enabled": usage_statistics_enabled,
                                     "token_generation_on_creation_enabled": token_generation_on_creation_enabled,
                                     "creation_of_legacy_token_enabled": creation_of_legacy_token_enabled}.items()
                   if v is not None}
        self.state.set_api_config(**changes)

    def set_use_counter(self, user_id: str, token_uuid: str, count: int) -> None:
        """Set a token's use counter (a statistics reset, or a restored apiTokenStats.xml)."""
        self.state.set_use_counter(user_id, token_uuid, count)

    def use_token(self, user_id: str, value: str, times: int = 1) -> None:
        """Someone else using a token: who-am-i over HTTP, counted like any use."""
        import urllib.request

        auth = "Basic " + base64.b64encode(f"{user_id}:{value}".encode()).decode()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to us, whatever the env
        for _ in range(times):
            request = urllib.request.Request(self.url + "whoAmI/api/json", headers={"Authorization": auth})
            with opener.open(request, timeout=10) as answer:
                answer.read()

    def stats_file(self, user_id: str) -> Path:
        return self._home.stats_file(self.state.require(user_id))

    def user_dir(self, user_id: str) -> Path:
        return self._home.users_dir / self.state.require(user_id).dir_name
