"""Jenkins' secret encryption, read side (facts: /work/shared/jenkins-api.md sections 7 and 9).

- ``secrets/master.key``: hex text; ``SHA-256(trimmed text)[:16]`` is the master AES key.
- ``secrets/<key id>`` files (``hudson.util.Secret``, ``...SecretBytes.KEY``): AES-128-ECB/PKCS5
  with the master key over ``payload + ::::MAGIC::::``; a key is the payload's first 16 bytes.
- ``hudson.util.Secret`` values ``{base64}``: version byte 1, int32 IV length, int32 data length,
  IV, AES-128-CBC/PKCS5 of the UTF-8 text. Older values (no braces) are base64 of AES-ECB of
  ``text + ::::MAGIC::::``, with the Secret key and then the ``secret.key``-derived key.
- ``SecretBytes`` values ``{base64}``: salt(8), pad length(1), AES-128-CBC/PKCS5 with key and IV
  ``SHA-256(K + salt)``, then that many random pad bytes.

Every function returns ``None`` (or raises ``KeyFileError`` for key files) instead of leaking an
exception whose text could quote the value: decrypted text never leaves through an error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"::::MAGIC::::"
PAYLOAD_V1 = 1
# Secret.ENCRYPTED_VALUE_PATTERN / SecretBytes.ENCRYPTED_VALUE_PATTERN
BRACED = re.compile(r"\{[A-Za-z0-9+/]+={0,2}\}")
# A brace-less historical Secret: base64 of one or more whole AES blocks (checked after decoding).
HISTORICAL = re.compile(r"[A-Za-z0-9+/]{22,}={0,2}")
MAX_VALUE_CHARS = 16 * 2**20  # a Secret larger than this is not decrypted (hostile XML)


class KeyFileError(Exception):
    """A key file cannot be used: its message names the file and why, never its content."""


@dataclass(frozen=True)
class HomeKeys:
    """The AES keys a JENKINS_HOME's ``secrets/`` yields; any of them may be missing."""

    secret: bytes | None = field(default=None, repr=False)  # hudson.util.Secret
    secret_bytes: bytes | None = field(default=None, repr=False)  # credentials' SecretBytes.KEY
    legacy: bytes | None = field(default=None, repr=False)  # secret.key (HistoricalSecrets fallback)

    @property
    def usable(self) -> bool:
        return self.secret is not None or self.secret_bytes is not None or self.legacy is not None


def aes128_key(text: bytes) -> bytes:
    """Util.toAes128Key: the first 16 bytes of SHA-256 of the (trimmed) key text."""
    return hashlib.sha256(text.strip()).digest()[:16]


def unwrap_key_file(master_key: bytes, data: bytes, name: str) -> bytes:
    """DefaultConfidentialStore.load: decrypt a ``secrets/<id>`` file, check and strip the magic."""
    if not data or len(data) % 16:
        raise KeyFileError(f"{name}: not a Jenkins key file ({len(data)} bytes, not whole AES blocks)")
    plain = _unpad(_ecb(master_key).decryptor(), data)
    if plain is None or not plain.endswith(MAGIC):
        raise KeyFileError(f"{name}: master.key does not decrypt it (the key files come from different "
                           "Jenkins instances, or one is damaged)")
    payload = plain[: -len(MAGIC)]
    if len(payload) < 16:
        raise KeyFileError(f"{name}: key payload too short ({len(payload)} bytes)")
    return payload[:16]


def looks_encrypted(value: str) -> bool:
    return len(value) <= MAX_VALUE_CHARS and BRACED.fullmatch(value) is not None


def could_be_historical(value: str) -> bool:
    """Shaped like a brace-less old Secret: base64 of whole AES blocks (else it is plain text)."""
    if len(value) > MAX_VALUE_CHARS or not HISTORICAL.fullmatch(value):
        return False
    raw = _b64(value)
    return raw is not None and len(raw) >= 16 and len(raw) % 16 == 0


def decrypt_secret(value: str, keys: HomeKeys) -> str | None:
    """hudson.util.Secret.decrypt: the plain text, or None when it is not a Secret these keys open."""
    text = value.strip()
    if len(text) > MAX_VALUE_CHARS:
        return None
    if text.startswith("{") and text.endswith("}"):
        raw = _b64(text[1:-1])
        if raw is None or keys.secret is None or len(raw) < 9 or raw[0] != PAYLOAD_V1:
            return None
        iv_len, data_len = struct.unpack(">ii", raw[1:9])
        if iv_len != 16 or data_len <= 0 or data_len % 16 or 9 + iv_len + data_len != len(raw):
            return None
        iv, data = raw[9: 9 + iv_len], raw[9 + iv_len:]
        plain = _unpad(Cipher(algorithms.AES(keys.secret), modes.CBC(iv)).decryptor(), data)
        return _utf8(plain)
    if not HISTORICAL.fullmatch(text):
        return None
    raw = _b64(text)
    if raw is None or not raw or len(raw) % 16:
        return None
    for key in (keys.secret, keys.legacy):  # HistoricalSecrets: the Secret key, then secret.key's
        if key is None:
            continue
        plain = _unpad(_ecb(key).decryptor(), raw)
        if plain is not None and plain.endswith(MAGIC):
            return _utf8(plain[: -len(MAGIC)])
    return None


def decrypt_secret_bytes(value: str, keys: HomeKeys) -> bytes | None:
    """SecretBytes.decrypt: the plain bytes, or None."""
    text = value.strip()
    if keys.secret_bytes is None or not looks_encrypted(text):
        return None
    raw = _b64(text[1:-1])
    if raw is None or len(raw) <= 9:
        return None
    salt, pad_len = raw[:8], raw[8]
    data_len = len(raw) - 9 - pad_len
    if data_len <= 0 or data_len % 16:
        return None
    digest = hashlib.sha256(keys.secret_bytes + salt).digest()
    cipher = Cipher(algorithms.AES(digest[:16]), modes.CBC(digest[16:32]))
    return _unpad(cipher.decryptor(), raw[9: 9 + data_len])


def _ecb(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - Jenkins' own format, read-only


def _unpad(decryptor, data: bytes) -> bytes | None:  # noqa: ANN001 - a cryptography CipherContext
    try:
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:  # bad padding: a wrong key or a damaged value
        return None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _utf8(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
