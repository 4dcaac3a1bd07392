"""The audit log's signing key: Ed25519, in a PEM file only the signing process reads."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from infrastructure.auditverify import raw_public_key


class AuditKey:
    """The private key that signs checkpoints, and its public half as published."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public = private.public_key()

    @classmethod
    def load(cls, path: Path) -> AuditKey:
        """The key kept in a PEM file (ValueError if it holds no Ed25519 private key)."""
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key)

    @classmethod
    def create(cls, path: Path) -> AuditKey:
        """Make a new key and write it to path, readable by its owner only; never replaces
        a key (FileExistsError): checkpoints signed by it could no longer be checked."""
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        made = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        made.touch(mode=0o600)
        made.write_bytes(pem)
        try:
            os.link(made, path)  # whole, and only once: processes may start together
        finally:
            made.unlink()
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> AuditKey:
        """The key at path, made on first use."""
        try:
            return cls.create(path)
        except FileExistsError:
            return cls.load(path)

    def sign(self, text: bytes) -> str:
        """The base64 Ed25519 signature of text."""
        return base64.b64encode(self.private.sign(text)).decode()

    @property
    def public_raw(self) -> str:
        """The public key as checkpoints carry it: base64 of its raw 32 bytes."""
        return raw_public_key(self.public)

    @property
    def public_pem(self) -> bytes:
        """The public key as PEM (SubjectPublicKeyInfo), to publish."""
        return self.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def public_pem(raw: str) -> bytes:
    """The PEM of a public key given as checkpoints carry it."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw))
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
