"""Scan a JENKINS_HOME: its sources through the detector, then the stored-credentials inventory.

One pass over the home's files, in whatever order the directory or archive holds them:

1. build logs are streamed (gzip inflated on the fly, console notes removed as Jenkins' own
   consoleText removes them); XML files (job, folder, node, user and global configs, build records,
   credential stores) are scanned as text and parsed to name the field each hit is in;
2. every value shaped like an encrypted Secret is remembered (not its file), with the key files;
3. at the end, when the keys are known, each value is decrypted and scanned as ``<field>value</field>``
   (so rules see its name), and the credential stores become the inventory.

A username/password credential whose password is a Jenkins API token becomes an ``api_token``
finding for that username at the home's Jenkins URL; a user's legacy ``<apiToken>`` seed yields
the legacy token (``md5(seed)``) for that user. Decrypted values stay in memory: findings carry
them as any secret (redacted by the reports) and the inventory only with ``--show-secrets``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from scanner.detect import Detector, Hit, scan_or_error
from scanner.errors import JtsError
from scanner.findings import Finding, Location
from scanner.jenkins_home import crypto, inventory as inv, layout, xmlread
from scanner.jenkins_home.entries import STREAM_ERRORS, Entry, SafeReader, SourceProblems
from scanner.jenkins_home.layout import SOURCE, HomePath, Kind
from scanner.sources.files import FileScanResult, scan_stream

XML_MAX = 64 * 2**20  # larger XML is scanned as text, without field names or decryption
KEY_FILE_MAX = 2**20
NOTE = re.compile(rb"\x1b\[8mha:[A-Za-z0-9+/=]*\x1b\[0m")  # ConsoleNote: base64 of gzip, token-like noise
LINE_TAIL_MAX = 2**20  # how far a log read goes past a chunk to finish its line (notes never span lines)
HASHED_TOKEN = "jenkins.security.apitoken.ApiTokenStore_-HashedToken"
API_TOKEN_PROPERTY = "jenkins.security.ApiTokenProperty"
DEFAULT_BUILDS_DIR = "${ITEM_ROOTDIR}/builds"
KEY_FILES = {
    "secrets/master.key": "master_key",
    "secrets/hudson.util.Secret": "hudson_util_secret",
    "secrets/com.cloudbees.plugins.credentials.SecretBytes.KEY": "secret_bytes_key",
    "secret.key": "legacy_secret_key",
}
API_TOKEN = re.compile(r"11[0-9a-f]{32}")
LEGACY_TOKEN = re.compile(r"[0-9a-f]{32}")


class HomeError(JtsError):
    """Nothing of the home could be read (not a home, not an archive, unreadable)."""


@dataclass
class PendingSecret:
    """An encrypted value seen in an XML file, decrypted once the key files are known."""

    rel: str
    fragment: str
    tag: str  # the name it is scanned under: its element, or a parameter's name
    line: int
    column: int
    end_column: int
    text: str = field(repr=False)
    secret_field: inv.SecretField | None = None
    user: str | None = None  # the username of a username/password credential
    purpose: str = "value"  # value | password | legacy_seed


@dataclass
class HomeScanResult(FileScanResult):
    inventory: inv.HomeInventory | None = None


class NoteStripper:
    """A log stream with console notes removed, as Jenkins' consoleText shows it (lines are kept,
    columns are those of the text people read).

    ``read(n)`` returns at least ``n`` bytes until the end (readers take a short block for the
    end), cut at a line end so a note is never split between two blocks."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._strip(self.raw.read())
        out = b""
        while len(out) < size and not self.done:
            block = self.raw.read(size - len(out))
            if not block:
                self.done = True
                break
            if not block.endswith(b"\n"):
                block += self.raw.readline(LINE_TAIL_MAX)
            out += self._strip(block)
        return out

    @staticmethod
    def _strip(block: bytes) -> bytes:
        return NOTE.sub(b"", block) if b"\x1b[8mha:" in block else block


class HomeScanner:
    def __init__(self, detector: Detector, inventory: inv.HomeInventory):
        self.detector = detector
        self.inventory = inventory
        self.result = HomeScanResult(inventory=inventory)
        self.pending: list[PendingSecret] = []
        self.key_files: dict[str, bytes] = {}
        self.items: set[str] = set()
        self.builds: set[tuple[str, int]] = set()
        self.counts: dict[str, int] = {key: 0 for key in (
            "jobs", "builds", "logs", "nodes", "users", "api_token_entries", "password_parameters",
            "encrypted_values", "decrypted_values", "files_scanned", "files_not_scanned")}
        self.rule_ids = {rule.id for rule in detector.rules}

    # -- one file ---------------------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        place = layout.classify(entry.rel)
        if place.item is not None and place.kind != Kind.OTHER:
            self.items.add(place.item)
        if place.kind == Kind.OTHER:
            self.counts["files_not_scanned"] += 1
            return
        self.counts["files_scanned"] += 1
        try:
            handle = entry.open()
        except (OSError, *STREAM_ERRORS) as exc:
            self.result.warnings.append(f"{layout.display(entry.rel)}: cannot read: {_reason(exc)}")
            return
        try:
            if place.kind in layout.LOG_KINDS:
                self._log(place, handle)
            elif place.kind == Kind.SECRET:
                self._key_file(place, handle)
            else:
                self._xml(place, handle)
        finally:
            try:
                handle.close()
            except OSError:
                pass

    def _log(self, place: HomePath, handle: BinaryIO) -> None:
        self.counts["logs"] += 1
        if place.build is not None:
            self.builds.add((place.item or "", place.build))
        stream: BinaryIO = handle
        if place.rel.endswith(".gz"):
            stream = SafeReader(gzip.GzipFile(fileobj=handle, mode="rb"), place.rel)  # type: ignore[assignment]
        scan_stream(self.detector, NoteStripper(stream), layout.display(place.rel), self.result,  # type: ignore[arg-type]
                    source=SOURCE)

    def _key_file(self, place: HomePath, handle: BinaryIO) -> None:
        data, too_big = _read_capped(handle, KEY_FILE_MAX)
        if too_big:
            self.result.warnings.append(f"{layout.display(place.rel)}: larger than {KEY_FILE_MAX} bytes: "
                                        "not a Jenkins key file, scanned as text")
            scan_stream(self.detector, _Chain(data, handle), layout.display(place.rel), self.result, source=SOURCE)
            return
        if place.rel in KEY_FILES:
            self.key_files[place.rel] = data
        self._scan_bytes(place.rel, data)

    def _xml(self, place: HomePath, handle: BinaryIO) -> None:
        if place.kind == Kind.BUILD_XML and place.build is not None:
            self.builds.add((place.item or "", place.build))
        data, too_big = _read_capped(handle, XML_MAX)
        if too_big:
            self.result.warnings.append(f"{layout.display(place.rel)}: larger than {XML_MAX // 2**20} MiB: scanned "
                                        "as text, its fields not named and its encrypted values not decrypted")
            scan_stream(self.detector, _Chain(data, handle), layout.display(place.rel), self.result,  # type: ignore[arg-type]
                        source=SOURCE)
            return
        hits = self._scan_bytes(place.rel, data, locate=False)
        try:
            root = xmlread.parse(data)
        except xmlread.XmlRefused as exc:
            self.result.warnings.append(f"{layout.display(place.rel)}: {exc}: scanned as plain text")
            self._add_hits(place.rel, hits, {})
            return
        self._add_hits(place.rel, hits, line_fields(root, place))
        self._collect(place, root)

    # -- hits -------------------------------------------------------------------------------

    def _scan_bytes(self, rel: str, data: bytes, locate: bool = True) -> list[Hit]:
        self.result.files += 1
        self.result.bytes += len(data)
        found, error = scan_or_error(self.detector, layout.display(rel), data)
        if error:
            self.result.errors.append(f"{layout.display(rel)}: not scanned: {error}")
        if locate:
            self._add_hits(rel, found, {})
        return found

    def _add_hits(self, rel: str, hits: list[Hit], fields: dict[int, str]) -> None:
        for hit in hits:
            location = Location(path=layout.display(rel, fields.get(hit.line)), line=hit.line, column=hit.column,
                                end_column=hit.end_column, source=SOURCE)
            self.result.hits.append((hit, location))

    # -- what an XML file tells ---------------------------------------------------------------

    def _collect(self, place: HomePath, root: xmlread.Node) -> None:
        claimed: set[int] = set()
        if place.kind == Kind.LOCATION:
            url = root.child_text("jenkinsUrl")
            self.inventory.jenkins_url = url or self.inventory.jenkins_url
        elif place.kind == Kind.ROOT_CONFIG:
            builds_dir = root.child_text("buildsDir")
            if builds_dir and builds_dir != DEFAULT_BUILDS_DIR:
                self.inventory.notes.append(f"config.xml moves build records to {builds_dir}: builds stored there "
                                            "are not part of this scan")
        elif place.kind == Kind.NODE_CONFIG:
            self.counts["nodes"] += 1
        elif place.kind == Kind.USER_CONFIG:
            self._user(place, root, claimed)
        elif place.kind == Kind.BUILD_XML:
            self._parameters(place, root, claimed)
        self._stores(place, root, claimed)
        for node in xmlread.text_nodes(root):
            if id(node) in claimed:
                continue
            text = node.text.strip()
            if crypto.looks_encrypted(text):
                self._remember(place, root, node, text)

    def _remember(self, place: HomePath, root: xmlread.Node, node: xmlread.Node, text: str, *,
                  tag: str | None = None, secret_field: inv.SecretField | None = None, user: str | None = None,
                  purpose: str = "value") -> None:
        line, column = xmlread.value_position(node)
        self.counts["encrypted_values"] += 1
        self.pending.append(PendingSecret(
            rel=place.rel, fragment=field_name(root, node, place), tag=tag or node.tag, line=line, column=column,
            end_column=column + len(text), text=text, secret_field=secret_field, user=user, purpose=purpose))

    def _user(self, place: HomePath, root: xmlread.Node, claimed: set[int]) -> None:
        self.counts["users"] += 1
        user_id = root.child_text("id") or place.rel.split("/")[1]
        self.counts["api_token_entries"] += sum(1 for node in root.iter() if node.tag == HASHED_TOKEN)
        prop = root.child("properties")
        prop = prop.child(API_TOKEN_PROPERTY) if prop is not None else None
        seed = prop.child("apiToken") if prop is not None else None
        if seed is not None and seed.text.strip():
            claimed.add(id(seed))
            self._remember(place, root, seed, seed.text.strip(), user=user_id, purpose="legacy_seed")

    def _parameters(self, place: HomePath, root: xmlread.Node, claimed: set[int]) -> None:
        for node in root.iter():
            if node.tag != "hudson.model.PasswordParameterValue" and node.attrs.get("class") != \
                    "hudson.model.PasswordParameterValue":
                continue
            self.counts["password_parameters"] += 1
            value = node.child("value")
            name = node.child_text("name") or "value"
            if value is not None and value.text.strip():
                claimed.add(id(value))
                self._remember(place, root, value, value.text.strip(), tag=name)

    def _stores(self, place: HomePath, root: xmlread.Node, claimed: set[int]) -> None:
        for store, map_node in inv.credential_stores(root):
            owner = place.item if store == "folder" else (root.child_text("id") if store == "user" else None)
            for credential, node in inv.read_store(store, owner, layout.display(place.rel), map_node):
                self.inventory.credentials.append(credential)
                for name, secret_node in inv.secret_nodes(node):
                    claimed.add(id(secret_node))
                    text = secret_node.text.strip()
                    if not text:
                        credential.secrets.append(inv.empty_or_plain(name, secret_node))
                        continue
                    secret_field = inv.SecretField(name=name, state="encrypted")
                    credential.secrets.append(secret_field)
                    is_password = credential.kind == "UsernamePassword" and name == "password"
                    self._remember(place, root, secret_node, text, secret_field=secret_field,
                                   user=credential.username if is_password else None,
                                   purpose="password" if is_password else "value")
                    line, column = xmlread.value_position(secret_node)
                    secret_field.line, secret_field.column, secret_field.end_column = line, column, column + len(text)

    # -- the end: keys, decryption, inventory -----------------------------------------------

    def finish(self) -> HomeScanResult:
        keys = self._keys()
        for pending in self.pending:
            self._decrypt(pending, keys)
        self.counts["jobs"] = len(self.items)
        self.counts["builds"] = len(self.builds)
        self.inventory.counts = self.counts
        self.inventory.credentials.sort(key=lambda c: (c.store != "global", c.owner or "", c.id or "", c.location))
        if self.counts["api_token_entries"]:
            self.inventory.notes.append(
                f"{self.counts['api_token_entries']} API token entr{'y' if self.counts['api_token_entries'] == 1 else 'ies'} "
                "in users/*/config.xml: Jenkins stores only their SHA-256, which cannot be turned back into a "
                "token (not secrets, not findings)")
        return self.result

    def _keys(self) -> crypto.HomeKeys:
        status = self.inventory.keys
        for rel, attr in KEY_FILES.items():
            setattr(status, attr, rel in self.key_files)
        master = self.key_files.get("secrets/master.key")
        legacy_text = self.key_files.get("secret.key")
        legacy = crypto.aes128_key(legacy_text) if legacy_text else None
        if master is None:
            status.decryption = "unavailable: no secrets/master.key in this home"
            return crypto.HomeKeys(legacy=legacy)
        master_key = crypto.aes128_key(master)
        found: dict[str, bytes] = {}
        problems = []
        for rel, name in (("secrets/hudson.util.Secret", "secret"),
                          ("secrets/com.cloudbees.plugins.credentials.SecretBytes.KEY", "secret_bytes")):
            data = self.key_files.get(rel)
            if data is None:
                continue
            try:
                found[name] = crypto.unwrap_key_file(master_key, data, rel)
            except crypto.KeyFileError as exc:
                problems.append(str(exc))
        for problem in problems:
            self.result.warnings.append(f"{layout.display(problem.split(':')[0])}:{problem.partition(':')[2]}")
        if "secret" in found:
            status.decryption = "available"
        elif problems:
            status.decryption = "unavailable: " + "; ".join(problems)
        else:
            status.decryption = "unavailable: no secrets/hudson.util.Secret in this home"
        return crypto.HomeKeys(secret=found.get("secret"), secret_bytes=found.get("secret_bytes"), legacy=legacy)

    def _decrypt(self, pending: PendingSecret, keys: crypto.HomeKeys) -> None:
        text = crypto.decrypt_secret(pending.text, keys)
        raw = None
        if text is None and pending.text.startswith("{"):
            raw = crypto.decrypt_secret_bytes(pending.text, keys)
        secret_field = pending.secret_field
        if text is None and raw is None:
            if secret_field is not None:
                if crypto.looks_encrypted(pending.text) or crypto.could_be_historical(pending.text):
                    secret_field.state = "not_decrypted" if keys.usable or self.inventory.keys.master_key \
                        else "encrypted"
                else:
                    secret_field.state, secret_field.value = "plaintext", pending.text
            return
        self.counts["decrypted_values"] += 1
        if raw is not None:
            data = raw
            shown = _text_or_base64(raw)
        else:
            data = f"<{pending.tag}>{text}</{pending.tag}>\n".encode("utf-8")
            shown = text
        path = layout.display(pending.rel, pending.fragment)
        found: list[Hit] = []
        if pending.purpose != "legacy_seed":  # a seed is no credential itself: md5(seed) is (below)
            found, error = scan_or_error(self.detector, path, data)
            if error:
                self.result.errors.append(f"{path}: decrypted value not scanned: {error}")
        found += self._derived_hits(pending, text, found)
        ids = []
        for hit in found:
            self.result.hits.append((hit, Location(path=path, line=pending.line, column=pending.column,
                                                   end_column=pending.end_column, source=SOURCE)))
            ids.append(_finding_id(hit))
        if secret_field is not None:
            secret_field.state, secret_field.value = "decrypted", shown
            secret_field.finding_ids = sorted(set(ids))

    def _derived_hits(self, pending: PendingSecret, text: str | None, found: list[Hit]) -> list[Hit]:
        """What only the home can tell: whose token a credential's password is, a user's legacy token."""
        url = self.inventory.jenkins_url
        if pending.purpose == "legacy_seed" and text and "legacy_api_token" in self.rule_ids:
            token = hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - Jenkins' own derivation
            return [Hit(rule_id="legacy_api_token", secret=token, line=1, column=1, end_column=33,
                        user=pending.user, jenkins_url=url)]
        if pending.purpose != "password" or not text or not pending.user:
            return []
        whole = [hit for hit in found if hit.secret == text and hit.rule_id in ("api_token", "legacy_api_token")]
        for hit in whole:
            hit.user = pending.user
            hit.jenkins_url = hit.jenkins_url or url
            hit.confidence = "high"
        if whole or "legacy_api_token" not in self.rule_ids or not LEGACY_TOKEN.fullmatch(text):
            return []
        return [Hit(rule_id="legacy_api_token", secret=text, line=1, column=1, end_column=33, user=pending.user,
                    jenkins_url=url, confidence="medium")]


def line_fields(root: xmlread.Node, place: HomePath) -> dict[int, str]:
    """Line -> field name, for the lines holding an element's text (``scan-jenkins`` names its
    config.xml fields the same way)."""
    fields: dict[int, str] = {}
    for node in xmlread.text_nodes(root):
        name = field_name(root, node, place)
        first = node.text_line
        for line in range(first, first + node.text.count("\n") + 1):
            fields[line] = name
    return fields


def field_name(root: xmlread.Node, node: xmlread.Node, place: HomePath) -> str:
    """The fragment naming a field: ``credential:<id>/password``, ``parameter:<name>``, or its element path."""
    ancestor: xmlread.Node | None = node
    while ancestor is not None:
        parent = ancestor.parent
        grand = parent.parent if parent is not None else None
        if grand is not None and grand.tag == "entry" and grand.parent is not None and \
                grand.parent.tag == "domainCredentialsMap":
            below = "/".join(node.path_below(ancestor))
            return f"credential:{ancestor.child_text('id') or '?'}" + (f"/{below}" if below else "")
        if place.kind == Kind.BUILD_XML and ancestor.tag.endswith("ParameterValue"):
            below = "/".join(node.path_below(ancestor))
            name = f"parameter:{ancestor.child_text('name') or '?'}"
            return name if below in ("value", "") else f"{name}/{below}"
        if place.kind == Kind.USER_CONFIG and node.tag == "apiToken" and ancestor.tag == API_TOKEN_PROPERTY:
            return "legacyApiToken"
        if ancestor.tag == "tree-map" and parent is not None and parent.tag == "envVars" and node.parent is ancestor:
            return _env_name(ancestor, node)
        ancestor = parent
    return "/".join(node.path_below(root))


def _env_name(tree_map: xmlread.Node, node: xmlread.Node) -> str:
    """EnvironmentVariablesNodeProperty: <string>KEY</string><string>VALUE</string> pairs -> ``env:KEY``."""
    strings = [child for child in tree_map.children if child.tag == "string"]
    index = next((i for i, child in enumerate(strings) if child is node), None)
    if index is None:
        return "envVars"
    key = strings[index - index % 2].text.strip()
    return f"env:{key}" if index % 2 else f"env:{key} (name)"


def scan_jenkins_home(target: Path, detector: Detector,
                      progress: Callable[[int, int], None] | None = None) -> HomeScanResult:
    """Scan the home at ``target``: a directory, or a tar archive (plain, gzip, bzip2, xz) of one."""
    from scanner.jenkins_home import tar, walk

    problems = SourceProblems()
    if not target.exists():
        raise HomeError(f"{target}: no such file or directory")
    if target.is_dir():
        if not walk.is_home_directory(target):
            raise HomeError(f"{target}: not a JENKINS_HOME (none of config.xml, credentials.xml, jobs/, secrets/, "
                            "users/, nodes/ at its top)")
        inventory = inv.HomeInventory(home=str(target), format="directory", root=None)
        entries: Iterator[Entry] = walk.walk_home(target, problems)
    else:
        try:
            fmt = tar.archive_format(target)
        except OSError as exc:
            raise HomeError(f"{target}: cannot read: {exc.strerror or exc}") from None
        inventory = inv.HomeInventory(home=str(target), format=fmt)

        def on_root(root: str) -> None:
            inventory.root = root

        entries = tar.read_archive(target, problems, on_root, progress)
    scanner = HomeScanner(detector, inventory)
    try:
        for entry in entries:
            scanner.add(entry)
    except tar.ArchiveError as exc:
        raise HomeError(str(exc)) from None
    result = scanner.finish()
    result.warnings[:0] = problems.warnings()
    if problems.not_scanned_dirs:
        inventory.notes.append("not scanned (no Jenkins configuration, logs or credentials there): "
                               + ", ".join(f"{d}/" for d in problems.not_scanned_dirs))
    if problems.truncated:
        if not scanner.counts["files_scanned"]:
            raise HomeError(f"{target}: {problems.truncated}")
        result.warnings.append(f"{target}: {problems.truncated}")
    if not scanner.counts["files_scanned"]:
        raise HomeError(f"{target}: no JENKINS_HOME file found (config.xml, jobs/*/config.xml, builds, "
                        "credentials.xml, nodes/, users/, secrets/)")
    return result


def _read_capped(handle: BinaryIO, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes and whether there was more (the caller then streams the rest)."""
    data = handle.read(limit + 1)
    return data, len(data) > limit


class _Chain:
    """Bytes already read, then the rest of the stream."""

    def __init__(self, first: bytes, rest: BinaryIO):
        self.first = io.BytesIO(first)
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        block = self.first.read(size)
        if size < 0:
            return block + self.rest.read()
        if len(block) < size:
            block += self.rest.read(size - len(block))
        return block


def _text_or_base64(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode("ascii")


def _finding_id(hit: Hit) -> str:
    from scanner.reports import finding_id

    return finding_id(Finding(rule_id=hit.rule_id, title="", severity="", secret=hit.secret))


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__
