"""HTTP sessions (the JSESSIONID cookie) and session-bound crumbs (facts sheet §5)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

CRUMB_FIELD = "Jenkins-Crumb"


@dataclass
class Session:
    id: str
    user_id: str | None = None  # set only by form login; API-token sessions never keep auth


class SessionStore:
    def __init__(self, cookie_name: str) -> None:
        self.cookie_name = cookie_name
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            return self._sessions.get(session_id)

    def create(self, user_id: str | None = None) -> Session:
        # Jetty 10+ ids look like node0<random>.node0
        session = Session(f"node0{secrets.token_hex(12)}{secrets.randbelow(100)}.node0", user_id)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def invalidate(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def set_cookie(self, session: Session) -> str:
        return f"{self.cookie_name}={session.id}; Path=/; HttpOnly"


def compute_crumb(salt: str, auth_name: str, session_id: str, client_ip: str | None) -> str:
    """DefaultCrumbIssuer: hex(SHA-256(name;[ip;]sessionId + salt))."""
    parts = [auth_name] + ([client_ip] if client_ip is not None else []) + [session_id]
    return hashlib.sha256((";".join(parts) + salt).encode("utf-8")).hexdigest()


def crumb_matches(expected: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())
