"""Jobs, builds, nodes and credential stores in the test server's JENKINS_HOME, as Jenkins writes them.

Layout and element shapes follow /work/shared/jenkins-api.md section 9 (the JENKINS_HOME tree,
build.xml, log/log.gz, node configs, credentials.xml and folder stores). Every Secret-typed value
is encrypted with the home's own ``secrets/master.key`` -> ``secrets/hudson.util.Secret`` (and
SecretBytes with ``secrets/com.cloudbees.plugins.credentials.SecretBytes.KEY``), so a copy of the
home is what a leaked backup would be.
"""
from __future__ import annotations

import base64
import gzip
import secrets
import shutil
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import home_items as hi
from . import xstream as xs
from .confidential import ConfidentialStore
from .items import MULTIBRANCH, ORGANIZATION, PIPELINE
from .names import name_encode

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
FOLDER_STORE = "com.cloudbees.hudson.plugins.folder.properties.FolderCredentialsProvider_-FolderCredentialsProperty"
SYSTEM_STORE = "com.cloudbees.plugins.credentials.SystemCredentialsProvider"
DOMAIN = "com.cloudbees.plugins.credentials.domains.Domain"
CLASSES = {
    "username_password": "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl",
    "string": "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl",
    "ssh_key": "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey",
    "certificate": "com.cloudbees.plugins.credentials.impl.CertificateCredentialsImpl",
    "file": "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl",
}
DIRECT_KEY = "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey$DirectEntryPrivateKeySource"
UPLOADED_KEYSTORE = "com.cloudbees.plugins.credentials.impl.CertificateCredentialsImpl$UploadedKeyStoreSource"


@dataclass
class Credential:
    """One stored credential. ``kind`` is a key of CLASSES, or any class name (an unknown plugin's)."""

    kind: str
    id: str
    description: str = ""
    scope: str = "GLOBAL"
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # username_password, certificate (keystore password)
    secret: str | None = field(default=None, repr=False)  # string
    private_key: str | None = field(default=None, repr=False)  # ssh_key
    passphrase: str | None = field(default=None, repr=False)  # ssh_key
    file_name: str | None = None  # file
    data: bytes | None = field(default=None, repr=False)  # file content, certificate keystore (SecretBytes)
    secret_fields: dict[str, str] = field(default_factory=dict, repr=False)  # unknown classes: encrypted
    plain_fields: dict[str, str] = field(default_factory=dict)  # unknown classes: stored as they are
    stored_in_plain_text: bool = False  # a hand-written store: Secret fields not encrypted (yet)


class HomeContent:
    """Writes the items and stores of one JENKINS_HOME; call the add_* methods in any order."""

    def __init__(self, root: Path, store: ConfidentialStore) -> None:
        self.root = Path(root)
        self.store = store
        self.global_credentials: list[Credential] = []
        self.folder_credentials: dict[str, list[Credential]] = {}
        self.folders: set[str] = set()

    # -- global configuration ---------------------------------------------------------------

    def set_root_url(self, url: str) -> None:
        """jenkins.model.JenkinsLocationConfiguration.xml: the URL Jenkins says it is reachable at."""
        root = xs.element("jenkins.model.JenkinsLocationConfiguration", None,
                          xs.element("adminAddress", "address not configured yet <nobody@nowhere>"),
                          xs.element("jenkinsUrl", url))
        xs.write_atomic(self.root / "jenkins.model.JenkinsLocationConfiguration.xml", root)

    # -- credentials ------------------------------------------------------------------------

    def add_credentials(self, *credentials: Credential, folder: str | None = None) -> None:
        """Add to credentials.xml (the global store) or to a folder's store (its config.xml)."""
        if folder is None:
            self.global_credentials.extend(credentials)
            root = xs.element(SYSTEM_STORE, None, self._domain_map(self.global_credentials),
                              plugin="credentials@1405.vb_cda_74a_f8974")
            xs.write_atomic(self.root / "credentials.xml", root)
            return
        self.folder_credentials.setdefault(folder, []).extend(credentials)
        self.add_folder(folder)

    def _domain_map(self, credentials: list[Credential]) -> ET.Element:
        listed = xs.element("java.util.concurrent.CopyOnWriteArrayList", None,
                            *[self._credential(c) for c in credentials])
        entry = xs.element("entry", None, xs.element(DOMAIN, None, xs.element("specifications")), listed)
        return xs.element("domainCredentialsMap", None, entry, **{"class": "hudson.util.CopyOnWriteMap$Hash"})

    def _secret(self, credential: Credential, value: str) -> str:
        return value if credential.stored_in_plain_text else self.store.encrypt_secret(value)

    def _credential(self, c: Credential) -> ET.Element:
        node = xs.element(CLASSES.get(c.kind, c.kind), None, xs.element("scope", c.scope), xs.element("id", c.id),
                          xs.element("description", c.description))
        if c.kind == "username_password":
            node.extend([xs.element("username", c.username or ""),
                         xs.element("password", self._secret(c, c.password or "")),
                         xs.element("usernameSecret", "false")])
        elif c.kind == "string":
            node.append(xs.element("secret", self._secret(c, c.secret or "")))
        elif c.kind == "ssh_key":
            source = xs.element("privateKeySource", None, xs.element("privateKey", self._secret(c, c.private_key or "")),
                                **{"class": DIRECT_KEY})
            node.extend([xs.element("username", c.username or ""), xs.element("usernameSecret", "false"), source])
            if c.passphrase is not None:
                node.append(xs.element("passphrase", self._secret(c, c.passphrase)))
        elif c.kind == "certificate":
            source = xs.element("keyStoreSource", None,
                                xs.element("uploadedKeystoreBytes", self.store.encrypt_secret_bytes(c.data or b"")),
                                **{"class": UPLOADED_KEYSTORE})
            node.extend([source, xs.element("password", self._secret(c, c.password or ""))])
        elif c.kind == "file":
            node.extend([xs.element("fileName", c.file_name or "secret.txt"),
                         xs.element("secretBytes", self.store.encrypt_secret_bytes(c.data or b""))])
        else:
            node.extend(xs.element(k, v) for k, v in c.plain_fields.items())
            node.extend(xs.element(k, self._secret(c, v)) for k, v in c.secret_fields.items())
        return node

    # -- items ------------------------------------------------------------------------------

    def item_dir(self, full_name: str) -> Path:
        """jobs/a/jobs/b; below a multibranch project branches/<mangled branch name>."""
        return hi.item_dir(self.root, full_name)

    def _write_item(self, full_name: str, root: ET.Element) -> Path:
        path = self.item_dir(full_name) / "config.xml"
        xs.write_atomic(path, hi.keep_matrix(path, root))
        return path

    def _ensure_parents(self, full_name: str) -> None:
        """Folders on the way to an item: written when missing, left as they are otherwise."""
        parts = full_name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            name = "/".join(parts[:depth])
            if not (self.item_dir(name) / "config.xml").is_file():
                self.add_folder(name)

    def add_folder(self, full_name: str) -> None:
        self._ensure_parents(full_name)
        self.folders.add(full_name)
        properties = xs.element("properties")
        if self.folder_credentials.get(full_name):
            properties.append(xs.element(FOLDER_STORE, None, self._domain_map(self.folder_credentials[full_name])))
        root = xs.element(FOLDER_CLASS, None, xs.element("description"), properties,
                          xs.element("healthMetrics"), plugin="cloudbees-folder@6.955.v81e2a_35c08d3")
        self._write_item(full_name, root)

    def add_organization(self, full_name: str) -> None:
        """An organization folder (jenkins.branch.OrganizationFolder); add repositories with add_multibranch."""
        self._ensure_parents(full_name)
        self._write_item(full_name, hi.computed_folder(ORGANIZATION, "branch-api@2.1217.v43d8b_b_d8b_2c7"))
        log = self.item_dir(full_name) / "computation" / "computation.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("Finished: SUCCESS\n", encoding="utf-8")

    def add_multibranch(self, full_name: str, branches: list[str]) -> list[str]:
        """A Pipeline multibranch project and one branch job per branch; returns the branch jobs' full names.

        A branch's item name is NameEncoder's (``feature/x`` -> ``feature%2Fx``, so its URL segment is
        ``feature%252Fx``), its directory NameMangler's; add builds with ``add_build(<full name>, ...)``.
        Inside an organization folder the project's own name is encoded the same way."""
        parent = full_name.rsplit("/", 1)[0] if "/" in full_name else None
        self._ensure_parents(full_name)
        if parent is not None and hi.class_of(hi.read_config(self.item_dir(parent) / "config.xml")) == ORGANIZATION:
            hi.write_child_name(self.item_dir(full_name), full_name.rsplit("/", 1)[1])
        self._write_item(full_name, hi.computed_folder(MULTIBRANCH, "workflow-multibranch@795.ve0cb_1f45ca_9a_"))
        log = self.item_dir(full_name) / "indexing" / "indexing.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("Finished branch indexing.\n", encoding="utf-8")
        names = []
        for branch in branches:
            child = f"{full_name}/{name_encode(branch)}"
            hi.write_child_name(self.item_dir(child), name_encode(branch))
            self._write_item(child, hi.branch_job(branch))
            names.append(child)
        return names

    # -- per-item permissions (matrix-auth AuthorizationMatrixProperty in the item's config.xml) --

    def grant(self, user_id: str, full_name: str, *permissions: str) -> None:
        """Grant ``read``, ``discover``, ``extended_read``, ``configure`` (or permission ids) on one item."""
        hi.grant(self.item_dir(full_name) / "config.xml", user_id, permissions)

    def restrict(self, full_name: str, inherit: bool = False) -> None:
        """Stop inheriting grants (NonInheritingStrategy): only this item's own grants and admins remain."""
        hi.set_inheritance(self.item_dir(full_name) / "config.xml", inherit)

    def add_job(self, full_name: str, *, pipeline: bool = False, shell: str | None = None,
                script: str | None = None, auth_token: str | None = None, encrypt_auth_token: bool = False,
                string_parameters: dict[str, str] | None = None, password_parameters: list[str] | None = None,
                description: str = "") -> Path:
        """A freestyle job (shell step) or a Pipeline (inline script); ``auth_token`` as before 2.541 or encrypted."""
        self._ensure_parents(full_name)
        properties = xs.element("properties")
        definitions = [xs.element("hudson.model.StringParameterDefinition", None, xs.element("name", k),
                                  xs.element("defaultValue", v)) for k, v in (string_parameters or {}).items()]
        definitions += [xs.element("hudson.model.PasswordParameterDefinition", None, xs.element("name", k),
                                   xs.element("defaultValue", self.store.encrypt_secret("")))
                        for k in (password_parameters or [])]
        if definitions:
            properties.append(xs.element("hudson.model.ParametersDefinitionProperty", None,
                                         xs.element("parameterDefinitions", None, *definitions)))
        if pipeline:
            definition = xs.element("definition", None, xs.element("script", script or ""), xs.element("sandbox", "true"),
                                    **{"class": "org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition"})
            root = xs.element("flow-definition", None, xs.element("description", description), properties, definition,
                              plugin="workflow-job@1520.v56d65e3b_4566")
        else:
            root = xs.element("project", None, xs.element("description", description),
                              xs.element("keepDependencies", "false"), properties,
                              xs.element("scm", **{"class": "hudson.scm.NullSCM"}))
            builders = xs.element("builders")
            if shell is not None:
                builders.append(xs.element("hudson.tasks.Shell", None, xs.element("command", shell)))
            root.append(builders)
        if auth_token is not None:
            root.append(xs.element("authToken", self.store.encrypt_secret(auth_token) if encrypt_auth_token
                                   else auth_token))
        return self._write_item(full_name, root)

    def add_build(self, full_name: str, number: int, log: str, *, compress: bool = False, notes: bool = True,
                  parameters: dict[str, str] | None = None, password_parameters: dict[str, str] | None = None,
                  undefined_parameters: dict[str, str] | None = None, result: str = "SUCCESS",
                  building: bool = False, description: str | None = None, timestamp: int | None = None) -> Path:
        """builds/<n>/build.xml and the console log (``log``, or ``log.gz`` as compress-buildlog leaves it).

        With ``notes`` every line starts with a signed ConsoleNote (``ESC[8mha:////4...ESC[0m``),
        as Jenkins writes hyperlinks and timestamps into raw logs. ``undefined_parameters`` were
        submitted but not defined by the job: kept in build.xml, not shown by the API. A ``building``
        build has no <result> yet; grow it with append_log and end it with finish_build."""
        build_dir = self.item_dir(full_name) / "builds" / str(number)
        build_dir.mkdir(parents=True, exist_ok=True)
        actions = xs.element("actions")
        submitted = {**(parameters or {}), **(undefined_parameters or {})}
        values = [xs.element("hudson.model.StringParameterValue", None, xs.element("name", k),
                             xs.element("description"), xs.element("value", v)) for k, v in submitted.items()]
        values += [xs.element("hudson.model.PasswordParameterValue", None, xs.element("name", k),
                              xs.element("description"), xs.element("value", self.store.encrypt_secret(v)))
                   for k, v in (password_parameters or {}).items()]
        if values:
            names = [*(parameters or {}), *(password_parameters or {})]
            actions.append(xs.element("hudson.model.ParametersAction", None,
                                      xs.element("safeParameters", **{"class": "sorted-set"}),
                                      xs.element("parameters", None, *values),
                                      xs.element("parameterDefinitionNames", None,
                                                 *[xs.element("string", n) for n in names])))
        started = timestamp if timestamp is not None else int(datetime.now(timezone.utc).timestamp() * 1000)
        pipeline = hi.class_of(hi.read_config(self.item_dir(full_name) / "config.xml")) == PIPELINE
        root = xs.element("flow-build" if pipeline else "build", None, actions, xs.element("queueId", str(number)),
                          xs.element("timestamp", str(started)), xs.element("startTime", str(started + 5)))
        if not building:
            root.append(xs.element("result", result))
        if description is not None:
            root.append(xs.element("description", description))
        root.extend([xs.element("duration", "0" if building else "1234"), xs.element("charset", "UTF-8"),
                     xs.element("keepLog", "false")])
        xs.write_atomic(build_dir / "build.xml", root)
        data = with_notes(log, notes)
        if compress:
            target = build_dir / "log.gz"
            target.write_bytes(gzip.compress(data))
        else:
            target = build_dir / "log"
            target.write_bytes(data)
        return target

    def build_dir(self, full_name: str, number: int) -> Path:
        return self.item_dir(full_name) / "builds" / str(number)

    def append_log(self, full_name: str, number: int, text: str, *, notes: bool = False) -> None:
        """A running build writes more output (to ``log``; Jenkins compresses only finished logs)."""
        with open(self.build_dir(full_name, number) / "log", "ab") as log:
            log.write(with_notes(text, notes))

    def finish_build(self, full_name: str, number: int, result: str = "SUCCESS") -> None:
        hi.set_result(self.build_dir(full_name, number) / "build.xml", result, 1234)

    def delete_log(self, full_name: str, number: int) -> None:
        """The log files go (a LogStorage elsewhere, a cleanup); build.xml stays."""
        for name in ("log", "log.gz"):
            (self.build_dir(full_name, number) / name).unlink(missing_ok=True)

    def delete_build(self, full_name: str, number: int) -> None:
        """The build is gone (log rotation): its URLs answer 404."""
        shutil.rmtree(self.build_dir(full_name, number), ignore_errors=True)

    # -- nodes ------------------------------------------------------------------------------

    def add_node(self, name: str, env: dict[str, str] | None = None, description: str = "") -> Path:
        """nodes/<name>/config.xml of a permanent inbound agent, with plaintext environment variables."""
        properties = xs.element("nodeProperties")
        if env:
            tree_map = xs.element("tree-map", None, xs.element("default", None, xs.element(
                "comparator", **{"class": "java.lang.String$CaseInsensitiveComparator"})), xs.element("int", str(len(env))))
            for key, value in env.items():
                tree_map.extend([xs.element("string", key), xs.element("string", value)])
            env_vars = xs.element("envVars", None, xs.element("unserializable-parents"), tree_map,
                                  serialization="custom")
            properties.append(xs.element("hudson.slaves.EnvironmentVariablesNodeProperty", None, env_vars))
        root = xs.element("slave", None, xs.element("name", name), xs.element("description", description),
                          xs.element("remoteFS", "/home/jenkins"), xs.element("numExecutors", "1"),
                          xs.element("mode", "NORMAL"),
                          xs.element("retentionStrategy", **{"class": "hudson.slaves.RetentionStrategy$Always"}),
                          xs.element("launcher", None, xs.element("webSocket", "true"),
                                     **{"class": "hudson.slaves.JNLPLauncher"}),
                          xs.element("label"), properties)
        path = self.root / "nodes" / name / "config.xml"
        xs.write_atomic(path, root)
        return path


def with_notes(text: str, notes: bool) -> bytes:
    lines = text.splitlines(keepends=True)
    return "".join((console_note() + line) if notes and line.strip() else line for line in lines).encode()


def console_note() -> str:
    """A signed ConsoleNote as in raw logs: ESC[8mha: base64(-32 | HMAC(32) | len | gzip(note)) ESC[0m."""
    body = gzip.compress(b"\xac\xed\x00\x05sr\x00\x1bhudson.console.HyperlinkNote" + secrets.token_bytes(24))
    blob = struct.pack(">i", -32) + secrets.token_bytes(32) + struct.pack(">i", len(body)) + body
    return "\x1b[8mha:" + base64.b64encode(blob).decode("ascii") + "\x1b[0m"
