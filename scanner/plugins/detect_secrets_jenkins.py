"""detect-secrets plugin: Jenkins credentials found by jts' rules and engine.

    detect-secrets scan --plugin "$(jts baseline plugin-path)" .
    detect-secrets-hook --plugin "$(jts baseline plugin-path)" --baseline .secrets.baseline FILES...

detect-secrets feeds plugins one line at a time, but jts' rules look around a token (who the user
is, whether the file talks about Jenkins), so each detector scans the whole file once with the
real engine and answers per line from that result; it falls back to the 5-line context
detect-secrets passes when the line is not the file's own (transformed YAML/INI, diffs, ad-hoc
strings). One class per rule, so every baseline entry names the kind of credential.

``verify()`` asks a Jenkins who-am-i only when ``JTS_JENKINS_URL`` is set (never a URL found
next to the token) and the user is known (from the file or ``JTS_JENKINS_USER``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from detect_secrets.constants import VerifiedResult
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.settings import get_settings

from scanner.baseline import GENERIC_TYPE, SECRET_TYPES
from scanner.detect import Detector, DetectorSpec, Hit

VERIFY_FILTER = "detect_secrets.filters.common.is_ignored_due_to_verification_policies"
STATUS_TO_RESULT = {"live": VerifiedResult.VERIFIED_TRUE, "invalid": VerifiedResult.VERIFIED_FALSE}


def _extra_rule_dirs() -> tuple[str, ...]:
    """Rule directories from the project's .jts.toml / [tool.jts], as `jts scan` would use."""
    from scanner.config import ConfigError, find_config, load_config

    try:
        return tuple(load_config(find_config(Path.cwd())).rules)
    except ConfigError:
        return ()


class _JenkinsDetector(RegexBasedDetector):
    """Shared engine glue; subclasses only name their secret type and rules."""

    rule_ids: tuple[str, ...] = ()

    def __init__(self, **_: Any) -> None:
        spec = DetectorSpec(extra_rule_dirs=_extra_rule_dirs())
        detector = spec.build()
        wanted = self._wanted(detector)
        self._detector = Detector([r for r in detector.rules if r.id in wanted])
        self._file: tuple[str, tuple[int, int], list[str], dict[int, list[Hit]]] | None = None
        self._users: dict[str, str | None] = {}
        self._verified: dict[str, VerifiedResult] = {}

    def _wanted(self, detector: Detector) -> set[str]:
        return set(self.rule_ids)

    @property
    def denylist(self) -> Iterable[re.Pattern[str]]:
        return [p for rule in self._detector.rules for p in rule.patterns if isinstance(p, re.Pattern)]

    # ------------------------------------------------------------------ detection

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        for hit in self._detector.scan_blob("adhoc-string-scan", string.encode("utf-8", "surrogateescape")):
            yield hit.secret

    def analyze_line(self, filename: str, line: str, line_number: int = 0, context: Any = None,
                     **kwargs: Any) -> set[PotentialSecret]:
        if not self._detector.rules or not self._worth_a_look(filename, line):
            return set()
        output = set()
        verify = VERIFY_FILTER in get_settings().filters
        for hit in self._hits_on_line(filename, line, line_number, context):
            self._users.setdefault(hit.secret, hit.user)
            is_verified = verify and self.verify(hit.secret) == VerifiedResult.VERIFIED_TRUE
            output.add(PotentialSecret(type=self.secret_type, filename=filename, secret=hit.secret,
                                       line_number=line_number, is_verified=is_verified))
        return output

    def _worth_a_look(self, filename: str, line: str) -> bool:
        data = line.encode("utf-8", "surrogateescape")
        if self._detector.candidate_rules(filename, data, False):
            return True
        return bool(self._detector.basic_rules) and (b"asic " in data or b"ASIC " in data)

    def _hits_on_line(self, filename: str, line: str, line_number: int, context: Any) -> list[Hit]:
        whole = self._file_hits(filename, line, line_number)
        if whole is not None:
            return whole
        lines = list(context.lines) if context is not None and getattr(context, "lines", None) else [line]
        target = context.target_index + 1 if context is not None and getattr(context, "lines", None) else 1
        text = "\n".join(lines) + "\n"
        hits = self._detector.scan_blob(filename, text.encode("utf-8", "surrogateescape"))
        return [h for h in hits if h.line == target and h.secret in line]

    def _file_hits(self, filename: str, line: str, line_number: int) -> list[Hit] | None:
        """Hits on ``line_number`` from a whole-file scan, or None if that line is not the file's."""
        if line_number < 1:
            return None
        try:
            stat = os.stat(filename)
        except OSError:
            return None
        signature = (stat.st_size, stat.st_mtime_ns)
        if self._file is None or self._file[0] != filename or self._file[1] != signature:
            try:
                with open(filename, "rb") as handle:
                    data = handle.read()
            except OSError:
                return None
            by_line: dict[int, list[Hit]] = {}
            for hit in self._detector.scan_blob(filename, data):
                by_line.setdefault(hit.line, []).append(hit)
            # Split as Python's universal newlines do, the way detect-secrets numbers lines.
            text_lines = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")
            self._file = (filename, signature, text_lines, by_line)  # one file at a time: bounded memory
        _, _, text_lines, by_line = self._file
        if line_number > len(text_lines) or text_lines[line_number - 1].strip() != line.strip():
            return None
        return [h for h in by_line.get(line_number, []) if h.secret in line]

    # ------------------------------------------------------------------ verification

    def verify(self, secret: str, context: Any = None) -> VerifiedResult:
        if secret not in self._verified:
            self._verified[secret] = self._who_am_i(secret)
        return self._verified[secret]

    def _who_am_i(self, secret: str) -> VerifiedResult:
        url = os.environ.get("JTS_JENKINS_URL")
        user = self._users.get(secret) or os.environ.get("JTS_JENKINS_USER")
        if not url or not user or not any(r.verifiable for r in self._detector.rules):
            return VerifiedResult.UNVERIFIED
        try:
            from scanner.jenkins.verify import verify_secret
        except ImportError:
            return VerifiedResult.UNVERIFIED
        try:
            status = verify_secret(url, user, secret)
        except Exception:  # noqa: BLE001 - a failed check must never fail the scan
            return VerifiedResult.UNVERIFIED
        return STATUS_TO_RESULT.get(status, VerifiedResult.UNVERIFIED)


class JenkinsApiTokenDetector(_JenkinsDetector):
    """Jenkins API tokens (11 + 32 hex)."""

    secret_type = SECRET_TYPES["api_token"]
    rule_ids = ("api_token",)


class JenkinsLegacyApiTokenDetector(_JenkinsDetector):
    """Legacy 32-hex API tokens in a credential position near Jenkins."""

    secret_type = SECRET_TYPES["legacy_api_token"]
    rule_ids = ("legacy_api_token",)


class JenkinsAgentSecretDetector(_JenkinsDetector):
    """Inbound agent secrets."""

    secret_type = SECRET_TYPES["agent_secret"]
    rule_ids = ("agent_secret",)


class JenkinsBuildTriggerTokenDetector(_JenkinsDetector):
    """Remote build trigger tokens."""

    secret_type = SECRET_TYPES["build_trigger_token"]
    rule_ids = ("build_trigger_token",)


class JenkinsInitialAdminPasswordDetector(_JenkinsDetector):
    """The set-up wizard's initial admin password."""

    secret_type = SECRET_TYPES["initial_admin_password"]
    rule_ids = ("initial_admin_password",)


class JenkinsSecretStoreKeyDetector(_JenkinsDetector):
    """secrets/master.key and secrets/hudson.util.Secret."""

    secret_type = SECRET_TYPES["jenkins_secret_store"]
    rule_ids = ("jenkins_secret_store",)


class JenkinsCredentialDetector(_JenkinsDetector):
    """Rules from the project's own rule directories (not shipped with jts)."""

    secret_type = GENERIC_TYPE

    def _wanted(self, detector: Detector) -> set[str]:
        return {r.id for r in detector.rules if r.id not in SECRET_TYPES}
