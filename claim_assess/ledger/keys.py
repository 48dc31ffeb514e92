"""The checkpoint signing key (spec §4): Ed25519, PEM files, key ids.

``ledger/signing_key`` (PKCS#8 PEM, mode 0600) is made on first use unless the operator hands in a
key file; its public half is written next to it as ``signing_key.pub`` (SubjectPublicKeyInfo PEM).
key_id = first 8 hex chars of H(raw 32-byte public key).

The stored public key only proves what the writer's host says about itself: an operator who copies
the public key (or a checkpoint) off the host can pin it (``verify --public-key``), and then a
rewrite re-signed with any other key fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from claim_assess.errors import LedgerError
from claim_assess.ledger.canonical import sha256_hex

KEY_FILE = "signing_key"
PUBLIC_KEY_FILE = "signing_key.pub"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_hex(raw)[:8]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str
    path: Path

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """A PEM public key (or, for convenience, the PEM private key whose public half is meant)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LedgerError(f"cannot read public key {path}: {exc}") from exc
    try:
        if b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise LedgerError(f"{path} is not a PEM Ed25519 key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise LedgerError(f"cannot load signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"signing key {path} is a {type(key).__name__}, not Ed25519")
    return key


def _write_new(path: Path, data: bytes, mode: int, fsync) -> None:
    """Write a file durably via a temp name, so a crash leaves the old file or the whole new one."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow it
        os.write(fd, data)
        fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_or_create_signing_key(directory: Path, key_path: str | os.PathLike[str] | None, fsync) -> SigningKey:
    """The ledger's signing key; creates ledger/signing_key (0600) when none exists and none is given.

    Also (re)writes signing_key.pub so it always matches the key that signs; the caller fsyncs the
    directory.
    """
    if key_path is not None:
        path = Path(key_path)
        private = _load_private(path)
    else:
        path = directory / KEY_FILE
        if path.exists():
            private = _load_private(path)
        else:
            private = Ed25519PrivateKey.generate()
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _write_new(path, pem, 0o600, fsync)
    public = private.public_key()
    pub_path = directory / PUBLIC_KEY_FILE
    wanted = public_pem(public)
    try:
        current = pub_path.read_bytes()
    except FileNotFoundError:
        current = None
    if current != wanted:
        _write_new(pub_path, wanted, 0o644, fsync)
    return SigningKey(private, key_id_of(public), path)
