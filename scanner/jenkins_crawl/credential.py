"""Who a crawl logs in as: from ``$JENKINS_USER_ID`` + ``$JENKINS_API_TOKEN`` or a credentials
file, never from the command line (argv is visible to every user of the machine).

A file holds ``USER:API_TOKEN`` (for the one Jenkins crawled) and/or ``URL USER:API_TOKEN``
lines (for that Jenkins root only). A credential is only ever sent to the Jenkins it was given
for: a bare one (the environment's, or a line without URL) serves only a run that crawls a
single Jenkins, so a sweep of several Jenkins needs one ``URL`` line per Jenkins.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from scanner.errors import JtsError
from scanner.jenkins.client import basic_header
from scanner.jenkins.verify import AllowedJenkins

USER_ENV, TOKEN_ENV = "JENKINS_USER_ID", "JENKINS_API_TOKEN"


class CredentialError(JtsError):
    """The credential cannot be read or is missing; the message never holds the token."""


@dataclass(frozen=True)
class Credential:
    user: str
    token: str = field(repr=False)

    @property
    def header(self) -> str:
        return basic_header(self.user, self.token)


@dataclass
class CrawlCredentials:
    bare: Credential | None = None  # the environment's, or a file line without URL
    per_root: dict[str, Credential] = field(default_factory=dict)  # normalised Jenkins root -> credential
    anonymous: bool = False
    source: str = f"${USER_ENV} and ${TOKEN_ENV}"  # named in messages
    warnings: list[str] = field(default_factory=list)

    def header_for(self, root: str, only_jenkins: bool) -> str | None:
        """The Authorization header for ``root`` (None: anonymous), or ``CredentialError`` saying why none."""
        if self.anonymous:
            return None
        given = self.per_root.get(root)
        if given is not None:
            return given.header
        if self.bare is not None and only_jenkins:
            return self.bare.header
        if self.bare is not None:
            raise CredentialError(f"no crawl credential for {root}: the credential from {self.source} is used only "
                                  "when one Jenkins is crawled; give a line 'URL USER:API_TOKEN' per Jenkins")
        raise CredentialError(f"no crawl credential for {root}: set ${USER_ENV} and ${TOKEN_ENV}, or give a "
                              "credentials file")


def load_credentials(path: Path | None, anonymous: bool = False) -> CrawlCredentials:
    """The crawl credentials: the file's if one is given, else the environment's (both may be absent)."""
    if anonymous:
        return CrawlCredentials(anonymous=True)
    if path is None:
        user, token = os.environ.get(USER_ENV, "").strip(), os.environ.get(TOKEN_ENV, "").strip()
        return CrawlCredentials(bare=Credential(user, token) if user and token else None)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialError(f"{path}: cannot read the crawl credential: "
                              f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    found = CrawlCredentials(source=str(path))
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        found.warnings.append(f"{path} is readable by other users; chmod 600 it")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        url, _, pair = line.rpartition(" ")  # the token never holds a space; the message never quotes the line
        user, sep, token = pair.partition(":")
        if not sep or not user.strip() or not token.strip():
            raise CredentialError(f"{path}, line {number}: expected USER:API_TOKEN or URL USER:API_TOKEN")
        credential = Credential(user.strip(), token.strip())
        if not url.strip():
            found.bare = credential
            continue
        try:
            found.per_root[AllowedJenkins.parse(url).url] = credential
        except ValueError:
            raise CredentialError(f"{path}, line {number}: the URL is not a usable Jenkins URL") from None
    if found.bare is None and not found.per_root:
        raise CredentialError(f"{path}: expected USER:API_TOKEN or URL USER:API_TOKEN lines")
    return found
