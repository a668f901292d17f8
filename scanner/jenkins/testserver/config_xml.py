"""GET config.xml of items and agents (facts sheet 9.5): what a Configure or ExtendedRead holder sees.

From 2.568 (SECURITY-3744) an item's config.xml is re-serialized from memory: the double-quoted
XML declaration, and Secret-typed fields a hand-written file holds in plain text come back
encrypted. Before, the file is sent byte for byte. Without Configure, every value that decrypts
as a Secret (or SecretBytes) becomes ``********`` (ExtendedReadSecretRedaction).
"""
from __future__ import annotations

import re
from pathlib import Path

from .confidential import ConfidentialStore
from .options import VersionTuple
from .wire import Response

XML_TYPE = "application/xml"
SINGLE_DECLARATION = "<?xml version='1.1' encoding='UTF-8'?>"
DOUBLE_DECLARATION = '<?xml version="1.1" encoding="UTF-8"?>'
V_FROM_MEMORY = (2, 568)
V_SECRET_AUTH_TOKEN = (2, 541)
V_NODE_REDACTION = (2, 500)
ENCRYPTED_VALUE = re.compile(r">(\{?[A-Za-z0-9+/]+={0,2}}?)<")
SECRET_BYTES_VALUE = re.compile(r">(\{[A-Za-z0-9+/]+={0,2}})<")
CIPHERTEXT = re.compile(r"^\{[A-Za-z0-9+/]+={0,2}\}$")
# Elements whose Java field is a Secret in the classes the test server writes.
SECRET_ELEMENTS = ("password", "secret", "privateKey", "passphrase")


def _decrypts(store: ConfidentialStore, value: str) -> bool:
    try:
        return store.decrypt_secret(value) is not None
    except ValueError:  # Secret.decrypt gives null for another instance's ciphertext
        return False


def redact(text: str, store: ConfidentialStore) -> str:
    def secret(match: re.Match[str]) -> str:
        return ">********<" if _decrypts(store, match.group(1)) else match.group(0)

    def secret_bytes(match: re.Match[str]) -> str:
        return ">********<" if store.is_secret_bytes(match.group(1)) else match.group(0)

    return SECRET_BYTES_VALUE.sub(secret_bytes, ENCRYPTED_VALUE.sub(secret, text))


def from_memory(text: str, store: ConfidentialStore, version: VersionTuple) -> str:
    """What Items.XSTREAM2.toXMLUTF8 writes: plaintext Secrets encrypted, double-quoted declaration."""
    tags = SECRET_ELEMENTS + (("authToken",) if version >= V_SECRET_AUTH_TOKEN else ())

    def encrypt(match: re.Match[str]) -> str:
        value = match.group(2)
        if CIPHERTEXT.match(value) or not value:
            return match.group(0)
        plain = value.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
        return f"<{match.group(1)}>{store.encrypt_secret(plain)}</{match.group(1)}>"

    pattern = re.compile(r"<(" + "|".join(tags) + r")>([^<]*)</\1>")
    text = pattern.sub(encrypt, text)
    return DOUBLE_DECLARATION + text[len(SINGLE_DECLARATION):] if text.startswith(SINGLE_DECLARATION) else text


def item_config(path: Path, store: ConfidentialStore, version: VersionTuple, configure: bool) -> Response:
    text = path.read_text(encoding="utf-8")
    if version >= V_FROM_MEMORY:
        text = from_memory(text, store, version)
    if not configure:
        text = redact(text, store)
    return Response(200, [("X-Content-Type-Options", "nosniff"), ("Content-Type", XML_TYPE)], text.encode("utf-8"))


def node_config(path: Path, store: ConfidentialStore, version: VersionTuple, configure: bool) -> Response:
    """Computer.doConfigDotXml: always from memory; redacted without Computer/Configure from 2.500."""
    text = from_memory(path.read_text(encoding="utf-8"), store, version)
    if not configure and version >= V_NODE_REDACTION:
        text = redact(text, store)
    return Response(200, [("X-Content-Type-Options", "nosniff"), ("Content-Type", XML_TYPE)], text.encode("utf-8"))
