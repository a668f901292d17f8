"""The stored-credentials inventory: what a JENKINS_HOME's credential stores expose.

``credentials.xml`` (global), folder stores (``FolderCredentialsProvider`` in a folder's
``config.xml``) and user stores (``UserCredentialsProperty`` in ``users/*/config.xml``) share one
shape: ``domainCredentialsMap`` > ``entry`` > (domain, list of credentials). Each credential is
listed with its id, description, kind, scope and store; its secret fields record whether they
were decrypted. A decrypted value lives only in ``SecretField.value`` (excluded from ``repr``) and
reaches a report only with ``--show-secrets``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.jenkins_home.crypto import looks_encrypted
from scanner.jenkins_home.xmlread import Node, value_position

KINDS = {
    "com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl": "UsernamePassword",
    "org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl": "StringCredentials",
    "com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey": "SSHUserPrivateKey",
    "com.cloudbees.plugins.credentials.impl.CertificateCredentialsImpl": "Certificate",
    "org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl": "FileCredentials",
}
# Fields Jenkins stores as Secret / SecretBytes: a value here that is not {...} is plaintext
# (Secret.fromString keeps undecryptable text as it is, until Jenkins saves the item again).
SECRET_FIELDS = frozenset({"password", "secret", "privateKey", "passphrase", "secretBytes", "uploadedKeystoreBytes",
                           "uploadedKeystore", "data", "apiToken", "token", "clientSecret", "secretKey",
                           "secretAccessKey", "accessToken"})
STORE_TAGS = {
    "com.cloudbees.hudson.plugins.folder.properties.FolderCredentialsProvider_-FolderCredentialsProperty": "folder",
    "com.cloudbees.plugins.credentials.UserCredentialsProvider_-UserCredentialsProperty": "user",
}
DOMAIN_TAG = "com.cloudbees.plugins.credentials.domains.Domain"
# What a secret field's state means, for people (text report and docs/report-format.md).
STATES = {
    "decrypted": "decrypted",
    "encrypted": "encrypted (no key files in this home)",
    "not_decrypted": "not decrypted (wrong key files, or a damaged value)",
    "plaintext": "stored in plain text",
    "empty": "empty",
}


@dataclass
class SecretField:
    name: str  # path below the credential: "password", "privateKeySource/privateKey"
    state: str  # decrypted | encrypted | not_decrypted | plaintext | empty (see STATES)
    line: int = 0
    column: int = 0
    end_column: int = 0
    value: str | None = field(default=None, repr=False)  # never rendered without --show-secrets
    finding_ids: list[str] = field(default_factory=list)  # findings made from this value


@dataclass
class StoredCredential:
    id: str | None
    kind: str  # UsernamePassword | StringCredentials | SSHUserPrivateKey | Certificate | FileCredentials | unknown
    class_name: str
    store: str  # global | folder | user
    owner: str | None  # the folder's full name or the user's id; None for the global store
    location: str  # jenkins-home://credentials.xml (the file holding the store)
    line: int
    scope: str | None = None  # GLOBAL | SYSTEM | USER
    description: str | None = None
    domain: str = "_"  # "_": the global domain
    username: str | None = None  # shown by Jenkins itself, not a secret
    file_name: str | None = None  # FileCredentials
    secrets: list[SecretField] = field(default_factory=list)


@dataclass
class KeyStatus:
    master_key: bool = False
    hudson_util_secret: bool = False
    secret_bytes_key: bool = False
    legacy_secret_key: bool = False
    decryption: str = "unavailable: no secrets/master.key"  # "available" or why not


@dataclass
class HomeInventory:
    """Everything the report says about the home besides findings."""

    home: str
    format: str  # directory | tar | tar.gz | tar.bz2 | tar.xz
    root: str | None = None  # the home's directory inside an archive ("" for its top)
    jenkins_url: str | None = None  # jenkins.model.JenkinsLocationConfiguration.xml
    keys: KeyStatus = field(default_factory=KeyStatus)
    credentials: list[StoredCredential] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def credential_stores(root: Node) -> list[tuple[str, Node]]:
    """(store kind, domainCredentialsMap node) of every credential store in one XML file."""
    found = []
    for node in root.iter():
        if node.tag != "domainCredentialsMap":
            continue
        holder = node.parent
        store = STORE_TAGS.get(holder.tag if holder is not None else "", "global")
        found.append((store, node))
    return found


def read_store(store: str, owner: str | None, location: str, map_node: Node) -> list[tuple[StoredCredential, Node]]:
    """Every credential of one domainCredentialsMap, with its XML node (secrets are filled later)."""
    out = []
    for entry in map_node.children:
        if len(entry.children) < 2:
            continue
        domain_node, listed = entry.children[0], entry.children[1]
        domain = (domain_node.child_text("name") or "_") if domain_node.tag == DOMAIN_TAG else "_"
        for node in listed.children:
            class_name = node.attrs.get("class") or node.tag
            description = node.child_text("description")
            credential = StoredCredential(
                id=node.child_text("id"), kind=KINDS.get(class_name, "unknown"), class_name=class_name,
                store=store, owner=owner, location=location, line=node.line, scope=node.child_text("scope"),
                description=description or None, domain=domain, username=node.child_text("username"),
                file_name=node.child_text("fileName"))
            out.append((credential, node))
    return out


def secret_nodes(credential_node: Node) -> list[tuple[str, Node]]:
    """(field name, node) of the credential's secret-bearing fields: known Secret fields, and any
    other value shaped like an encrypted Secret (credential classes this code does not know)."""
    out = []
    for node in credential_node.iter():
        if node is credential_node or node.children:
            continue
        text = node.text.strip()
        if node.tag in SECRET_FIELDS or (text and looks_encrypted(text)):
            out.append(("/".join(node.path_below(credential_node)), node))
    return out


def empty_or_plain(name: str, node: Node) -> SecretField:
    text = node.text.strip()
    line, column = value_position(node) if text else (node.line, 0)
    return SecretField(name=name, state="empty" if not text else "plaintext", line=line, column=column,
                       end_column=column + len(text) if text else 0, value=text or None)
