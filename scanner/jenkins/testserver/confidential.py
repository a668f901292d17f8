"""Jenkins' ConfidentialStore and Secret encryption, write side (AES as Jenkins does it).

Written from jenkinsci/jenkins ``DefaultConfidentialStore``, ``CryptoConfidentialKey``,
``hudson.util.Secret``, ``HistoricalSecrets`` and credentials-plugin ``SecretBytes`` /
``CredentialsConfidentialKey`` (facts: /work/shared/jenkins-api.md sections 7 and 9). It shares no
code with the scanner's decryption (scanner/jenkins_home/crypto.py), so a bug on one side shows
up as a failed round trip instead of cancelling out.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"::::MAGIC::::"
SECRET_KEY_ID = "hudson.util.Secret"
SECRET_BYTES_KEY_ID = "com.cloudbees.plugins.credentials.SecretBytes.KEY"


def _pkcs5(data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    return padder.update(data) + padder.finalize()


def _aes(key: bytes, mode: modes.Mode, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), mode).encryptor()
    return encryptor.update(_pkcs5(data)) + encryptor.finalize()


class ConfidentialStore:
    """``secrets/master.key`` plus the ``secrets/<key id>`` files encrypted with it."""

    def __init__(self, secrets_dir: Path) -> None:
        self.dir = Path(secrets_dir)
        self._master: bytes | None = None

    def master_key(self) -> bytes:
        """Util.toAes128Key(master.key text): created as 128 random bytes in hex, like Jenkins."""
        if self._master is None:
            path = self.dir / "master.key"
            if not path.is_file():
                self.dir.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets.token_hex(128), encoding="ascii")
                os.chmod(path, 0o600)
            self._master = hashlib.sha256(path.read_text(encoding="ascii").strip().encode()).digest()[:16]
        return self._master

    def key(self, key_id: str) -> bytes:
        """The first 16 bytes of the key's payload (256 random bytes), creating its file if needed."""
        path = self.dir / key_id
        if not path.is_file():
            payload = secrets.token_bytes(256)
            path.write_bytes(_aes(self.master_key(), modes.ECB(), payload + MAGIC))  # noqa: S305
            os.chmod(path, 0o600)
        return self._load(path)[:16]

    def _load(self, path: Path) -> bytes:
        decryptor = Cipher(algorithms.AES(self.master_key()), modes.ECB()).decryptor()  # noqa: S305
        padded = decryptor.update(path.read_bytes()) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        if not plain.endswith(MAGIC):
            raise ValueError(f"{path.name}: not encrypted with this master.key")
        return plain[: -len(MAGIC)]

    # -- values -----------------------------------------------------------------------------

    def encrypt_secret(self, plain: str) -> str:
        """Secret.getEncryptedValue: {base64(0x01 | ivLen | dataLen | iv | AES-CBC(text))}."""
        iv = secrets.token_bytes(16)
        data = _aes(self.key(SECRET_KEY_ID), modes.CBC(iv), plain.encode("utf-8"))
        payload = b"\x01" + len(iv).to_bytes(4, "big") + len(data).to_bytes(4, "big") + iv + data
        return "{" + base64.b64encode(payload).decode("ascii") + "}"

    def encrypt_historical(self, plain: str) -> str:
        """The pre-2.32.2 form: base64(AES-ECB(text + MAGIC)), no braces."""
        data = _aes(self.key(SECRET_KEY_ID), modes.ECB(), plain.encode("utf-8") + MAGIC)  # noqa: S305
        return base64.b64encode(data).decode("ascii")

    def encrypt_secret_bytes(self, plain: bytes) -> str:
        """SecretBytes: {base64(salt(8) | padLen | AES-CBC(data) | padLen random bytes)}."""
        salt = secrets.token_bytes(8)
        digest = hashlib.sha256(self.key(SECRET_BYTES_KEY_ID) + salt).digest()
        data = _aes(digest[:16], modes.CBC(digest[16:32]), plain)
        pad_len = 16 - (len(salt) + len(data) + 1) % 16
        blob = salt + bytes([pad_len]) + data + secrets.token_bytes(pad_len)
        return "{" + base64.b64encode(blob).decode("ascii") + "}"

    def decrypt_secret(self, value: str) -> str | None:
        """For the server's own use (a user's legacy <apiToken>): None if it is not ours."""
        if not (value.startswith("{") and value.endswith("}")):
            return None
        raw = base64.b64decode(value[1:-1])
        if raw[:1] != b"\x01":
            return None
        iv_len = int.from_bytes(raw[1:5], "big")
        iv, data = raw[9: 9 + iv_len], raw[9 + iv_len:]
        decryptor = Cipher(algorithms.AES(self.key(SECRET_KEY_ID)), modes.CBC(iv)).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")

    def is_secret_bytes(self, value: str) -> bool:
        """SecretBytes.isSecretBytes: a {base64} value that decrypts with this home's SecretBytes key."""
        if not (value.startswith("{") and value.endswith("}")):
            return False
        try:
            raw = base64.b64decode(value[1:-1], validate=True)
        except ValueError:
            return False
        if len(raw) < 9:
            return False
        salt, pad_len = raw[:8], raw[8]
        data = raw[9: len(raw) - pad_len]
        if not data or len(data) % 16:
            return False
        digest = hashlib.sha256(self.key(SECRET_BYTES_KEY_ID) + salt).digest()
        decryptor = Cipher(algorithms.AES(digest[:16]), modes.CBC(digest[16:32])).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        try:
            unpadder = padding.PKCS7(128).unpadder()
            unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            return False
        return True
